package orderpush

import (
	"context"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
)

// A queue message decides what to do from the entry it read, then takes the order over under that read's ETag.
// When the entry changed in between (a caller's push ran meanwhile), ledger.Take falls back to a fresh Claim:
// the decision is made again by the ledger alone, without the queue's own checks (an ended order is not resumed)
// and with the order the queue unpacked from its stale read.

const (
	staleID   = "0c0ffee0-0000-4000-8000-00000000a001"
	staleCust = "17100001"
)

func TestRigHappyPathCreatesOnceAndReplays(t *testing.T) {
	r := newRig(t)
	res, err := r.s.Push(t.Context(), inline(staleID, staleCust, "PO-1", "MAT-1", "2"), false)
	if err != nil || !res.Created || res.SAPSalesOrder == "" || res.State != StateWrittenBack {
		t.Fatalf("push: %+v %v", res, err)
	}
	again, err := r.s.Push(t.Context(), inline(staleID, staleCust, "PO-1", "MAT-1", "2"), false)
	if err != nil || again.Created || again.SAPSalesOrder != res.SAPSalesOrder {
		t.Fatalf("replay: %+v %v", again, err)
	}
	if n := r.sap.createCount(); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}
	if r.sap.lookups != 0 {
		t.Errorf("a clean push looked SAP up %d times", r.sap.lookups)
	}
}

// The queue holds a message for a push answered 202. While the queue function is between reading the entry and
// taking it over, the caller pushes synchronously and SAP rejects the order (the customer is blocked for orders):
// 422, recorded, Dynamics told. The queue's take-over then fails on the ETag, Take claims afresh, and the fresh
// claim takes the rejected order over and sends the create again — with nobody having pushed it again.
func TestAStaleQueueMessageDoesNotResendAnOrderRejectedMeanwhile(t *testing.T) {
	r := newRig(t)
	req := inline(staleID, staleCust, "PO-STALE-1", "MAT-1", "1")
	if _, err := r.s.Push(t.Context(), req, true); err != nil { // Prefer: respond-async
		t.Fatal(err)
	}
	msgs := r.queue.take()
	if len(msgs) != 1 {
		t.Fatalf("%d messages after an async push", len(msgs))
	}
	r.sap.answerNext(createAnswer{err: businessError("V1/458", "Sold-to party 17100001 is blocked for orders")})
	var syncErr error
	// The first write the queue's attempt makes is Take's ETag-guarded update: run the caller's push just before.
	r.table.set(func(h *hookTable) {
		h.beforeUpdate = func() {
			_, syncErr = r.s.Push(context.Background(), req, false)
		}
	})
	if err := r.s.Resume(t.Context(), msgs[0].m); err != nil {
		t.Logf("resume: %v", err)
	}
	if syncErr == nil || !strings.Contains(syncErr.Error(), "V1/458") {
		t.Fatalf("the caller's push was not rejected: %v", syncErr)
	}
	r.drain(t, 20, rigLease)
	if n := r.sap.createCount(); n != 1 {
		t.Errorf("SAP received %d creates; after the rejection (422, written back) nobody pushed the order again, so want 1", n)
	}
	if got := r.sap.ours(staleID); len(got) != 0 {
		t.Errorf("SAP holds %d order(s) for a D365 order the caller was told SAP rejected: %+v", len(got), got)
	}
	if e := r.entry(t, staleID); e.State != ledger.Rejected {
		t.Errorf("entry is %s, want rejected (as the caller was told)", e.State)
	}
}

// The same race with a correction: the order was queued with quantity 1; the caller fixes it to 5 and pushes
// again while SAP is unreachable (the push is queued again with the corrected order). The stale message's take
// then creates the order — with quantity 1, the data the caller corrected.
func TestAStaleQueueMessageDoesNotSendTheOrderAsItWasBeforeACorrection(t *testing.T) {
	r := newRig(t)
	if _, err := r.s.Push(t.Context(), inline(staleID, staleCust, "PO-STALE-2", "MAT-1", "1"), true); err != nil {
		t.Fatal(err)
	}
	msgs := r.queue.take()
	corrected := inline(staleID, staleCust, "PO-STALE-2", "MAT-1", "5")
	// SAP cannot be reached for the caller's push: provably not sent, so the push is simply queued again.
	r.sap.answerNext(createAnswer{err: sap.ErrNotSent})
	r.table.set(func(h *hookTable) {
		h.beforeUpdate = func() {
			res, err := r.s.Push(context.Background(), corrected, false)
			if err != nil || !res.Accepted {
				t.Errorf("the corrected push: %+v %v", res, err)
			}
		}
	})
	_ = r.s.Resume(t.Context(), msgs[0].m)
	r.drain(t, 20, rigLease)
	ours := r.sap.ours(staleID)
	if len(ours) != 1 {
		t.Fatalf("SAP holds %d orders for the D365 order, want 1", len(ours))
	}
	var sent []string
	r.sap.mu.Lock()
	for _, c := range r.sap.creates {
		sent = append(sent, c.Items[0].RequestedQuantity.String())
	}
	r.sap.mu.Unlock()
	if last := sent[len(sent)-1]; last != "5" {
		t.Errorf("the create that made SAP's order carried quantity %s (creates sent: %v); the caller had corrected it to 5", last, sent)
	}
}
