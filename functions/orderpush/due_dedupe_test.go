package orderpush

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// Claim 11 drops a queue message whose Due is older than the entry's NextAttempt: "a later attempt scheduled the
// order's next try". But NextAttempt is written by Retry *before* the successor message is enqueued. When that
// enqueue fails (a queue blip) or the instance dies between the two writes, the entry names a schedule no message
// carries, and the message that is redelivered — the one the ledger's own rule ("otherwise it must fail it, so the
// host redelivers it") relies on — carries the older Due and is dropped as overtaken. The only live chain is gone.

const dueID = "0c0ffee0-0000-4000-8000-0000000e0001"

func notSentAnswers(n int) []createAnswer {
	a := make([]createAnswer, n)
	for i := range a {
		a[i] = createAnswer{err: sap.ErrNotSent}
	}
	return a
}

func (r *rig) setQueueFail(on bool) {
	r.queue.mu.Lock()
	defer r.queue.mu.Unlock()
	r.queue.fail = on
}

// sweepUntilRequeued runs the sweeper every five minutes of (fake) time from now on and answers how long it took
// until it re-queued id (or limit when it never did).
func (r *rig) sweepUntilRequeued(t *testing.T, id string, limit time.Duration) time.Duration {
	t.Helper()
	start := r.clock.Now()
	for r.clock.Now().Sub(start) < limit {
		r.clock.Advance(5 * time.Minute)
		if _, err := r.s.Sweep(t.Context(), r.table.Table.(*store.MemTable[json.RawMessage])); err != nil {
			t.Fatal(err)
		}
		for _, q := range r.queue.take() {
			if q.m.SalesOrderID == id {
				return r.clock.Now().Sub(start)
			}
		}
	}
	return limit
}

func TestAQueueMessageRedeliveredBecauseItsSuccessorWasNotQueuedIsNotDroppedAsOvertaken(t *testing.T) {
	r := newRig(t)
	r.sap.answerNext(notSentAnswers(100)...) // SAP refuses connections for a while: provably nothing sent
	if res, err := r.s.Push(t.Context(), inline(dueID, "17100001", "PO-DUE-1", "MAT-1", "1"), false); err != nil || !res.Accepted {
		t.Fatalf("push during the outage: %+v %v", res, err)
	}
	// The queue works the order for a while: the safety net and the retry chain merge into one chain.
	for range 3 {
		msgs := r.queue.take()
		r.clock.Advance(rigLease + rigSkew + time.Second)
		for _, q := range msgs {
			_ = r.s.Resume(t.Context(), q.m)
		}
	}
	msgs := r.queue.take()
	if len(msgs) != 1 || msgs[0].m.Due == 0 {
		t.Fatalf("want one live chain carrying its schedule, have %+v", msgs)
	}
	m := msgs[0].m
	// Its delivery: SAP still refuses; Retry records the next try; the successor cannot be queued (the queue
	// service answers 503 once), so the function fails the message and the host redelivers it.
	r.clock.Advance(msgs[0].delay)
	r.setQueueFail(true)
	err := r.s.Resume(t.Context(), m)
	r.setQueueFail(false)
	if err == nil {
		t.Fatal("the delivery whose successor was not queued was acknowledged")
	}
	r.clock.Advance(30 * time.Second) // host.json's visibilityTimeout
	if err := r.s.Resume(t.Context(), m); err != nil {
		t.Logf("redelivery: %v", err)
	}
	if r.queue.len() == 0 {
		e := r.entry(t, dueID)
		wait := r.sweepUntilRequeued(t, dueID, 2*time.Hour)
		t.Errorf("the redelivered message (due %s) was dropped as overtaken by the schedule its own failed delivery wrote "+
			"(next attempt %s, state %s): order %s has no live queue message, and only the sweeper re-queues it, %s later",
			time.UnixMilli(m.Due).UTC().Format(time.TimeOnly), e.NextAttempt.Format(time.TimeOnly), e.State, dueID, wait)
	}
}

// What held: the messages that carry no schedule — the sweeper's, the safety net, an async push's, the requeue of
// an order another attempt owns — are never taken for an overtaken chain, whatever NextAttempt says.
func TestMessagesWithoutAScheduleAreNeverDroppedAsOvertaken(t *testing.T) {
	r := newRig(t)
	r.sap.answerNext(notSentAnswers(1)...)
	if _, err := r.s.Push(t.Context(), inline(dueID, "17100001", "PO-DUE-2", "MAT-1", "1"), false); err != nil {
		t.Fatal(err)
	}
	r.queue.take() // every message lost
	e := r.entry(t, dueID)
	if e.State != ledger.Accepted || e.NextAttempt.IsZero() {
		t.Fatalf("entry %s next %s", e.State, e.NextAttempt)
	}
	r.clock.Advance(r.s.SweepGrace + rigLease)
	if _, err := r.s.Sweep(t.Context(), r.table.Table.(*store.MemTable[json.RawMessage])); err != nil {
		t.Fatal(err)
	}
	msgs := r.queue.take()
	if len(msgs) != 1 || msgs[0].m.Due != 0 {
		t.Fatalf("sweeper queued %+v", msgs)
	}
	// SAP is back: the sweeper's message finishes the order.
	if err := r.s.Resume(t.Context(), msgs[0].m); err != nil {
		t.Fatal(err)
	}
	if e := r.entry(t, dueID); !e.State.Done() {
		t.Errorf("the sweeper's message left the order %s", e.State)
	}
}

// What held: a chain's message that meets an attempt owning the order is sent again for the lease's end without a
// schedule, so it outlives that attempt even if the attempt dies without recording anything.
func TestAChainMessageThatMeetsARunningAttemptOutlivesIt(t *testing.T) {
	r := newRig(t)
	r.sap.answerNext(notSentAnswers(1)...)
	req := inline(dueID, "17100001", "PO-DUE-3", "MAT-1", "1")
	if _, err := r.s.Push(t.Context(), req, false); err != nil {
		t.Fatal(err)
	}
	var chain QueueMessage
	for _, q := range r.queue.take() {
		if q.m.Due != 0 {
			chain = q.m
		}
	}
	// Another instance's push owns the order, then dies.
	packed, _ := r.s.packOrder(t.Context(), req.Order)
	if a, _, err := r.s.Ledger.Claim(t.Context(), ledger.ClaimRequest{Key: dueID, Payload: packed, Owner: "died"}); err != nil || a == nil {
		t.Fatalf("claim: %v %v", a, err)
	}
	if err := r.s.Resume(t.Context(), chain); err != nil {
		t.Fatal(err)
	}
	msgs := r.queue.take()
	if len(msgs) != 1 || msgs[0].m.Due != 0 {
		t.Fatalf("requeued %+v", msgs)
	}
	r.clock.Advance(msgs[0].delay)
	if err := r.s.Resume(t.Context(), msgs[0].m); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(rigWindow + rigLease) // the dead attempt's intent: looked up, held, then clear
	r.drain(t, 30, rigLease)
	if e := r.entry(t, dueID); !e.State.Done() || len(r.sap.ours(dueID)) != 1 {
		t.Errorf("entry %s, %d SAP orders", e.State, len(r.sap.ours(dueID)))
	}
}
