package orderpush

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/store"
)

// The sweeper re-queues exactly the pushes nothing is scheduled to finish, with the action each needs, and leaves
// alone those that are done or merely waiting; after it (and the queue) every one of them has ended and Dynamics
// knows how.
func TestTheSweeperRequeuesEveryStuckPushAndNothingElse(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	ids := map[string]string{
		"accepted":            "0c0ffee0-0000-4000-8000-0000000f0001",
		"dead attempt":        "0c0ffee0-0000-4000-8000-0000000f0002",
		"created":             "0c0ffee0-0000-4000-8000-0000000f0003",
		"rejected unreported": "0c0ffee0-0000-4000-8000-0000000f0004",
		"failed unreported":   "0c0ffee0-0000-4000-8000-0000000f0005",
		"completed":           "0c0ffee0-0000-4000-8000-0000000f0006",
		"rejected reported":   "0c0ffee0-0000-4000-8000-0000000f0007",
	}
	dvDown := func(context.Context, string, dataverse.Record) error { return errors.New("dataverse: 503") }
	push := func(name string, async bool) {
		_, _ = r.s.Push(ctx, inline(ids[name], "17100001", "PO-SWEEP", "MAT-"+name[:3], "1"), async)
	}
	push("accepted", true)
	req := inline(ids["dead attempt"], "17100001", "PO-SWEEP", "MAT-1", "1")
	packed, _ := r.s.packOrder(ctx, req.Order)
	if _, _, err := r.s.Ledger.Claim(ctx, ledger.ClaimRequest{Key: ids["dead attempt"], Ref: "0C0FFEE0-0000-4000-8000-0000000F0002",
		Payload: packed, Data: pushData{}.with("PO-SWEEP", "17100001").encode(), Owner: "died"}); err != nil {
		t.Fatal(err)
	}
	r.dv.setBefore(dvDown)
	push("created", false)
	r.sap.answerNext(createAnswer{err: businessError("V1/458", "blocked")})
	push("rejected unreported", false)
	r.s.Units = fakeUnits{missing: map[string]bool{"MAT-fai": true}}
	push("failed unreported", false)
	r.dv.setBefore(nil)
	push("completed", false)
	r.sap.answerNext(createAnswer{err: businessError("V1/458", "blocked")})
	push("rejected reported", false)
	r.s.Units = fakeUnits{}
	r.queue.take() // every message is lost (dead-lettered, never delivered)

	r.clock.Advance(r.s.SweepGrace + rigLease + rigSkew + 1)
	rep, err := r.s.Sweep(ctx, r.table.Table.(*store.MemTable[json.RawMessage]))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"accepted": ActionPush, "dead attempt": ActionPush, "created": ActionWriteBack,
		"rejected unreported": ActionReport, "failed unreported": ActionReport}
	got := map[string]string{}
	for _, q := range r.queue.msgs {
		for name, id := range ids {
			if id == q.m.SalesOrderID {
				got[name] = q.m.Action
			}
		}
	}
	for name, action := range want {
		if got[name] != action {
			t.Errorf("%s: re-queued with %q, want %q", name, got[name], action)
		}
	}
	for name := range got {
		if want[name] == "" {
			t.Errorf("%s was re-queued (%s)", name, got[name])
		}
	}
	t.Logf("sweep: %+v", rep)
	r.clock.Advance(rigWindow) // the dead attempt's intent needs the commit window before anything is sent again
	r.drain(t, 20, rigLease)
	for name, id := range ids {
		e := r.entry(t, id)
		if !e.State.Ended() || !e.Reported {
			t.Errorf("%s ends %s, reported %v", name, e.State, e.Reported)
		}
		if r.dv.status(id) == "" {
			t.Errorf("%s: Dynamics was never told", name)
		}
	}
}
