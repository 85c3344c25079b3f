package orderpush

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
)

// In headerText mode a lookup once read every SAP order with the push's PO number and sold-to party (with their
// items) and then, one request each, their texts. Customers reuse POs: a blanket PO collects an order a day for
// years. The lookup's cost grows with that history, it is paid on every retry of a hold, and when it no longer
// fits the time an attempt has (the create's timeout right after a lost answer, the function's timeout in the
// queue) the create it should settle stays unresolved for good: never created again, never found, never reported.

const blanketID = "0c0ffee0-0000-4000-8000-0000000c0001"

func TestAnUnknownCreateUnderABlanketPOIsSettled(t *testing.T) {
	r := newRig(t)
	r.s.Mapping.Reference = Reference{Mode: RefHeaderText, TextID: "Z001", Language: "EN"}
	r.s.CreateTimeout = time.Second
	const po, soldTo, history = "BLANKET-2019", "17100001", 1000
	r.sap.mu.Lock()
	for i := range history { // the customer's orders under the same blanket PO, entered over the years
		r.sap.orders = append(r.sap.orders, sap.SalesOrder{SalesOrder: fmt.Sprint(1 + i), PurchaseOrderByCustomer: po, SoldToParty: soldTo})
	}
	r.sap.next = history + 1
	r.sap.textWait = 2 * time.Millisecond // one text read; real ones take tens of milliseconds
	r.sap.mu.Unlock()
	// The create commits but its answer is lost.
	r.sap.answerNext(createAnswer{commit: true, err: fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, context.DeadlineExceeded)})
	// The lookup right after the lost answer may already settle it; else the queue does.
	if res, err := r.s.Push(t.Context(), inline(blanketID, soldTo, po, "MAT-1", "1"), false); err != nil || !(res.Accepted || res.Created) {
		t.Fatalf("push: %+v %v", res, err)
	}
	// The queue works on it, each delivery with a (scaled) function timeout.
	for round := 0; round < 5 && !r.entry(t, blanketID).State.Done(); round++ {
		r.clock.Advance(rigLease + rigSkew)
		for _, q := range r.queue.take() {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			_ = r.s.Resume(ctx, q.m)
			cancel()
		}
	}
	r.sap.mu.Lock()
	texts, lookups := r.sap.texts, r.sap.lookups
	r.sap.mu.Unlock()
	if e := r.entry(t, blanketID); !e.State.Done() {
		t.Errorf("SAP has the order (number %d), but after %d lookups reading %d texts the push is still %s: %s",
			history+1, lookups, texts, e.State, e.LastError)
	}
}
