package ledger_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/store"
)

// clock is a settable clock shared by the ledgers of a test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// offset is another instance's clock: the shared clock plus a constant error.
func (c *clock) offset(d time.Duration) func() time.Time {
	return func() time.Time { return c.Now().Add(d) }
}

// backends runs a test against the in-memory twin and, when Azurite is there (always in CI), against Azurite.
func backends(t *testing.T, run func(t *testing.T, table ledger.Table)) {
	t.Run("memory", func(t *testing.T) { run(t, store.NewMemTable[json.RawMessage]("ledgertest")) })
	t.Run("azurite", func(t *testing.T) {
		acc := storetest.Account(t)
		tbl, err := store.NewTable[json.RawMessage](acc, storetest.Name(t, "ledger"))
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		run(t, tbl)
	})
}

// newLedger is a ledger with test-sized times: a 60 s lease, a 10 min commit window, 5 s skew, 2 s margin.
func newLedger(table ledger.Table, now func() time.Time) *ledger.Ledger {
	return &ledger.Ledger{Table: table, Kind: "thing", Lease: 60 * time.Second, CommitWindow: 10 * time.Minute,
		Skew: 5 * time.Second, Margin: 2 * time.Second, Now: now}
}
