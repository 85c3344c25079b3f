package ledger_test

import (
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
)

func TestBackoffGrowsToItsCapAndHonoursAFloor(t *testing.T) {
	b := ledger.Backoff{Base: time.Second, Max: time.Minute}
	for n := range 12 {
		d := b.Delay(n, 0)
		hi := time.Second << n
		if hi > time.Minute {
			hi = time.Minute
		}
		if d < hi/2 || d > hi {
			t.Fatalf("retry %d waits %v, want within [%v, %v]", n, d, hi/2, hi)
		}
	}
	if d := b.Delay(0, 30*time.Second); d != 30*time.Second {
		t.Fatalf("a Retry-After of 30 s gave %v", d)
	}
}

func TestCheckRefusesALeaseTooShortForTheCall(t *testing.T) {
	l := newLedger(memTable(), nil)
	if err := l.Check(30 * time.Second); err != nil {
		t.Fatalf("60 s lease, 30 s call: %v", err)
	}
	if err := l.Check(55 * time.Second); err == nil {
		t.Fatal("a 55 s call fits no 60 s lease with 2 s margin and 2 × 5 s skew")
	}
	l.CommitWindow = time.Second
	if err := l.Check(10 * time.Second); err == nil {
		t.Fatal("a commit window shorter than the call")
	}
}
