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

var errGateway = errors.New("504 gateway timeout")

func create(id string, err error, calls *atomic.Int32) ledger.Effect {
	return ledger.Effect{Timeout: 10 * time.Second,
		Call: func(ctx context.Context, e ledger.Entry) (string, error) {
			calls.Add(1)
			return id, err
		},
		Proof: func(err error) ledger.Proof {
			if errors.Is(err, errRejected) {
				return ledger.NotApplied
			}
			return ledger.Unknown
		}}
}

var errRejected = errors.New("400 sold-to party does not exist")

func found(id string) ledger.Find {
	return func(context.Context, ledger.Entry) (string, error) { return id, nil }
}

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

// An attempt whose instance died mid-call leaves its intent: the taker must look up, and while the commit
// window runs a lookup that finds nothing holds the key instead of sending again.
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

func TestUnknownOutcomeIsFoundByALaterLookup(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
		var calls atomic.Int32
		_, err := a.Apply(ctx, create("", errGateway, &calls))
		var ae *ledger.ApplyError
		if !errors.As(err, &ae) || ae.Proof != ledger.Unknown {
			t.Fatalf("want an unknown outcome, got %v", err)
		}
		if err := a.Retry(ctx, err, c.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// A caller's retry a second later: the lookup finds what the 504 hid.
		c.Advance(time.Second)
		b, _, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "two"})
		if err != nil || b == nil {
			t.Fatalf("claim after a released attempt: %v", err)
		}
		res, err := b.Resolve(ctx, found("900"))
		if err != nil || res.Result != "900" {
			t.Fatalf("resolve: %+v %v", res, err)
		}
		if err := b.Created(ctx, res.Result, false); err != nil {
			t.Fatal(err)
		}
		got, _, _ := l.Get(ctx, "k")
		if got.Entry.State != ledger.Created || got.Entry.Result != "900" || got.Entry.Unresolved() || calls.Load() != 1 {
			t.Fatalf("entry %+v, %d calls", got.Entry, calls.Load())
		}
	})
}

// A lookup proves absence only when it started after the window: one that started just before and returned after
// does not.
func TestCommitWindowGatesASecondSend(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
		var calls atomic.Int32
		_, _ = a.Apply(ctx, create("", errGateway, &calls))
		_ = a.Retry(ctx, errGateway, time.Time{})
		hold := a.Entry().HoldUntil

		c.Advance(hold.Sub(c.Now()) - time.Millisecond)
		b, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "two"})
		slow := func(context.Context, ledger.Entry) (string, error) { c.Advance(time.Second); return "", nil }
		res, err := b.Resolve(ctx, slow)
		if err != nil || res.HoldUntil.IsZero() {
			t.Fatalf("a lookup that started inside the window must hold: %+v %v", res, err)
		}
		_ = b.Retry(ctx, nil, res.HoldUntil)

		d, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "three"})
		res, err = d.Resolve(ctx, found(""))
		if err != nil || !res.HoldUntil.IsZero() || res.Result != "" {
			t.Fatalf("after the window, nothing found: %+v %v", res, err)
		}
		if id, err := d.Apply(ctx, create("77", nil, &calls)); err != nil || id != "77" {
			t.Fatalf("second send: %q %v", id, err)
		}
		if err := d.Created(ctx, "77", true); err != nil {
			t.Fatal(err)
		}
		got, _, _ := l.Get(ctx, "k")
		if got.Entry.Sends != 2 || calls.Load() != 2 || got.Entry.Result != "77" {
			t.Fatalf("entry %+v, %d calls", got.Entry, calls.Load())
		}
	})
}

func TestRejectionClearsTheIntentAndARePushSendsAgain(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Payload: "old", Owner: "one"})
		var calls atomic.Int32
		_, err := a.Apply(ctx, create("", errRejected, &calls))
		if err := a.Rejected(ctx, err.Error(), `[{"code":"V1/320"}]`, false); err != nil {
			t.Fatal(err)
		}
		got, _, _ := l.Get(ctx, "k")
		if got.Entry.State != ledger.Rejected || got.Entry.Unresolved() || got.Entry.Messages == "" {
			t.Fatalf("after a rejection: %+v", got.Entry)
		}
		b, e, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Payload: "fixed", Owner: "two"})
		if err != nil || b == nil || e.Payload != "fixed" || e.Attempts != 2 {
			t.Fatalf("re-push after the fix: %v %+v %v", b, e, err)
		}
		if res, _ := b.Resolve(ctx, func(context.Context, ledger.Entry) (string, error) {
			t.Fatal("nothing unresolved: no lookup")
			return "", nil
		}); res.Result != "" {
			t.Fatal(res)
		}
		if _, err := b.Apply(ctx, create("5", nil, &calls)); err != nil {
			t.Fatal(err)
		}
		got, _, _ = l.Get(ctx, "k")
		if !got.Entry.Unresolved() || got.Entry.Sends != 2 {
			t.Fatalf("a takeover records its intent before sending: %+v", got.Entry)
		}
	})
}

func TestRejectedNeedsTheRemotesRefusal(t *testing.T) {
	c := newClock()
	l := newLedger(memTable(), c.Now)
	a, _, _ := l.Claim(t.Context(), ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
	var calls atomic.Int32
	_, _ = a.Apply(t.Context(), create("", errGateway, &calls))
	if err := a.Rejected(t.Context(), "no", "", false); err == nil {
		t.Fatal("an unknown outcome was recorded as a rejection")
	}
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

func TestFailKeepsAnUnresolvedSend(t *testing.T) {
	c := newClock()
	l := newLedger(memTable(), c.Now)
	ctx := t.Context()
	a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
	var calls atomic.Int32
	_, _ = a.Apply(ctx, create("", errGateway, &calls))
	if err := a.Fail(ctx, errors.New("the queue gave up"), false); err != nil {
		t.Fatal(err)
	}
	got, _, _ := l.Get(ctx, "k")
	if got.Entry.State != ledger.Failed || !got.Entry.Unresolved() || got.Entry.HoldUntil.IsZero() {
		t.Fatalf("giving up cleared the hold: %+v", got.Entry)
	}
	// A re-push right after must look up, and is held.
	b, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "two"})
	res, err := b.Resolve(ctx, found(""))
	if err != nil || res.HoldUntil.IsZero() {
		t.Fatalf("a re-push after a give-up was not held: %+v %v", res, err)
	}
}

// Two instances whose clocks differ by less than the skew tolerance never have calls in flight at once: the
// slow-clocked owner stops sending before the fast-clocked taker can take over.
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

func TestCreatedWithAnAuditRowInOneTransaction(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		c := newClock()
		l := newLedger(table, c.Now)
		ctx := t.Context()
		a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
		audit := rawRow("k", "audit-1", `{"outcome":"created"}`)
		if err := a.Created(ctx, "12", true, audit); err != nil {
			t.Fatal(err)
		}
		if _, err := table.Get(ctx, "k", "audit-1"); err != nil {
			t.Fatalf("the audit row was not written with the entry: %v", err)
		}
		// The attempt can still change the entry afterwards (it read the ETag back).
		snap, _, _ := l.Get(ctx, "k")
		if _, err := l.Update(ctx, snap, func(e *ledger.Entry) { e.Data = "after" }); err != nil {
			t.Fatal(err)
		}
	})
}

func TestUpdateRefusesToClearAnUnresolvedSend(t *testing.T) {
	c := newClock()
	l := newLedger(memTable(), c.Now)
	ctx := t.Context()
	a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
	var calls atomic.Int32
	_, _ = a.Apply(ctx, create("", errGateway, &calls))
	_ = a.Retry(ctx, errGateway, c.Now())
	snap, _, _ := l.Get(ctx, "k")
	if _, err := l.Update(ctx, snap, func(e *ledger.Entry) { e.SentUntil = time.Time{}; e.State = ledger.Failed }); err == nil {
		t.Fatal("an update cleared an unresolved send")
	}
}
