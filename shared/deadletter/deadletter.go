// Package deadletter keeps messages that failed permanently in Blob Storage, one JSON document per message, so an
// operator can inspect and replay them. Nothing that fails is dropped: a message is acknowledged only after its
// dead letter is written.
package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

// BlobCreator writes a blob that must not exist yet.
type BlobCreator interface {
	CreateBlob(ctx context.Context, container, name string, data []byte, opts *store.BlobOptions) (azcore.ETag, error)
}

// Store writes dead letters into one container.
type Store struct {
	Blobs     BlobCreator
	Container string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

var _ trigger.DeadLetterer = (*Store)(nil)

// Letter is the stored document.
type Letter struct {
	Function       string    `json:"function"`
	MessageID      string    `json:"messageId"`
	Queue          string    `json:"queue,omitempty"`
	DequeueCount   int       `json:"dequeueCount"`
	InsertionTime  time.Time `json:"insertionTime,omitzero"`
	DeadLetteredAt time.Time `json:"deadLetteredAt"`
	Kind           string    `json:"kind"`
	Reason         string    `json:"reason"`
	InvocationID   string    `json:"invocationId,omitempty"`
	// Body holds the message as text when it is UTF-8, else BodyBase64 holds it.
	Body       *string `json:"body,omitempty"`
	BodyBase64 []byte  `json:"bodyBase64,omitempty"`
}

// Name is where a message's letter is stored: by function and day, named by message id, so a listing by day
// finds a day's failures and a second write of the same message finds the first.
func Name(function string, m trigger.Message, at time.Time) string {
	id := m.ID
	if id == "" {
		id = fmt.Sprintf("no-id-%d", at.UnixNano())
	}
	return fmt.Sprintf("%s/%s/%s.json", function, at.UTC().Format("2006/01/02"), url.PathEscape(id))
}

// DeadLetter stores m with the reason it failed. Writing the same message twice (a redelivery after an
// acknowledgement was lost) is not an error.
func (s *Store) DeadLetter(ctx context.Context, function string, m trigger.Message, cause error) error {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	at := now().UTC()
	l := Letter{Function: function, MessageID: m.ID, Queue: m.Queue, DequeueCount: m.DequeueCount,
		InsertionTime: m.InsertionTime, DeadLetteredAt: at, Kind: problem.KindOf(cause).String(), Reason: cause.Error()}
	if inv, ok := trigger.InvocationFrom(ctx); ok {
		l.InvocationID = inv.ID
	}
	if utf8.Valid(m.Body) {
		b := string(m.Body)
		l.Body = &b
	} else {
		l.BodyBase64 = m.Body
	}
	doc, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding dead letter for message %s: %w", m.ID, err)
	}
	name := Name(function, m, at)
	_, err = s.Blobs.CreateBlob(ctx, s.Container, name, doc, &store.BlobOptions{ContentType: "application/json"})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("writing dead letter %s/%s: %w", s.Container, name, err)
	}
	return nil
}
