package ledger_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
)

// The commit window is measured from SentUntil, written by the sender's clock, and checked by the taker's. A
// sender whose clock runs behind and a taker whose clock runs ahead, together by just under the tolerance: the
// taker may prove absence only once the window has passed in true time.
func TestASkewedTakerWithinTheToleranceStillWaitsOutTheCommitWindow(t *testing.T) {
	c := newClock()
	table := memTable()
	const drift = 2400 * time.Millisecond // each way: 4.8 s apart, under the 5 s tolerance
	slow := newLedger(table, c.offset(-drift))
	fast := newLedger(table, c.offset(+drift))
	ctx := t.Context()
	a, _, _ := slow.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Owner: "slow"})
	var calls atomic.Int32
	// The call runs until the last moment its lease allows, by the slow clock, and its answer is lost.
	eff := create("", errGateway, &calls)
	eff.Call = func(context.Context, ledger.Entry) (string, error) {
		calls.Add(1)
		c.Advance(a.Entry().SentUntil.Sub(slow.Now()))
		return "", errGateway
	}
	_, _ = a.Apply(ctx, eff)
	lastReceive := c.Now() // true time: the latest moment the remote may have received it
	_ = a.Retry(ctx, errGateway, time.Time{})
	for step := time.Duration(0); step < slow.CommitWindow+2*slow.Lease; step += 500 * time.Millisecond {
		c.Advance(500 * time.Millisecond)
		b, _, err := fast.Claim(ctx, ledger.ClaimRequest{Key: "k", Owner: "fast"})
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			continue
		}
		started := c.Now()
		res, err := b.Resolve(ctx, found(""))
		if err != nil {
			t.Fatal(err)
		}
		if res.HoldUntil.IsZero() {
			if started.Sub(lastReceive) < slow.CommitWindow {
				t.Fatalf("absence proved by a lookup %s after the last possible receipt, inside the %s window", started.Sub(lastReceive), slow.CommitWindow)
			}
			return
		}
		_ = b.Retry(ctx, nil, res.HoldUntil)
	}
	t.Fatal("never resolved")
}
