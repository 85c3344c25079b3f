package orderpush_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

func TestTheSweeperRequeuesOnlyStuckPushes(t *testing.T) {
	h := newHarness(t)
	grace := h.svc.SweepGrace
	late := t0.Add(-grace - time.Minute) // longer ago than the grace
	fresh := t0.Add(-time.Minute)
	tests := []struct {
		name   string
		e      ledger.Entry
		action string // "" when the sweeper must leave it alone
	}{
		{"accepted, its next attempt overdue", ledger.Entry{State: ledger.Accepted, NextAttempt: late, UpdatedAt: late}, orderpush.ActionPush},
		{"accepted long ago, never scheduled", ledger.Entry{State: ledger.Accepted, UpdatedAt: late}, orderpush.ActionPush},
		{"accepted, its next attempt to come", ledger.Entry{State: ledger.Accepted, NextAttempt: t0.Add(time.Minute), UpdatedAt: late}, ""},
		{"accepted just now", ledger.Entry{State: ledger.Accepted, UpdatedAt: fresh}, ""},
		{"in progress past its lease", ledger.Entry{State: ledger.InProgress, LeaseUntil: late, UpdatedAt: late}, orderpush.ActionPush},
		{"in progress within its lease", ledger.Entry{State: ledger.InProgress, LeaseUntil: t0.Add(time.Minute), UpdatedAt: fresh}, ""},
		{"created, never written back", ledger.Entry{State: ledger.Created, Result: "4711", UpdatedAt: late}, orderpush.ActionWriteBack},
		{"created just now", ledger.Entry{State: ledger.Created, Result: "4712", UpdatedAt: fresh}, ""},
		{"rejected, not reported", ledger.Entry{State: ledger.Rejected, UpdatedAt: late}, orderpush.ActionReport},
		{"failed, not reported", ledger.Entry{State: ledger.Failed, UpdatedAt: late}, orderpush.ActionReport},
		{"rejected, reported", ledger.Entry{State: ledger.Rejected, Reported: true, UpdatedAt: late}, ""},
		{"completed", ledger.Entry{State: ledger.Completed, Result: "4713", Reported: true, UpdatedAt: late}, ""},
	}
	want := map[string]string{}
	open := 0
	for i, tt := range tests {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		o := orderFor(id)
		h.seed(t, o, tt.e)
		if tt.action != "" {
			want[id] = tt.action
		}
		if !tt.e.State.Ended() || !tt.e.Reported {
			open++
		}
		// Every partition also holds audit rows, and SAP numbers have link rows: neither is an entry.
		row, err := (audit.Trail{}).Row(audit.Entry{Kind: orderpush.Kind, Key: id, InvocationID: "inv", Outcome: "retry", At: late})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.table.Upsert(t.Context(), row); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.svc.Ledger.PutLink(t.Context(), "4711", "00000000-0000-4000-8000-000000000006"); err != nil {
		t.Fatal(err)
	}
	rep, err := h.svc.Sweep(h.ctx(t), h.table)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Scanned != open || rep.Requeued != len(want) {
		t.Errorf("report %+v, want %d scanned (only unfinished entries) and %d re-queued", rep, open, len(want))
	}
	got := map[string]string{}
	for _, m := range h.queue.messages() {
		if m.Delay != 0 || m.Msg.Retry != 0 || m.Queue != queueName {
			t.Errorf("queued %+v, want at once with a fresh retry count", m)
		}
		got[m.Msg.SalesOrderID] = m.Msg.Action
	}
	if !maps.Equal(got, want) {
		for i, tt := range tests {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			if got[id] != want[id] {
				t.Errorf("%s: re-queued %q, want %q", tt.name, got[id], want[id])
			}
		}
	}
}

func TestTheSweeperStopsWhenTheQueueFails(t *testing.T) {
	h := newHarness(t)
	for i := range 3 {
		h.seed(t, orderFor(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)), ledger.Entry{State: ledger.Accepted, UpdatedAt: t0.Add(-24 * time.Hour)})
	}
	down := errors.New("queue unreachable")
	h.queue.EnqueueFn = func(context.Context, string, []byte, *store.EnqueueOptions) error { return down }
	rep, err := h.svc.Sweep(h.ctx(t), h.table)
	if !errors.Is(err, down) || rep.Requeued != 0 {
		t.Errorf("sweep %+v %v, want the queue's error", rep, err)
	}
}

// The sweeper's re-queued message is one the queue acts on: a stuck accepted push gets created.
func TestASweptPushIsFinishedByTheQueue(t *testing.T) {
	h := newHarness(t)
	h.seed(t, inlineOrder(), ledger.Entry{State: ledger.Accepted, Ref: upperID, UpdatedAt: t0.Add(-24 * time.Hour)})
	if _, err := h.svc.Sweep(h.ctx(t), h.table); err != nil {
		t.Fatal(err)
	}
	m := h.queue.messages()
	if len(m) != 1 {
		t.Fatalf("queued %+v", m)
	}
	if err := h.svc.Resume(h.ctx(t), m[0].Msg); err != nil {
		t.Fatal(err)
	}
	if e := h.entry(t, orderID); e.State != ledger.Completed || !slices.ContainsFunc(h.sap.creates(), func(c sap.SalesOrderCreate) bool { return c.Extensions[refField] == upperID }) {
		t.Errorf("entry %+v, creates %+v", e, h.sap.creates())
	}
}
