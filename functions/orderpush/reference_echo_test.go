package orderpush

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// Every duplicate check rests on SAP storing the reference exactly as sent. SAP's 201 answer echoes the order as
// stored, custom field included, so the first create shows whether that holds; the push never looks. If the field
// in SAP is shorter than the mapping's maxLength says (the start-up check cannot know SAP's length; ABAP cuts a
// longer value on assignment where the simulator refuses it), every later lookup by the whole reference misses,
// and the first create whose answer is lost becomes a second SAP order once the commit window has passed.

func TestAReferenceSAPDidNotStoreAsSentIsNoticedBeforeALookupReliesOnIt(t *testing.T) {
	r := newRig(t)
	const field = "YY1_D365OrderID_SDH"
	r.sap.store = func(so *sap.SalesOrder) { // the field was created with 20 characters
		if v := so.Extensions[field]; len(v) > 20 {
			so.Extensions = map[string]string{field: v[:20]}
		}
	}
	first := "0c0ffee0-0000-4000-8000-0000000d0001"
	res, err := r.s.Push(t.Context(), inline(first, "17100001", "PO-ECHO-1", "MAT-1", "1"), false)
	if err != nil || !res.Created {
		t.Fatalf("first push: %+v %v", res, err)
	}
	// The second order's create commits, its answer is lost.
	second := "0c0ffee0-0000-4000-8000-0000000d0002"
	r.sap.answerNext(createAnswer{commit: true, err: fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, context.DeadlineExceeded)})
	req := inline(second, "17100001", "PO-ECHO-2", "MAT-1", "1")
	_, _ = r.s.Push(t.Context(), req, false)
	r.clock.Advance(rigWindow + rigLease)
	r.drain(t, 20, rigLease)
	_, perr := r.s.Push(t.Context(), req, false)
	// The first 201 showed SAP cut the reference: creates stop, loudly, and the order waits for an operator.
	if problem.KindOf(perr) != problem.Internal || !strings.Contains(perr.Error(), "not as sent") {
		t.Errorf("a push after SAP cut the reference answered %v; want the stop naming the reference", perr)
	}
	n := 0
	r.sap.mu.Lock()
	for _, o := range r.sap.orders {
		if o.PurchaseOrderByCustomer == "PO-ECHO-2" {
			n++
		}
	}
	r.sap.mu.Unlock()
	if n > 1 {
		t.Errorf("SAP holds %d orders for D365 order %s (ledger: %s); the first 201 had already shown the reference stored as %q, not %q",
			n, second, r.entry(t, second).State, r.sap.orders[0].Extensions[field], r.entry(t, first).Ref)
	}
	_ = ledger.Completed
}
