package ledger_test

import (
	"encoding/json"
	"testing"

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
