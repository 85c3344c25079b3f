package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
)

func TestFreshClaimCreatesOnceAndEnds(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		a, e, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k1", Ref: "REF1", Payload: "p1", Data: "d1", Owner: "inv1"})
		if err != nil || a == nil {
			t.Fatalf("claim: %v %v", a, err)
		}
		if e.State != ledger.InProgress || !e.Unresolved() || e.Sends != 1 {
			t.Fatalf("a fresh run claim must record its intent in the insert: %+v", e)
		}
		res, err := a.Resolve(ctx, func(context.Context, ledger.Entry) (string, error) {
			t.Fatal("a fresh claim must not look anything up")
			return "", nil
		})
		if err != nil || res.Result != "" || !res.HoldUntil.IsZero() {
			t.Fatalf("resolve on a fresh claim: %+v %v", res, err)
		}
		var calls atomic.Int32
		id, err := a.Apply(ctx, create("4711", nil, &calls))
		if err != nil || id != "4711" {
			t.Fatalf("apply: %q %v", id, err)
		}
		if err := a.Created(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		got, ok, err := l.Get(ctx, "k1")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		g := got.Entry
		if g.State != ledger.Completed || g.Result != "4711" || g.Unresolved() || !g.Reported || g.Ref != "REF1" || g.Payload != "p1" || g.Data != "d1" {
			t.Fatalf("entry after completion: %+v", g)
		}
		// A replayed claim does not own it and sees the result.
		a2, e2, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k1", Ref: "other", Owner: "inv2"})
		if err != nil || a2 != nil || e2.Result != "4711" {
			t.Fatalf("replay: %v %+v %v", a2, e2, err)
		}
		if calls.Load() != 1 {
			t.Fatalf("calls = %d", calls.Load())
		}
	})
}

func TestConcurrentClaimsElectOneOwner(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		var owners atomic.Int32
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				a, _, err := l.Claim(t.Context(), ledger.ClaimRequest{Key: "same", Ref: "R", Owner: fmt.Sprint("inv", i)})
				if err != nil {
					t.Error(err)
				}
				if a != nil {
					owners.Add(1)
				}
			})
		}
		wg.Wait()
		if owners.Load() != 1 {
			t.Fatalf("%d owners of one key", owners.Load())
		}
	})
}

func TestTakeoverAfterLeaseHoldsAnUnresolvedSend(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "dead"})
		sentUntil := a.Entry().SentUntil
		// Within the lease plus the skew tolerance nobody else may own it.
		c.Advance(l.Lease + l.Skew - time.Millisecond)
		if b, _, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "early"}); err != nil || b != nil {
			t.Fatalf("taken over before the lease and skew passed: %v %v", b, err)
		}
		c.Advance(2 * time.Millisecond)
		b, _, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "taker"})
		if err != nil || b == nil {
			t.Fatalf("not taken over after the lease: %v", err)
		}
		var looked atomic.Int32
		res, err := b.Resolve(ctx, func(_ context.Context, e ledger.Entry) (string, error) {
			looked.Add(1)
			if e.Ref != "R" {
				t.Errorf("lookup by %q, want the first claim's reference", e.Ref)
			}
			return "", nil
		})
		if err != nil || looked.Load() != 1 {
			t.Fatal(err, looked.Load())
		}
		want := sentUntil.Add(l.CommitWindow + l.Skew)
		if !res.HoldUntil.Equal(want) {
			t.Fatalf("hold until %v, want %v", res.HoldUntil, want)
		}
		var calls atomic.Int32
		if _, err := b.Apply(ctx, create("1", nil, &calls)); !errors.Is(err, ledger.ErrUnresolved) || calls.Load() != 0 {
			t.Fatalf("applied while unresolved: %v, %d calls", err, calls.Load())
		}
		if err := b.Retry(ctx, errors.New("held"), res.HoldUntil); err != nil {
			t.Fatal(err)
		}
		got, _, _ := l.Get(ctx, "k")
		if got.Entry.State != ledger.Accepted || !got.Entry.SentUntil.Equal(sentUntil) || !got.Entry.HoldUntil.Equal(want) {
			t.Fatalf("a hold must keep the intent: %+v", got.Entry)
		}
	})
}

func TestNoTimeLeftSendsNothingAndClearsTheFreshIntent(t *testing.T) {
	c := newClock()
	l := newLedger(memTable(), c.Now)
	ctx := t.Context()
	a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
	c.Advance(l.Lease - l.Skew - l.Margin - 9*time.Second) // 10 s call, 9 s left before the send deadline
	var calls atomic.Int32
	if _, err := a.Apply(ctx, create("1", nil, &calls)); !errors.Is(err, ledger.ErrNoTime) || calls.Load() != 0 {
		t.Fatalf("started a call the lease does not cover: %v", err)
	}
	if err := a.Retry(ctx, ledger.ErrNoTime, c.Now()); err != nil {
		t.Fatal(err)
	}
	got, _, _ := l.Get(ctx, "k")
	if got.Entry.Unresolved() {
		t.Fatalf("nothing was sent, yet the entry is held: %+v", got.Entry)
	}
	// The caller's own deadline counts too.
	b, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "two"})
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := b.Apply(short, create("1", nil, &calls)); !errors.Is(err, ledger.ErrNoTime) {
		t.Fatalf("started a call past the caller's deadline: %v", err)
	}
}

func TestSkewedClocksNeverOverlap(t *testing.T) {
	c := newClock()
	table := memTable()
	const drift = 4 * time.Second // below the 5 s tolerance
	slow := newLedger(table, c.offset(-drift))
	fast := newLedger(table, c.offset(+drift))
	ctx := t.Context()
	a, _, _ := slow.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "slow"})
	timeout := 10 * time.Second
	// The slow owner's last chance to start a call, by its own clock.
	lastStart := a.Entry().LeaseUntil.Add(-slow.Skew - slow.Margin - timeout)
	lastEnd := lastStart.Add(timeout).Add(drift) // in true time
	for step := time.Duration(0); step < 2*slow.Lease; step += 250 * time.Millisecond {
		trueNow := c.Now()
		b, _, err := fast.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "fast"})
		if err != nil {
			t.Fatal(err)
		}
		if b != nil {
			if !trueNow.After(lastEnd) {
				t.Fatalf("taken over at true %v while the slow owner's call may run until %v", trueNow, lastEnd)
			}
			return
		}
		c.Advance(250 * time.Millisecond)
	}
	t.Fatal("never taken over")
}

func TestApplyOutlivesItsCaller(t *testing.T) {
	c := newClock()
	l := newLedger(memTable(), c.Now)
	ctx, cancel := context.WithCancel(t.Context())
	a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
	eff := ledger.Effect{Timeout: 10 * time.Second, Call: func(cctx context.Context, _ ledger.Entry) (string, error) {
		cancel() // the HTTP caller hangs up mid-call
		if cctx.Err() != nil {
			return "", cctx.Err()
		}
		if _, ok := cctx.Deadline(); !ok {
			return "", errors.New("no deadline")
		}
		return "8", nil
	}}
	if id, err := a.Apply(ctx, eff); err != nil || id != "8" {
		t.Fatalf("the call was abandoned with its caller: %q %v", id, err)
	}
}

func TestAStaleAttemptCannotRecord(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
		c.Advance(l.Lease + l.Skew + time.Second)
		b, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "two"})
		if b == nil {
			t.Fatal("not taken over")
		}
		if err := a.Retry(ctx, errGateway, c.Now()); !errors.Is(err, ledger.ErrLost) {
			t.Fatalf("a stale attempt recorded over the taker: %v", err)
		}
	})
}

func TestQueueIntent(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		a, e, err := l.Claim(ctx, ledger.ClaimRequest{Key: "q", Ref: "R", Payload: "p", Intent: ledger.Queue})
		if err != nil || a != nil || e.State != ledger.Accepted || e.Unresolved() {
			t.Fatalf("queue claim: %v %+v %v", a, e, err)
		}
		// The queue then runs it.
		snap, _, _ := l.Get(ctx, "q")
		b, _, err := l.Take(ctx, "q", snap, ledger.ClaimRequest{Owner: "queue"})
		if err != nil || b == nil {
			t.Fatalf("take: %v", err)
		}
		// A second queue claim while it runs does not own it.
		if x, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "q", Intent: ledger.Queue}); x != nil {
			t.Fatal("owned twice")
		}
		var calls atomic.Int32
		if _, err := b.Apply(ctx, create("3", nil, &calls)); err != nil {
			t.Fatalf("a taken claim records its intent and sends: %v", err)
		}
	})
}
