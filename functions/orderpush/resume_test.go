package orderpush_test

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

var notSent = fmt.Errorf("dialing SAP: %w: %w", sap.ErrNotSent, syscall.ECONNREFUSED)

// Resume acknowledges every message it has dealt with (nil): work that met an outage went back to the queue as a
// new message, with the retry count raised for the backoff.
func TestResumeDealsWithEachState(t *testing.T) {
	old := t0.Add(-time.Hour)
	tests := []struct {
		name   string
		entry  ledger.Entry
		action string
		retry  int
		setup  func(h *harness)
		// want: the entry's state after, the creates sent, the messages queued (action, retry), their delay range.
		state              ledger.State
		creates            int
		queued             string
		minDelay, maxDelay time.Duration
	}{
		{name: "completed: acknowledged", entry: ledger.Entry{State: ledger.Completed, Result: "4711", Reported: true},
			action: orderpush.ActionPush, state: ledger.Completed},
		{name: "in progress within its lease: looked at again after it", entry: ledger.Entry{State: ledger.InProgress, Owner: "inv-0",
			LeaseUntil: t0.Add(time.Minute), SentUntil: t0.Add(53 * time.Second)},
			action: orderpush.ActionPush, state: ledger.InProgress, queued: "push 1",
			minDelay: time.Minute + skew + time.Second, maxDelay: time.Minute + skew + time.Second},
		{name: "in progress past its lease: taken over, found before creating", entry: ledger.Entry{State: ledger.InProgress, Owner: "dead",
			Ref: upperID, LeaseUntil: old, SentUntil: old.Add(-7 * time.Second)},
			action: orderpush.ActionPush,
			setup:  func(h *harness) { h.sap.commit(sap.SalesOrderCreate{Extensions: map[string]string{refField: upperID}}) },
			state:  ledger.Completed},
		{name: "accepted: created", entry: ledger.Entry{State: ledger.Accepted, Ref: upperID}, action: orderpush.ActionPush,
			state: ledger.Completed, creates: 1},
		{name: "SAP down: sent again later", entry: ledger.Entry{State: ledger.Accepted, Ref: upperID, Retries: 2},
			action: orderpush.ActionPush, retry: 2, setup: func(h *harness) { h.sap.CreateSalesOrderFn = fails(notSent) },
			state: ledger.Accepted, creates: 1, queued: "push 3", minDelay: 4 * backoff.Base / 2, maxDelay: 4 * backoff.Base},
		{name: "created: the write-back finished", entry: ledger.Entry{State: ledger.Created, Ref: upperID, Result: "4711"},
			action: orderpush.ActionWriteBack, state: ledger.Completed},
		{name: "created, Dynamics down: the write-back sent again later", entry: ledger.Entry{State: ledger.Created, Ref: upperID, Result: "4711"},
			action: orderpush.ActionWriteBack, setup: func(h *harness) { h.dv.UpdateFn = dvDown },
			state: ledger.Created, queued: "writeback 1", minDelay: 30 * time.Second, maxDelay: backoff.Base},
		{name: "a write-back of a push not done yet: its push message carries it", entry: ledger.Entry{State: ledger.Accepted, Ref: upperID},
			action: orderpush.ActionWriteBack, state: ledger.Accepted},
		{name: "rejected and reported: acknowledged", entry: ledger.Entry{State: ledger.Rejected, Ref: upperID, Reported: true},
			action: orderpush.ActionReport, state: ledger.Rejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			h.seed(t, inlineOrder(), tt.entry)
			err := h.svc.Resume(h.ctx(t), orderpush.QueueMessage{SalesOrderID: orderID, Action: tt.action, Retry: tt.retry})
			if err != nil {
				t.Fatalf("Resume: %v", err)
			}
			e := h.entry(t, orderID)
			if e.State != tt.state || len(h.sap.creates()) != tt.creates {
				t.Errorf("entry %s with %d creates, want %s with %d", e.State, len(h.sap.creates()), tt.state, tt.creates)
			}
			if tt.state == ledger.Completed && (e.Result != "4711" || !e.Reported) {
				t.Errorf("entry %+v", e)
			}
			m := h.queue.messages()
			if tt.queued == "" {
				if len(m) != 0 {
					t.Errorf("queued %+v", m)
				}
				return
			}
			if len(m) != 1 || fmt.Sprintf("%s %d", m[0].Msg.Action, m[0].Msg.Retry) != tt.queued || m[0].Delay < tt.minDelay || m[0].Delay > tt.maxDelay {
				t.Errorf("queued %+v, want %s after %s to %s", m, tt.queued, tt.minDelay, tt.maxDelay)
			}
		})
	}
}

func TestResumeRefusesWhatCanNeverWork(t *testing.T) {
	h := newHarness(t)
	for _, tt := range []struct {
		name string
		id   string
		kind problem.Kind
	}{
		{"not an order id", "ORD-01001", problem.Invalid},
		{"a key the table refuses", "a/b", problem.Invalid},
		{"no push recorded", otherID, problem.NotFound},
	} {
		err := h.resume(t, tt.id, orderpush.ActionPush)
		if problem.KindOf(err) != tt.kind || problem.Retryable(err) {
			t.Errorf("%s: %v, want a permanent %s", tt.name, err, tt.kind)
		}
	}
	if len(h.sap.Calls()) != 0 || len(h.queue.messages()) != 0 {
		t.Errorf("SAP %v, queue %v", h.sap.Calls(), h.queue.messages())
	}
}

// The host gives up on a message only when the function keeps failing (the queue or storage down). The entry keeps
// its hold, so no create is sent early; the sweeper picks the order up again.
func TestTheLastDeliveryKeepsTheHold(t *testing.T) {
	h := newHarness(t)
	sent := t0.Add(-time.Minute)
	held := ledger.Entry{State: ledger.Accepted, Ref: upperID, Attempts: 1, Sends: 1, SentUntil: sent, HoldUntil: sent.Add(commitWindow + skew),
		NextAttempt: t0}
	h.seed(t, inlineOrder(), held)
	h.sap.lag(true)
	queueDown := errors.New("queue unreachable")
	h.queue.EnqueueFn = func(context.Context, string, []byte, *store.EnqueueOptions) error { return queueDown }
	err := h.svc.Resume(h.ctx(t), orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionPush, Retry: 4, LastDelivery: true})
	if err == nil || !problem.Retryable(err) {
		t.Fatalf("Resume: %v, want a retryable error: the message could not be sent again", err)
	}
	e := h.entry(t, orderID)
	if !e.Unresolved() || !e.SentUntil.Equal(sent) || !e.HoldUntil.Equal(held.HoldUntil) || e.State != ledger.Accepted {
		t.Errorf("entry %+v, want the hold of %+v", e, held)
	}
	if n := len(h.sap.creates()); n != 0 {
		t.Errorf("%d creates during the hold", n)
	}
	// The sweeper still sees the order as stuck once its next attempt is overdue.
	h.clock.Advance(h.svc.SweepGrace + time.Hour)
	if !h.svc.Ledger.Stuck(e, h.clock.Now(), h.svc.SweepGrace) {
		t.Errorf("entry %+v is not stuck for the sweeper", e)
	}
}
