package ledger_test

import (
	"sync/atomic"
	"testing"

	"github.com/d365sap/d365sap/shared/ledger"
)

// Take claims an entry the caller has just read, and the caller decided on that read (the queue does not resume
// an order that ended). When the entry changed in between, Take falls back to Claim, which decides again by
// itself: it takes over an entry that was rejected (or failed) meanwhile, as if it had been pushed again.
func TestTakeOfAStaleSnapshotDoesNotTakeAnEntryThatEndedMeanwhile(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		if _, _, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Payload: "queued", Intent: ledger.Queue}); err != nil {
			t.Fatal(err)
		}
		stale, _, err := l.Get(ctx, "k") // the queue's read: accepted, so it goes on
		if err != nil {
			t.Fatal(err)
		}
		// Meanwhile a push owns it and the remote refuses the call.
		b, _, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Payload: "pushed", Owner: "push"})
		if err != nil || b == nil {
			t.Fatalf("push claim: %v", err)
		}
		var calls atomic.Int32
		_, aerr := b.Apply(ctx, create("", errRejected, &calls))
		if err := b.Rejected(ctx, aerr.Error(), `[{"code":"V1/458"}]`, true); err != nil {
			t.Fatal(err)
		}
		q, e, err := l.Take(ctx, "k", stale, ledger.ClaimRequest{Owner: "queue"})
		if err != nil {
			t.Fatal(err)
		}
		if q != nil {
			t.Fatalf("the queue's stale take now owns an entry that was rejected after its read (entry %s, attempts %d)", e.State, e.Attempts)
		}
	})
}

// Only a new push (one carrying its payload) takes an ended entry again; a queue message or a sweep does not.
func TestAnEndedEntryIsTakenOnlyByAPushCarryingItsPayload(t *testing.T) {
	c := newClock()
	l := newLedger(memTable(), c.Now)
	ctx := t.Context()
	a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Payload: "p", Owner: "one"})
	var calls atomic.Int32
	_, aerr := a.Apply(ctx, create("", errRejected, &calls))
	if err := a.Rejected(ctx, aerr.Error(), "", true); err != nil {
		t.Fatal(err)
	}
	if q, e, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "queue"}); err != nil || q != nil || e.State != ledger.Rejected {
		t.Fatalf("a claim without a payload took a rejected entry: %v %+v %v", q, e, err)
	}
	snap, _, _ := l.Get(ctx, "k")
	if q, _, err := l.Take(ctx, "k", snap, ledger.ClaimRequest{Owner: "queue"}); err != nil || q != nil {
		t.Fatalf("the queue took a rejected entry: %v %v", q, err)
	}
	if b, e, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Payload: "fixed", Owner: "push"}); err != nil || b == nil || e.Payload != "fixed" {
		t.Fatalf("a push again was refused: %v %+v %v", b, e, err)
	}
}
