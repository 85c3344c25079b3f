package statusupdates_test

// Cases from a second outside review of the status path. TestAttack2... cases that fail name what goes wrong;
// TestAttack2Held... cases are attacks that held.

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/statusupdates"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
)

// TestAttack2AnUnlinkedOrderWithAFutureRaisedTimeIsRetriedForever: an event for an order with no link row is read
// again while it is younger than the link grace, and "young" is now - EventRaisedDateTime, a value the sender
// writes. An event stamped in the future (SAP's local time sent as UTC, a skewed clock, a bad sender) stays young:
// the not-linked path never looks at the d365sapmissing count it increments, so the message is sent again, with
// the backoff, for as long as the stamp is ahead (for a stamp in 2099, forever), where the code says "a bounded
// number of times".
func TestAttack2AnUnlinkedOrderWithAFutureRaisedTimeIsRetriedForever(t *testing.T) {
	w := newWorld(t)
	c := &clock{t: time.Now()}
	w.svc.Now = c.Now
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := sapsim.Event{Type: "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", Raised: future,
		Data: map[string]string{"SalesOrder": "4999997", "EventRaisedDateTime": future.Format(time.RFC3339)}}
	body := ev.CloudEvent("future")
	for round := 1; round <= 20; round++ {
		err := w.handle(t, body)
		rs := w.takeRetries()
		if len(rs) == 0 {
			return // settled: skipped as not linked, or dead-lettered
		}
		if err != nil && !problem.Retryable(err) {
			return
		}
		body = rs[0].body
		c.Add(time.Hour) // far more than any backoff
	}
	t.Fatalf("an event for an unlinked order stamped %s was still being sent again after 20 rounds and 20 hours: %s", future, body)
}

// gatedAction holds the first close (FulfillSalesOrder, CancelSalesOrder) until released, or until the caller
// gives up on it: a close whose context ended before it reached D365 does not land.
type gatedAction struct {
	statusupdates.Dataverse
	once            sync.Once
	inside, release chan struct{}
}

func (g *gatedAction) Action(ctx context.Context, name string, params any, o *dataverse.ActionOptions) (dataverse.Record, error) {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.inside)
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return g.Dataverse.Action(ctx, name, params, o)
}

// TestAttack2ACloseOutlivingTheClaimLeaseClosesAnOrderSAPReopened: the PATCH of the values is fenced with the
// order's ETag, but the close that follows it (CancelSalesOrder, FulfillSalesOrder) cannot be: the actions take
// no ETag. A writes the values of a fully rejected order and its cancel is slow (throttled, retried, a paused
// instance) past the claim lease; SAP takes the rejection back; B claims the lapsed row and writes the reopened
// state. A's cancel must not land after that: it is sent under a renewed claim and given up before the claim
// lapses. (Real time here, with a short lease: the close's deadline is a real one.)
func TestAttack2ACloseOutlivingTheClaimLeaseClosesAnOrderSAPReopened(t *testing.T) {
	w := newWorld(t)
	w.svc.ClaimLease = 2 * time.Second
	number, id := w.order(t)
	for _, item := range []string{"10", "20"} {
		if err := w.sap.Reject(number, item, "00"); err != nil {
			t.Fatal(err)
		}
	}
	rejected := w.take()
	if len(rejected) == 0 {
		t.Fatal("rejecting every item raised no event")
	}
	dv := &gatedAction{Dataverse: w.svc.Dataverse, inside: make(chan struct{}), release: make(chan struct{})}
	a := twin(w, nil, dv, nil)
	done := make(chan error, 1)
	go func() { done <- handleWith(t, a, "a", rejected[len(rejected)-1].CloudEvent("a")) }()
	<-dv.inside // A wrote the values and its cancel is on its way

	if err := w.sap.Reject(number, "10", ""); err != nil { // SAP takes the rejection of item 10 back
		t.Fatal(err)
	}
	reopened := w.take()
	time.Sleep(w.svc.ClaimLease + 200*time.Millisecond) // A's cancel is still held when its lease runs out
	w.deliver(t, reopened)                              // B applies the reopened state
	if o := w.d365(t, id); str(o["statecode"]) != "0" {
		t.Fatalf("after B the D365 order has statecode %v", o["statecode"])
	}
	close(dv.release)
	if err := <-done; err != nil {
		t.Logf("A: %v", err)
	}
	if a.Stats.Requeued.Load() != 1 || a.Stats.Closed.Load() != 0 {
		t.Errorf("A, its cancel given up: %d sent again, %d closed; want its event sent again and nothing closed", a.Stats.Requeued.Load(), a.Stats.Closed.Load())
	}
	w.deliver(t, reopened) // B's events once more
	if o := w.d365(t, id); str(o["statecode"]) != "0" {
		t.Fatalf("SAP order %s is open again (rejection status %q in D365), yet the D365 order is closed with statecode %v: A's cancel landed after B applied the reopened state",
			number, str(o["d365sap_saprejectionstatus"]), o["statecode"])
	}
}
