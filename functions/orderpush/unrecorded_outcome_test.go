package orderpush

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
)

// What the synchronous push answers must be what the ledger holds: a flow acts on the answer (its failure branch
// runs on 422, it stores the number of a 201), while every later push, poll and queue message acts on the ledger.

const unrecordedID = "0c0ffee0-0000-4000-8000-00000000b001"

// SAP rejects the create (the customer is blocked for orders), but the one write that records the rejection
// fails (storage answers 503 once). Once the caller got 422 (and Dynamics "Rejected by SAP") anyway. The entry is left
// in progress with the create's intent, so after the lease the safety-net message resolves it (nothing found once
// the commit window has passed) and sends the create again: the customer has been unblocked meanwhile, and SAP
// now holds an order for a push its caller was told was rejected and that nobody pushed again.
func TestA422IsAnsweredOnlyWhenTheRejectionIsRecorded(t *testing.T) {
	r := newRig(t)
	r.sap.answerNext(createAnswer{err: businessError("V1/458", "Sold-to party 17100001 is blocked for orders")})
	r.table.set(func(h *hookTable) { h.failTransact = 1 })
	_, err := r.s.Push(t.Context(), inline(unrecordedID, "17100001", "PO-REJ-1", "MAT-1", "1"), false)
	answered := problem.KindOf(err)
	// The record is tried again after the blip: a 422 is fine once the ledger holds the rejection.
	if e := r.entry(t, unrecordedID); answered == problem.Rejected && e.State != ledger.Rejected {
		t.Errorf("the caller was answered 422 for a rejection the ledger does not hold (%s): %v", e.State, err)
	}
	// Time passes: the lease, the commit window; the queue works off its messages.
	r.clock.Advance(rigLease + rigSkew + time.Second)
	r.drain(t, 30, rigWindow/4)
	e := r.entry(t, unrecordedID)
	if answered == problem.Rejected {
		if n := r.sap.createCount(); n != 1 {
			t.Errorf("the caller was answered 422 (Dynamics: %q), yet SAP received %d creates and now holds %d order(s); entry %s",
				r.dv.status(unrecordedID), n, len(r.sap.ours(unrecordedID)), e.State)
		}
		if e.State != ledger.Rejected {
			t.Errorf("the caller was answered 422 but the push ended %s", e.State)
		}
	}
}

// SAP answers 201 with the number, but the request's deadline runs out while the push records it (SAP took most
// of ORDER_PUSH_SYNC_TIMEOUT, Dataverse is slow): link row, write-back and the entry's own write all run on the
// request's context and fail. The caller is answered 201 with the number; the ledger keeps only "a create may
// have been sent", so the status answers 202 until the lease has passed and a queue attempt has looked the order up
// in SAP again — the number this instance knew is thrown away and must be rediscovered by a lookup, which is
// exactly what a lagging or missing reference turns into a second order.
func TestAKnownSAPNumberIsRecordedEvenWhenTheRequestDeadlineRunsOut(t *testing.T) {
	r := newRig(t)
	// Scaled down from the defaults' 30 s create inside a 45 s wait: the create may start only if the request has
	// a whole create's time left, and it may use nearly all of it.
	r.s.CreateTimeout, r.s.SyncTimeout = 400*time.Millisecond, 450*time.Millisecond
	r.sap.answerNext(createAnswer{commit: true, delay: 380 * time.Millisecond})
	r.dv.latency = 100 * time.Millisecond // a write-back at an ordinary Dataverse pace
	res, err := r.s.Push(t.Context(), inline(unrecordedID, "17100001", "PO-SLOW-1", "MAT-1", "1"), false)
	if err != nil || !res.Created || res.SAPSalesOrder == "" {
		t.Fatalf("push: %+v %v", res, err)
	}
	e := r.entry(t, unrecordedID)
	if !e.State.Done() || e.Result != res.SAPSalesOrder {
		t.Errorf("the caller was answered 201 with SAP order %s, but the ledger holds state %s, result %q, unresolved %v",
			res.SAPSalesOrder, e.State, e.Result, e.Unresolved())
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/orders/"+unrecordedID, nil)
	req.SetPathValue("salesorderid", unrecordedID)
	ServeStatus(rec, req, r.s.Ledger, "")
	if rec.Code != http.StatusOK {
		t.Errorf("status after a 201: %d %s", rec.Code, rec.Body)
	}
}

// The same without any storage failure: Dataverse throttles the rejection's write-back (the client obeys
// Retry-After up to DATAVERSE_MAX_RETRIES times), which outlasts the few seconds the lease keeps after a create
// (CLOCK_SKEW_TOLERANCE plus SAP_TIMEOUT/5). The safety-net message takes the order over meanwhile; the rejection
// can no longer be recorded (the ETag moved), yet the caller is answered 422 — and once the commit window has
// passed, the taker creates the order.
func TestA422IsNotAnsweredForARejectionAnotherAttemptTookOverFrom(t *testing.T) {
	r := newRig(t)
	r.sap.answerNext(createAnswer{err: businessError("V1/458", "Sold-to party 17100001 is blocked for orders")})
	req := inline(unrecordedID, "17100001", "PO-REJ-3", "MAT-1", "1")
	r.dv.setBefore(func(ctx context.Context, id string, rec dataverse.Record) error {
		r.dv.setBefore(nil)
		// Throttled for longer than the lease has left: the safety-net message is delivered meanwhile.
		r.clock.Advance(rigLease + rigSkew + time.Second)
		for _, q := range r.queue.take() {
			_ = r.s.Resume(ctx, q.m)
		}
		return nil
	})
	_, err := r.s.Push(t.Context(), req, false)
	answered := problem.KindOf(err)
	r.drain(t, 30, rigWindow/4)
	if answered == problem.Rejected {
		if n, e := r.sap.createCount(), r.entry(t, unrecordedID); n != 1 || e.State != ledger.Rejected {
			t.Errorf("the caller was answered 422, yet SAP received %d creates, holds %d order(s), and the push ended %s; Dynamics says %q",
				n, len(r.sap.ours(unrecordedID)), e.State, r.dv.status(unrecordedID))
		}
	}
}

// "The create is never abandoned because the HTTP caller hung up": it is not — but what follows it runs on the
// caller's context. The caller hangs up while SAP is creating; SAP answers 201 with the number; the link row,
// the write-back, the archive and the entry's own write all fail on the cancelled context, and the number is
// lost to the ledger: a later attempt must find the order again by a lookup.
func TestAKnownSAPNumberIsRecordedEvenWhenTheCallerHangsUp(t *testing.T) {
	r := newRig(t)
	ctx, hangUp := context.WithCancel(t.Context())
	defer hangUp()
	r.sap.answerNext(createAnswer{commit: true, delay: 50 * time.Millisecond})
	go func() { time.Sleep(10 * time.Millisecond); hangUp() }()
	_, _ = r.s.Push(ctx, inline(unrecordedID, "17100001", "PO-HANGUP-1", "MAT-1", "1"), false)
	e := r.entry(t, unrecordedID)
	if len(r.sap.ours(unrecordedID)) != 1 {
		t.Fatalf("SAP holds %d orders", len(r.sap.ours(unrecordedID)))
	}
	if !e.State.Done() {
		t.Errorf("SAP answered 201 with order %s, but the ledger holds state %s, result %q, unresolved %v: only a lookup can tell now",
			r.sap.ours(unrecordedID)[0].SalesOrder, e.State, e.Result, e.Unresolved())
	}
}
