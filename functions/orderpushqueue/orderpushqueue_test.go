package orderpushqueue_test

import (
	"context"
	"errors"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/functions/orderpushqueue"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

type fakeResumer struct {
	ResumeFn func(ctx context.Context, m orderpush.QueueMessage) error
	got      []orderpush.QueueMessage
}

var _ orderpushqueue.Resumer = (*fakeResumer)(nil)

func (f *fakeResumer) Resume(ctx context.Context, m orderpush.QueueMessage) error {
	f.got = append(f.got, m)
	if f.ResumeFn == nil {
		return nil
	}
	return f.ResumeFn(ctx, m)
}

const id = "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b"

func handle(t *testing.T, r orderpushqueue.Resumer, body string) error {
	t.Helper()
	fn, err := orderpushqueue.Function(r, 5)
	if err != nil {
		t.Fatal(err)
	}
	return fn.Queue.HandleMessage(t.Context(), trigger.Message{ID: "m-1", Body: []byte(body), DequeueCount: 1})
}

func TestMalformedMessagesAreDeadLettered(t *testing.T) {
	// An id that is not a GUID can never name a push: retrying it only burns the dequeue count (and an id with '/'
	// would make the table read fail as "unavailable", which is retryable).
	for _, body := range []string{``, `not json`, `[]`, `{}`, `{"salesorderid":""}`, `{"salesorderid":42}`, `{"action":"push"}`,
		`{"salesorderid":"ORD-01001","action":"push"}`, `{"salesorderid":"a/b","action":"push"}`,
		// An action Resume does not know would be acknowledged for an order it has an entry of, and vanish.
		`{"salesorderid":"` + id + `"}`, `{"salesorderid":"` + id + `","action":""}`, `{"salesorderid":"` + id + `","action":"delete"}`,
		`{"salesorderid":"` + id + `","action":"PUSH"}`, `{"salesorderid":"` + id + `","action":" push"}`} {
		t.Run(body, func(t *testing.T) {
			r := &fakeResumer{}
			err := handle(t, r, body)
			if problem.KindOf(err) != problem.Invalid || problem.Retryable(err) {
				t.Errorf("err = %v, want a permanent invalid", err)
			}
			if len(r.got) != 0 {
				t.Errorf("resumed %+v", r.got)
			}
		})
	}
}

func TestValidMessagesResume(t *testing.T) {
	boom := &problem.Error{Kind: problem.Unavailable, Detail: "SAP down"}
	tests := []struct {
		name string
		body string
		want orderpush.QueueMessage
		err  error
	}{
		{"push", `{"salesorderid":"` + id + `","action":"push"}`, orderpush.QueueMessage{SalesOrderID: id, Action: orderpush.ActionPush}, nil},
		{"write-back", `{"salesorderid":"` + id + `","action":"writeback"}`, orderpush.QueueMessage{SalesOrderID: id, Action: orderpush.ActionWriteBack}, nil},
		{"a retry keeps its count, for the backoff", `{"salesorderid":"` + id + `","action":"push","retry":3}`, orderpush.QueueMessage{SalesOrderID: id, Action: orderpush.ActionPush, Retry: 3}, nil},
		{"a report", `{"salesorderid":"` + id + `","action":"report","retry":1}`, orderpush.QueueMessage{SalesOrderID: id, Action: orderpush.ActionReport, Retry: 1}, nil},
		{"an unknown field is ignored", `{"salesorderid":"` + id + `","action":"push","v":2}`, orderpush.QueueMessage{SalesOrderID: id, Action: orderpush.ActionPush}, nil},
		{"Resume's error is returned as is", `{"salesorderid":"` + id + `","action":"push"}`, orderpush.QueueMessage{SalesOrderID: id, Action: orderpush.ActionPush}, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &fakeResumer{ResumeFn: func(context.Context, orderpush.QueueMessage) error { return tt.err }}
			err := handle(t, r, tt.body)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
			if len(r.got) != 1 || r.got[0] != tt.want {
				t.Errorf("resumed %+v, want %+v", r.got, tt.want)
			}
		})
	}
}

func TestFunctionDeclaration(t *testing.T) {
	fn, err := orderpushqueue.Function(&fakeResumer{}, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fn.Name != "orderpushqueue" || fn.Queue == nil || fn.HTTP != nil {
		t.Errorf("function %+v", fn)
	}
	if err := fn.Validate(); err != nil {
		t.Errorf("the declaration does not match function.json: %v", err)
	}
}
