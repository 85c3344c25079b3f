package orderpush

import (
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
)

// unrecorded answers 202 when the one write that records a rejection (or a failure) fails, and leaves the entry as
// it was: in progress, with the create's intent (the claim's insert wrote it before anything was sent). The next
// attempt cannot tell that SAP's answer proved nothing was created — the proof is lost with the failed write — so
// it treats the create as unresolved: it looks the order up, is held for the whole commit window (11 minutes by
// default), and only then sends the create again to hear the same rejection. Every storage blip at that one write
// costs an order the commit window plus a lookup per backoff; a mapping failure, where nothing was ever sent,
// pays the same. Claim 3: "Only answers that prove SAP did nothing — a business rejection ... — clear it."

const holdID = "0c0ffee0-0000-4000-8000-0000000d0301"

// settleWithin delivers the queue's messages, each when it becomes visible, until the entry ends or limit passes;
// it answers how long that took.
func (r *rig) settleWithin(t *testing.T, id string, limit time.Duration) (time.Duration, ledger.Entry) {
	t.Helper()
	start := r.clock.Now()
	for r.clock.Now().Sub(start) < limit {
		e := r.entry(t, id)
		if e.State.Ended() {
			return r.clock.Now().Sub(start), e
		}
		msgs := r.queue.take()
		if len(msgs) == 0 {
			r.clock.Advance(time.Minute)
			continue
		}
		next := msgs[0].delay
		for _, q := range msgs {
			next = min(next, q.delay)
		}
		r.clock.Advance(max(next, time.Second))
		for _, q := range msgs {
			_ = r.s.Resume(t.Context(), q.m)
		}
	}
	return limit, r.entry(t, id)
}

func TestARejectionThatCouldNotBeRecordedIsNotHeldForTheCommitWindow(t *testing.T) {
	r := newRig(t)
	blocked := make([]createAnswer, 5)
	for i := range blocked {
		blocked[i] = createAnswer{err: businessError("V1/458", "Sold-to party 17100001 is blocked for orders")}
	}
	r.sap.answerNext(blocked...)
	r.table.set(func(h *hookTable) { h.failTransact = 1 }) // storage answers 503 once: the rejection's record
	// The record is tried again after the blip, so the push may end at once (422); else it is queued.
	if res, err := r.s.Push(t.Context(), inline(holdID, "17100001", "PO-HOLD-1", "MAT-1", "1"), false); !res.Accepted && problem.KindOf(err) != problem.Rejected {
		t.Fatalf("push: %+v %v", res, err)
	}
	took, e := r.settleWithin(t, holdID, 3*rigWindow)
	r.sap.mu.Lock()
	lookups := r.sap.lookups
	r.sap.mu.Unlock()
	if took > 3*rigLease {
		t.Errorf("SAP's rejection proved nothing was created, yet after one failed write the push took %s (commit window %s, lease %s) "+
			"and %d SAP lookups to end %s", took, rigWindow, rigLease, lookups, e.State)
	}
}

func TestAMappingFailureThatCouldNotBeRecordedIsNotHeldForTheCommitWindow(t *testing.T) {
	r := newRig(t)
	r.s.Units = fakeUnits{missing: map[string]bool{"MAT-KG": true}} // SAP has no such unit for the material
	r.table.set(func(h *hookTable) { h.failTransact = 1 })
	if res, err := r.s.Push(t.Context(), inline(holdID, "17100001", "PO-HOLD-2", "MAT-KG", "1"), false); !res.Accepted && problem.KindOf(err) != problem.Invalid {
		t.Fatalf("push: %+v %v", res, err)
	}
	took, e := r.settleWithin(t, holdID, 3*rigWindow)
	r.sap.mu.Lock()
	lookups := r.sap.lookups
	r.sap.mu.Unlock()
	if took > 3*rigLease || lookups > 0 {
		t.Errorf("nothing was ever sent to SAP, yet after one failed write the push took %s (commit window %s) and %d SAP lookups to end %s",
			took, rigWindow, lookups, e.State)
	}
}
