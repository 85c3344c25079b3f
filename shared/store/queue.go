package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

// MaxMessageBytes is the largest body Enqueue accepts: the service caps message text at 64 KiB and
// base64 turns every 3 bytes into 4. Larger payloads belong in a blob, with the message naming it.
const MaxMessageBytes = 48 * 1024

// EnqueueOptions qualifies a message. A nil *EnqueueOptions means visible at once, kept 7 days.
type EnqueueOptions struct {
	// VisibilityDelay hides the message for this long (whole seconds, up to 7 days).
	VisibilityDelay time.Duration
	// TimeToLive bounds how long the message is kept: 0 means the service default (7 days), a negative
	// value means it never expires.
	TimeToLive time.Duration
}

// Message is a dequeued message. It stays invisible until its visibility timeout passes; delete it
// with DeleteMessage(ctx, queue, m.ID, m.PopReceipt) once handled.
type Message struct {
	ID           string
	PopReceipt   string
	DequeueCount int64
	// Text is the message as stored on the wire; Body is Text base64-decoded, or nil when Text is not
	// base64 (a message some other writer enqueued raw).
	Text        string
	Body        []byte
	Inserted    time.Time
	Expires     time.Time
	NextVisible time.Time
}

func (a *Account) queue(name string) (*azqueue.QueueClient, error) {
	if !validContainerName(name) {
		return nil, invalid("queue name %q must be 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit", name)
	}
	return a.queues.NewQueueClient(name), nil
}

// EnsureQueue creates the named queue unless it exists.
func (a *Account) EnsureQueue(ctx context.Context, name string) error {
	q, err := a.queue(name)
	if err != nil {
		return fmt.Errorf("creating queue: %w", err)
	}
	// An existing queue with the same (empty) metadata answers 204, with other metadata 409.
	if _, err := q.Create(ctx, nil); err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
		return fmt.Errorf("creating queue %s: %w", name, err)
	}
	return nil
}

// Enqueue adds body to the queue base64-encoded, which is what the Functions queue trigger decodes
// by default. It returns the message ID. A body over MaxMessageBytes fails with [ErrInvalid].
func (a *Account) Enqueue(ctx context.Context, queue string, body []byte, opts *EnqueueOptions) (string, error) {
	q, err := a.queue(queue)
	if err != nil {
		return "", fmt.Errorf("enqueuing message: %w", err)
	}
	if len(body) > MaxMessageBytes {
		return "", fmt.Errorf("enqueuing message on %s: %w", queue, invalid("body of %d bytes exceeds %d", len(body), MaxMessageBytes))
	}
	var eo *azqueue.EnqueueMessageOptions
	if opts != nil {
		eo = &azqueue.EnqueueMessageOptions{}
		if opts.VisibilityDelay != 0 {
			if opts.VisibilityDelay < 0 || opts.VisibilityDelay > 7*24*time.Hour {
				return "", fmt.Errorf("enqueuing message on %s: %w", queue, invalid("visibility delay %v outside 0..7 days", opts.VisibilityDelay))
			}
			eo.VisibilityTimeout = to.Ptr(int32(opts.VisibilityDelay / time.Second))
		}
		switch {
		case opts.TimeToLive < 0:
			eo.TimeToLive = to.Ptr[int32](-1)
		case opts.TimeToLive > 0:
			eo.TimeToLive = to.Ptr(int32(max(opts.TimeToLive/time.Second, 1)))
		}
	}
	resp, err := q.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString(body), eo)
	if err != nil {
		return "", fmt.Errorf("enqueuing message: %w", classify(err, "queue "+queue))
	}
	if len(resp.Messages) == 0 || resp.Messages[0].MessageID == nil {
		return "", nil
	}
	return *resp.Messages[0].MessageID, nil
}

// Dequeue takes up to n (1-32) visible messages and hides them for visibility (0 means the
// service's 30 s). An empty queue returns no messages and no error.
func (a *Account) Dequeue(ctx context.Context, queue string, n int, visibility time.Duration) ([]Message, error) {
	q, err := a.queue(queue)
	if err != nil {
		return nil, fmt.Errorf("dequeuing messages: %w", err)
	}
	if n < 1 || n > 32 {
		return nil, fmt.Errorf("dequeuing messages from %s: %w", queue, invalid("count %d outside 1..32", n))
	}
	do := &azqueue.DequeueMessagesOptions{NumberOfMessages: to.Ptr(int32(n))}
	if visibility != 0 {
		if visibility < time.Second || visibility > 7*24*time.Hour {
			return nil, fmt.Errorf("dequeuing messages from %s: %w", queue, invalid("visibility %v outside 1s..7 days", visibility))
		}
		do.VisibilityTimeout = to.Ptr(int32(visibility / time.Second))
	}
	resp, err := q.DequeueMessages(ctx, do)
	if err != nil {
		return nil, fmt.Errorf("dequeuing messages: %w", classify(err, "queue "+queue))
	}
	out := make([]Message, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		if m == nil {
			continue
		}
		msg := Message{
			ID:           deref(m.MessageID),
			PopReceipt:   deref(m.PopReceipt),
			DequeueCount: deref(m.DequeueCount),
			Text:         deref(m.MessageText),
			Inserted:     deref(m.InsertionTime),
			Expires:      deref(m.ExpirationTime),
			NextVisible:  deref(m.TimeNextVisible),
		}
		if b, err := base64.StdEncoding.DecodeString(msg.Text); err == nil {
			msg.Body = b
		}
		out = append(out, msg)
	}
	return out, nil
}

// DeleteMessage removes a dequeued message; a message already deleted, or dequeued again by someone
// else since (its pop receipt changed), fails with [ErrNotFound].
func (a *Account) DeleteMessage(ctx context.Context, queue, id, popReceipt string) error {
	q, err := a.queue(queue)
	if err != nil {
		return fmt.Errorf("deleting message: %w", err)
	}
	if _, err := q.DeleteMessage(ctx, id, popReceipt, nil); err != nil {
		return fmt.Errorf("deleting message: %w", classify(err, "queue "+queue+" message "+id))
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
