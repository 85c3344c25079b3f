package ledger_test

import (
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
)

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
