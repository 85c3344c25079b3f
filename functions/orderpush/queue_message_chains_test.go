package orderpush

import (
	"context"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
)

// Every queue message that meets an outage, a hold or a live owner sends a successor and is acknowledged; only
// an ended or completed order ends a chain. Chains are never merged.

const chainID = "0c0ffee0-0000-4000-8000-00000000f001"

// SAP is down for a while; the flow retries (Power Automate's default policy retries 4 times, and a flow run per
// modification of the order adds more). Each synchronous push leaves a safety-net message and a retry message,
// each of which keeps sending a successor: the order soon has one message chain per push, each looking at SAP
// (and, during a hold, looking the order up) every backoff, and each still alive until the order is done.
func TestRetriesOfAnOrderDuringAnOutageDoNotMultiplyItsQueueMessages(t *testing.T) {
	r := newRig(t)
	notSent := make([]createAnswer, 200)
	for i := range notSent {
		notSent[i] = createAnswer{err: sap.ErrNotSent}
	}
	r.sap.answerNext(notSent...)
	req := inline(chainID, "17100001", "PO-CHAIN-1", "MAT-1", "1")
	const pushes = 10
	for range pushes {
		if res, err := r.s.Push(t.Context(), req, false); err != nil || !res.Accepted {
			t.Fatalf("push during the outage: %+v %v", res, err)
		}
		r.clock.Advance(time.Minute)
	}
	// A few rounds of the queue working off its messages, with SAP still down.
	for range 5 {
		msgs := r.queue.take()
		r.clock.Advance(time.Minute)
		for _, q := range msgs {
			_ = r.s.Resume(t.Context(), q.m)
		}
	}
	if n := r.queue.len(); n > 3 {
		t.Errorf("after %d pushes and 5 rounds of the queue, order %s has %d live queue messages, each retrying against SAP", pushes, chainID, n)
	}
}

// Dynamics refuses the write-back for good — the order was closed (fulfilled, cancelled) meanwhile, so Dataverse
// answers 400 "cannot be updated because it is read-only", which classify.Dataverse itself calls Rejected, a
// permanent problem. The queue sends the write-back again after every backoff, forever; nothing ends it, nobody is
// told, and the status stays "created".
func TestAWriteBackDynamicsRefusesForGoodDoesNotCirculateForever(t *testing.T) {
	r := newRig(t)
	r.dv.setBefore(func(context.Context, string, dataverse.Record) error {
		return &dataverse.Error{Status: 400, Code: "0x80040203", Message: "The object cannot be updated because it is read-only.", Kind: dataverse.KindBadRequest}
	})
	res, err := r.s.Push(t.Context(), inline(chainID, "17100001", "PO-CLOSED-1", "MAT-1", "1"), false)
	if err != nil || !res.WriteBackPending {
		t.Fatalf("push: %+v %v", res, err)
	}
	for round := 0; round < 200 && r.queue.len() > 0; round++ {
		msgs := r.queue.take()
		r.clock.Advance(5 * time.Minute)
		for _, q := range msgs {
			_ = r.s.Resume(t.Context(), q.m)
		}
	}
	if n := r.queue.len(); n > 0 {
		t.Errorf("after 200 rounds (over 16 hours of backoff) the refused write-back is still queued (%d message(s)); entry %s, %d Dataverse refusals",
			n, r.entry(t, chainID).State, r.dvRefusals())
	}
	if e := r.entry(t, chainID); e.State == ledger.Created {
		t.Errorf("the entry still says the write-back is pending: %s, last error %q", e.State, e.LastError)
	}
}

func (r *rig) dvRefusals() int {
	r.dv.mu.Lock()
	defer r.dv.mu.Unlock()
	return r.dv.refused
}
