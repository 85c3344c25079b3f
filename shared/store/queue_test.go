package store

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

func TestQueueBase64RoundTrip(t *testing.T) {
	a := testAccount(t, nil)
	ctx := t.Context()
	q := uniqueName(t, "q-")
	if err := a.EnsureQueue(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := a.EnsureQueue(ctx, q); err != nil {
		t.Fatalf("second EnsureQueue: %v", err)
	}

	// Bytes that are not valid as raw XML text, so base64 is the only way they survive.
	body := []byte("{\"order\":\"4711\",\"amount\":\"12.30\"}\x00\xff<&>")
	id, err := a.Enqueue(ctx, q, body, nil)
	if err != nil || id == "" {
		t.Fatalf("Enqueue: %q, %v", id, err)
	}

	// What is on the wire, read with the bare SDK client: base64 of the body.
	peek, err := a.queues.NewQueueClient(q).PeekMessage(ctx, nil)
	if err != nil || len(peek.Messages) != 1 {
		t.Fatalf("PeekMessage: %+v, %v", peek, err)
	}
	if wire := *peek.Messages[0].MessageText; wire != base64.StdEncoding.EncodeToString(body) {
		t.Fatalf("wire text %q is not the base64 of the body", wire)
	}

	msgs, err := a.Dequeue(ctx, q, 32, 5*time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Dequeue: %+v, %v", msgs, err)
	}
	m := msgs[0]
	if !bytes.Equal(m.Body, body) || m.ID != id || m.DequeueCount != 1 || m.PopReceipt == "" {
		t.Fatalf("dequeued %+v, want body %q id %s", m, body, id)
	}
	if m.Inserted.IsZero() || !m.Expires.After(m.Inserted) || !m.NextVisible.After(m.Inserted) {
		t.Fatalf("times: inserted %v expires %v next visible %v", m.Inserted, m.Expires, m.NextVisible)
	}
	if again, err := a.Dequeue(ctx, q, 1, 0); err != nil || len(again) != 0 {
		t.Fatalf("a dequeued message must stay invisible: %+v, %v", again, err)
	}
	if err := a.DeleteMessage(ctx, q, m.ID, m.PopReceipt); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	if err := a.DeleteMessage(ctx, q, m.ID, m.PopReceipt); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteMessage: err %v, want ErrNotFound", err)
	}

	// A raw (non-base64) message from another writer keeps its text and has no Body.
	if _, err := a.queues.NewQueueClient(q).EnqueueMessage(ctx, "not base64!", nil); err != nil {
		t.Fatal(err)
	}
	raw, err := a.Dequeue(ctx, q, 1, 0)
	if err != nil || len(raw) != 1 || raw[0].Text != "not base64!" || raw[0].Body != nil {
		t.Fatalf("raw message: %+v, %v", raw, err)
	}
}

func TestQueueOptionsAndLimits(t *testing.T) {
	a := testAccount(t, nil)
	ctx := t.Context()
	q := uniqueName(t, "q-")
	if err := a.EnsureQueue(ctx, q); err != nil {
		t.Fatal(err)
	}

	if _, err := a.Enqueue(ctx, q, make([]byte, MaxMessageBytes), &EnqueueOptions{VisibilityDelay: time.Hour, TimeToLive: -1}); err != nil {
		t.Fatalf("Enqueue of MaxMessageBytes: %v", err)
	}
	if msgs, err := a.Dequeue(ctx, q, 1, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("a delayed message must be invisible: %d messages, %v", len(msgs), err)
	}

	refused := []struct {
		name string
		call func() error
	}{
		{"body too large", func() error { _, err := a.Enqueue(ctx, q, make([]byte, MaxMessageBytes+1), nil); return err }},
		{"negative delay", func() error {
			_, err := a.Enqueue(ctx, q, nil, &EnqueueOptions{VisibilityDelay: -time.Second})
			return err
		}},
		{"bad queue name", func() error { _, err := a.Enqueue(ctx, "Bad_Name", nil, nil); return err }},
		{"count 0", func() error { _, err := a.Dequeue(ctx, q, 0, 0); return err }},
		{"count 33", func() error { _, err := a.Dequeue(ctx, q, 33, 0); return err }},
		{"visibility under 1s", func() error { _, err := a.Dequeue(ctx, q, 1, time.Millisecond); return err }},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := a.Enqueue(ctx, uniqueName(t, "missing-"), []byte("x"), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Enqueue on a missing queue: err %v, want ErrNotFound", err)
	}
}
