package orderpushqueue_test

import (
	"context"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/functions/orderpushqueue"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// Whatever lands on the queue (a message written by hand, a truncated one, a replayed dead letter), the function
// either resumes a valid order-push message or refuses it permanently; it never panics and never retries garbage.
func FuzzQueueMessage(f *testing.F) {
	for _, s := range []string{`{"salesorderid":"` + id + `","action":"push"}`, `{"salesorderid":"` + id + `","action":"writeback","retry":3}`,
		``, `{}`, `[]`, `{"salesorderid":12}`, `{"salesorderid":"` + id + `","retry":-1}`, "\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got []orderpush.QueueMessage
		r := &fakeResumer{ResumeFn: func(_ context.Context, m orderpush.QueueMessage) error { got = append(got, m); return nil }}
		fn, err := orderpushqueue.Function(r, 5)
		if err != nil {
			t.Fatal(err)
		}
		err = fn.Queue.HandleMessage(context.Background(), trigger.Message{ID: "m", Body: body, DequeueCount: 1})
		switch {
		case err != nil && problem.Retryable(err):
			t.Fatalf("a malformed message would be retried: %v", err)
		case err == nil && (len(got) != 1 || !orderpush.IsOrderID(got[0].SalesOrderID)):
			t.Fatalf("resumed %+v", got)
		}
	})
}
