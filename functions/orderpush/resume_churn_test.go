package orderpush

import (
	"testing"

	"github.com/d365sap/d365sap/shared/ledger"
)

// What held: resume decides again when the entry changed between its read and its take, but a few times only — an
// entry that changes under every take (a hot order, a storage proxy replaying writes) costs a bounded number of
// round trips, and the message is answered.

func TestResumeOnAnEntryThatChangesUnderEveryTakeIsBounded(t *testing.T) {
	r := newRig(t)
	const id = "0c0ffee0-0000-4000-8000-0000000d0801"
	if _, err := r.s.Push(t.Context(), inline(id, "17100001", "PO-CHURN", "MAT-1", "1"), true); err != nil {
		t.Fatal(err)
	}
	msgs := r.queue.take()
	takes := 0
	var churn func()
	churn = func() {
		takes++
		if takes > 100 {
			return
		}
		snap, _, err := r.s.Ledger.Get(t.Context(), id)
		if err != nil {
			t.Error(err)
			return
		}
		r.clock.Advance(1)
		if _, err := r.s.Ledger.Update(t.Context(), snap, func(e *ledger.Entry) { e.Retries++ }); err != nil {
			t.Error(err)
		}
		r.table.set(func(h *hookTable) { h.beforeUpdate = churn })
	}
	r.table.set(func(h *hookTable) { h.beforeUpdate = churn })
	err := r.s.Resume(t.Context(), msgs[0].m)
	r.table.set(func(h *hookTable) { h.beforeUpdate = nil })
	t.Logf("%d takes, resume answered %v, queue %d", takes, err, r.queue.len())
	if takes > 5 {
		t.Errorf("resume tried to take the entry %d times (err %v)", takes, err)
	}
	if n := r.sap.createCount(); n != 0 {
		t.Errorf("%d creates from takes that all lost", n)
	}
}
