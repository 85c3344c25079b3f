package orderpush_test

import (
	"context"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// When the host will not deliver a message again, a temporary failure must not leave the push "accepted" (its
// status would answer 202 for ever): it is recorded as failed, so the caller's poll ends and it can push again.
func TestLastDeliveryRecordsTheFailure(t *testing.T) {
	for _, last := range []bool{false, true} {
		h := newHarness(t)
		msg := queued(t, h)
		msg.LastDelivery = last
		h.sap.FindSalesOrdersFn = func(context.Context, string, string) ([]sap.SalesOrder, error) {
			return nil, &sap.Error{StatusCode: 503}
		}
		err := h.svc.Resume(context.Background(), msg)
		if !problem.Retryable(err) {
			t.Fatalf("last=%v: err = %v, want retryable (the host then poisons the message, keeping it)", last, err)
		}
		rec := h.record(t)
		switch {
		case !last && rec.State != orderpush.StateAccepted:
			t.Errorf("not the last delivery: state %s, want accepted (the message comes back)", rec.State)
		case last && (rec.State != orderpush.StateFailed || !strings.Contains(rec.LastError, "gave up")):
			t.Errorf("last delivery: state %s, error %q; want failed, naming that the queue gave up", rec.State, rec.LastError)
		}
	}
}
