package ledger_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/store"
)

func memTable() *store.MemTable[json.RawMessage] {
	return store.NewMemTable[json.RawMessage]("ledgertest")
}

func rawRow(pk, rk, v string) store.Row[json.RawMessage] {
	return store.Row[json.RawMessage]{PartitionKey: pk, RowKey: rk, Value: json.RawMessage(v)}
}

func TestLinksFindTheKey(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		l := newLedger(table, newClock().Now)
		ctx := t.Context()
		if _, found, err := l.FindLink(ctx, "164"); err != nil || found {
			t.Fatalf("a link before any was written: %v %v", found, err)
		}
		if err := l.PutLink(ctx, "164", "order-a"); err != nil {
			t.Fatal(err)
		}
		if err := l.PutLink(ctx, "164", "order-a"); err != nil {
			t.Fatalf("writing a link again must be harmless: %v", err)
		}
		k, found, err := l.FindLink(ctx, "164")
		if err != nil || !found || k.Key != "order-a" || k.Kind != "thing" {
			t.Fatalf("link: %+v %v %v", k, found, err)
		}
		if _, found, err := l.FindLink(ctx, "bad/id"); err != nil || found {
			t.Fatalf("an id unusable as a key: %v %v", found, err)
		}
	})
}

func TestStuck(t *testing.T) {
	l := newLedger(memTable(), nil)
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	grace := 10 * time.Minute
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name string
		e    ledger.Entry
		want bool
	}{
		{"queued, its retry is due later", ledger.Entry{State: ledger.Accepted, UpdatedAt: ago(time.Hour), NextAttempt: now.Add(time.Minute)}, false},
		{"queued, its retry is overdue", ledger.Entry{State: ledger.Accepted, UpdatedAt: ago(time.Hour), NextAttempt: ago(11 * time.Minute)}, true},
		{"queued just now", ledger.Entry{State: ledger.Accepted, UpdatedAt: ago(time.Minute)}, false},
		{"running within its lease", ledger.Entry{State: ledger.InProgress, LeaseUntil: now.Add(time.Second)}, false},
		{"running long past its lease", ledger.Entry{State: ledger.InProgress, LeaseUntil: ago(time.Hour)}, true},
		{"created, write-back overdue", ledger.Entry{State: ledger.Created, UpdatedAt: ago(time.Hour)}, true},
		{"completed", ledger.Entry{State: ledger.Completed, UpdatedAt: ago(time.Hour)}, false},
		{"rejected, reported", ledger.Entry{State: ledger.Rejected, Reported: true, UpdatedAt: ago(time.Hour)}, false},
		{"rejected, not reported", ledger.Entry{State: ledger.Rejected, UpdatedAt: ago(time.Hour)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.Stuck(tt.e, now, grace); got != tt.want {
				t.Fatalf("Stuck = %v, want %v", got, tt.want)
			}
		})
	}
}

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
