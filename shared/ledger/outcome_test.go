package ledger_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
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

// An attempt whose instance died mid-call leaves its intent: the taker must look up, and while the commit
// window runs a lookup that finds nothing holds the key instead of sending again.
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
	// A re-push right after (a new push carries its payload) must look up, and is held.
	b, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Payload: "again", Owner: "two"})
	res, err := b.Resolve(ctx, found(""))
	if err != nil || res.HoldUntil.IsZero() {
		t.Fatalf("a re-push after a give-up was not held: %+v %v", res, err)
	}
}

// Two instances whose clocks differ by less than the skew tolerance never have calls in flight at once: the
// slow-clocked owner stops sending before the fast-clocked taker can take over.
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

func TestAFailureKeepsItsFieldsAndIsMarkedReportedAfterwards(t *testing.T) {
	c := newClock()
	l := newLedger(memTable(), c.Now)
	ctx := t.Context()
	a, _, _ := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "one"})
	if err := a.MarkReported(ctx); err == nil {
		t.Fatal("an attempt still running was marked reported")
	}
	cause := problem.InvalidFields("the order cannot be mapped", []problem.FieldError{{Field: "lines/0/unit", Reason: "material M has no unit EA"}})
	if err := a.Fail(ctx, cause, false); err != nil {
		t.Fatal(err)
	}
	got, _, _ := l.Get(ctx, "k")
	if got.Entry.Kind != "invalid" || !strings.Contains(got.Entry.Fields, "lines/0/unit") || got.Entry.Reported {
		t.Fatalf("entry %+v", got.Entry)
	}
	if err := a.MarkReported(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _, _ = l.Get(ctx, "k"); !got.Entry.Reported || got.Entry.State != ledger.Failed {
		t.Fatalf("entry %+v", got.Entry)
	}
}
