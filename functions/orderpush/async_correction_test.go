package orderpush

import (
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
)

// ClaimRequest.Payload "replaces the stored one when not empty (a push again after the data was corrected)". A
// push with Prefer: respond-async of an order that is already queued is answered 202 — "the push is recorded and
// finishes from the queue" — but Claim's Queue intent on an accepted entry returns "already queued" before the
// payload is replaced: the correction is dropped, and the queue creates the order as it was before it.

const asyncFixID = "0c0ffee0-0000-4000-8000-0000000d0901"

func TestAnAsyncPushAgainOfAQueuedOrderSendsTheCorrectedOrder(t *testing.T) {
	r := newRig(t)
	// SAP is unreachable: the synchronous push is queued.
	r.sap.answerNext(createAnswer{err: sap.ErrNotSent})
	if res, err := r.s.Push(t.Context(), inline(asyncFixID, "17100001", "PO-FIX-1", "MAT-1", "1"), false); err != nil || !res.Accepted {
		t.Fatalf("push: %+v %v", res, err)
	}
	// The quantity was wrong: the flow (asynchronous pattern) pushes the corrected order.
	res, err := r.s.Push(t.Context(), inline(asyncFixID, "17100001", "PO-FIX-1", "MAT-1", "5"), true)
	if err != nil || !res.Accepted {
		t.Fatalf("async push of the correction: %+v %v", res, err)
	}
	r.drain(t, 20, rigLease+rigSkew+time.Second)
	ours := r.sap.ours(asyncFixID)
	if len(ours) != 1 {
		t.Fatalf("SAP holds %d orders", len(ours))
	}
	r.sap.mu.Lock()
	last := r.sap.creates[len(r.sap.creates)-1].Items[0].RequestedQuantity.String()
	r.sap.mu.Unlock()
	if last != "5" {
		t.Errorf("the push of the correction was answered 202, but SAP's order was created with quantity %s; the caller sent 5", last)
	}
}

// The same for a synchronous push of the correction that arrives while the first push's attempt is still talking
// to SAP: it waits for that attempt (claim 2), which ends queued, and is answered 202 — with its corrected order
// nowhere recorded.
func TestAPushAgainDuringAnAttemptSendsTheCorrectedOrder(t *testing.T) {
	r := newRig(t)
	r.sap.answerNext(createAnswer{err: sap.ErrNotSent, delay: 200 * time.Millisecond}) // SAP's connection attempt hangs, then fails
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = r.s.Push(t.Context(), inline(asyncFixID, "17100001", "PO-FIX-2", "MAT-1", "1"), false)
	}()
	time.Sleep(50 * time.Millisecond)
	res, err := r.s.Push(t.Context(), inline(asyncFixID, "17100001", "PO-FIX-2", "MAT-1", "5"), false)
	<-done
	if err != nil || !res.Accepted {
		t.Logf("push of the correction: %+v %v", res, err)
	}
	r.drain(t, 20, rigLease+rigSkew+time.Second)
	r.sap.mu.Lock()
	last := r.sap.creates[len(r.sap.creates)-1].Items[0].RequestedQuantity.String()
	r.sap.mu.Unlock()
	if last != "5" {
		t.Errorf("the push of the correction was answered %+v %v, but SAP's order was created with quantity %s; the caller sent 5", res, err, last)
	}
}
