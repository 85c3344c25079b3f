package funchost

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// minPollingInterval is the first wait after an empty queue; the wait doubles up to maxPollingInterval.
const minPollingInterval = 100 * time.Millisecond

// PoisonSuffix is appended to a queue's name to name the queue that receives its poison messages.
const PoisonSuffix = "-poison"

// listenQueue polls one queue-triggered function's queue until ctx ends; each batch finishes before the next.
func (h *Host) listenQueue(ctx context.Context, fn *function) {
	name := strings.ToLower(fn.trigger.QueueName)
	log := h.log.With("function", fn.name, "queue", name)
	wait := minPollingInterval
	sleep := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
			wait = min(2*wait, h.cfg.queues.maxPollingInterval)
			return true
		}
	}
	var q *azqueue.QueueClient
	for q == nil {
		c, err := h.storage.queue(ctx, fn.trigger.Connection, name)
		if err != nil {
			log.Error("opening the trigger queue", "err", err.Error())
			if !sleep() {
				return
			}
			continue
		}
		q = c
	}
	for ctx.Err() == nil {
		resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
			NumberOfMessages:  to.Ptr(int32(h.cfg.queues.batchSize)),
			VisibilityTimeout: seconds(dequeueVisibility),
		})
		if err != nil {
			if ctx.Err() == nil {
				log.Error("polling the trigger queue", "err", err.Error())
			}
			if !sleep() {
				return
			}
			continue
		}
		if len(resp.Messages) == 0 {
			if !sleep() {
				return
			}
			continue
		}
		wait = minPollingInterval
		var wg sync.WaitGroup
		for _, m := range resp.Messages {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A running invocation finishes even when the host is closing, as in the host's drain mode.
				h.processMessage(context.WithoutCancel(ctx), fn, q, name, m)
			}()
		}
		wg.Wait()
	}
}

func (h *Host) processMessage(ctx context.Context, fn *function, q *azqueue.QueueClient, name string, m *azqueue.DequeuedMessage) {
	if m == nil || m.MessageID == nil || m.PopReceipt == nil || m.MessageText == nil || m.DequeueCount == nil {
		return
	}
	log := h.log.With("function", fn.name, "queue", name, "message_id", *m.MessageID)
	count := *m.DequeueCount
	max := int64(h.cfg.queues.maxDequeueCount)
	// A message already past the limit (say, after a crash mid-invocation) is moved without running the function.
	if count > max {
		h.poison(ctx, fn, q, name, m, log)
		return
	}
	err := h.runQueueMessage(ctx, fn, name, m)
	if err == nil {
		if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
			log.Error("deleting a processed message", "err", err.Error())
		}
		return
	}
	if count >= max {
		h.poison(ctx, fn, q, name, m, log)
		return
	}
	_, uerr := q.UpdateMessage(ctx, *m.MessageID, *m.PopReceipt, *m.MessageText,
		&azqueue.UpdateMessageOptions{VisibilityTimeout: seconds(h.cfg.queues.visibilityTimeout)})
	if uerr != nil {
		log.Error("releasing a failed message", "err", uerr.Error())
	}
	log.Warn("message failed; it will be retried", "dequeue_count", count, "max_dequeue_count", max,
		"visible_in", h.cfg.queues.visibilityTimeout.String())
}

func (h *Host) runQueueMessage(ctx context.Context, fn *function, name string, m *azqueue.DequeuedMessage) error {
	content := []byte(*m.MessageText)
	if h.cfg.queues.base64 {
		b, err := base64.StdEncoding.DecodeString(*m.MessageText)
		if err != nil {
			h.log.Error("message is not base64 though messageEncoding is base64", "function", fn.name,
				"queue", name, "message_id", *m.MessageID)
			return fmt.Errorf("decoding message %s: %w", *m.MessageID, err)
		}
		content = b
	}
	inv := newInvocation(fn)
	// Json.NET serialises the message string, so the handler gets it quoted once more inside the JSON body.
	inv.data[fn.trigger.Name] = jsonString(string(content))
	inv.bindingData["queuetrigger"] = string(content)
	inv.addMetadata("DequeueCount", *m.DequeueCount)
	inv.addMetadata("Id", *m.MessageID)
	inv.addMetadata("PopReceipt", *m.PopReceipt)
	for k, t := range map[string]*time.Time{"InsertionTime": m.InsertionTime, "ExpirationTime": m.ExpirationTime,
		"NextVisibleTime": m.TimeNextVisible} {
		if t != nil {
			// Current hosts pass DateTimeOffset values through unserialised: a plain ISO 8601 string.
			inv.metadata[k] = t.UTC().Format(dotnetOffsetTime)
			inv.bindingData[strings.ToLower(k)] = t.UTC().Format(dotnetOffsetTime)
		}
	}
	_, err := h.invoke(ctx, inv)
	return err
}

// dotnetOffsetTime is how Json.NET writes a DateTimeOffset.
const dotnetOffsetTime = "2006-01-02T15:04:05.9999999-07:00"

// poison copies the message, text unchanged, to <queue>-poison and deletes it from its queue.
func (h *Host) poison(ctx context.Context, fn *function, q *azqueue.QueueClient, name string, m *azqueue.DequeuedMessage, log *slog.Logger) {
	pq, err := h.storage.queue(ctx, fn.trigger.Connection, name+PoisonSuffix)
	if err != nil {
		log.Error("opening the poison queue", "err", err.Error())
		return
	}
	if _, err := pq.EnqueueMessage(ctx, *m.MessageText, nil); err != nil {
		log.Error("moving a message to the poison queue", "err", err.Error())
		return
	}
	if _, err := q.DeleteMessage(ctx, *m.MessageID, *m.PopReceipt, nil); err != nil {
		log.Error("deleting a poisoned message", "err", err.Error())
	}
	log.Warn("message moved to the poison queue", "poison_queue", name+PoisonSuffix, "dequeue_count", *m.DequeueCount)
}
