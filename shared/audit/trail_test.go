package audit

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/store"
)

// rawTable is what the tests need of a table: the Trail's Table plus reads and transactions.
type rawTable interface {
	Table
	Get(ctx context.Context, partitionKey, rowKey string) (store.Row[json.RawMessage], error)
	Transact(ctx context.Context, partition string, ops []store.Op[json.RawMessage]) error
}

// forEachTable runs test against a fresh Azurite table and a fresh MemTable.
func forEachTable(t *testing.T, test func(t *testing.T, tbl rawTable)) {
	t.Helper()
	t.Run("azurite", func(t *testing.T) {
		tbl, err := store.NewTable[json.RawMessage](storetest.Account(t), storetest.Name(t, "audit"))
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		test(t, tbl)
	})
	t.Run("memory", func(t *testing.T) { test(t, store.NewMemTable[json.RawMessage]("audit")) })
}

// remoteMessages is a SAP-like message list of at least n bytes, mixing one- to four-byte
// characters and characters JSON escapes.
func remoteMessages(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for b.Len() < n {
		b.WriteString(`{"type":"E","id":"V1","message":"Größe ≠ 日本 😀 <b>&amp;</b>"},`)
	}
	b.WriteString("{}]")
	return b.String()
}

func TestTrailCutsLongStringsAndArchivesThemWhole(t *testing.T) {
	forEachTable(t, func(t *testing.T, tbl rawTable) {
		ctx := t.Context()
		msgs := remoteMessages(200_000)
		_, onAzurite := tbl.(*store.Table[json.RawMessage])
		archive := testArchive(t, onAzurite)
		at := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
		name, err := archive.Put(ctx, "salesorder", "order-1", "response", at, "inv-1", json.RawMessage(msgs))
		if err != nil {
			t.Fatalf("Archive.Put: %v", err)
		}
		trail := Trail{Table: tbl}
		e := Entry{Kind: "salesorder", Key: "order-1", InvocationID: "inv-1", Trigger: "queue", Attempt: 2, Outcome: "rejected",
			Error: strings.Repeat("e", 70_000), Messages: msgs, Detail: `{"note":"` + strings.Repeat("d", 100_000) + `"}`,
			DurationMS: 1234, RemoteMS: 1000, Archive: name, At: at}
		if err := trail.Insert(ctx, e); err != nil {
			t.Fatalf("Insert of an entry with a 200 KB message: %v", err)
		}
		var got []Entry
		for entry, err := range trail.List(ctx, "order-1") {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, entry)
		}
		if len(got) != 1 {
			t.Fatalf("List returned %d entries", len(got))
		}
		g := got[0]
		if !g.Truncated || g.Key != "order-1" || g.Outcome != "rejected" || g.Attempt != 2 || g.Archive != name || !g.At.Equal(at) {
			t.Fatalf("listed entry %+v", g)
		}
		for field, pair := range map[string][2]string{"Messages": {g.Messages, e.Messages}, "Error": {g.Error, e.Error}, "Detail": {g.Detail, e.Detail}} {
			cut, whole := pair[0], pair[1]
			if !strings.HasPrefix(whole, cut) || !utf8.ValidString(cut) || units(cut) > MaxPropertyUnits || units(cut) < MaxPropertyUnits-1 {
				t.Errorf("%s: %d units kept of %d, want a valid prefix of %d units", field, units(cut), units(whole), MaxPropertyUnits)
			}
		}
		var whole json.RawMessage
		if err := archive.Get(ctx, name, &whole); err != nil {
			t.Fatalf("Archive.Get: %v", err)
		}
		if string(whole) != msgs {
			t.Fatalf("the archive holds %d bytes, want the whole %d", len(whole), len(msgs))
		}
	})
}

// Strings that JSON-escape to six bytes a unit, in every field, would make a 2 MB body even after the
// per-property cut: the longest are cut further until the row fits, and the service accepts it.
func TestTrailFitsTheEntityLimit(t *testing.T) {
	forEachTable(t, func(t *testing.T, tbl rawTable) {
		worst := strings.Repeat("<\u2028", 25_000)
		e := Entry{Kind: worst, Key: "order-2", InvocationID: worst, Trigger: worst, Outcome: worst, RemoteID: worst,
			Error: worst, Messages: worst, Detail: worst, Archive: worst, At: time.Now()}
		trail := Trail{Table: tbl}
		row, err := trail.Row(e)
		if err != nil {
			t.Fatalf("Row: %v", err)
		}
		var bounded Entry
		if err := json.Unmarshal(row.Value, &bounded); err != nil {
			t.Fatal(err)
		}
		bounded.Key = e.Key
		jsonSize, serviceSize, err := sizes(&bounded, row.RowKey)
		if err != nil {
			t.Fatal(err)
		}
		// Within the budget by both measures, and not cut much further than it had to be.
		if jsonSize > entityBudget || serviceSize > entityBudget || jsonSize < entityBudget-64<<10 {
			t.Fatalf("row is %d JSON bytes and %d by the service's measure; budget %d", jsonSize, serviceSize, entityBudget)
		}
		if _, err := tbl.Insert(t.Context(), row); err != nil {
			t.Fatalf("the service refused the bounded row: %v", err)
		}
		for got, err := range trail.List(t.Context(), "order-2") {
			if err != nil {
				t.Fatal(err)
			}
			if !got.Truncated || !strings.HasPrefix(worst, got.Messages) {
				t.Fatalf("listed entry truncated=%v", got.Truncated)
			}
		}
	})
}

func TestTrailListsInTimeOrder(t *testing.T) {
	forEachTable(t, func(t *testing.T, tbl rawTable) {
		ctx := t.Context()
		base := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
		offsets := []time.Duration{time.Hour, 1, 0, 24 * time.Hour, time.Second, 999 * time.Millisecond}
		trail := Trail{Table: tbl}
		for i, d := range offsets {
			e := Entry{Kind: "salesorder", Key: "order-3", InvocationID: "inv", Attempt: i, Outcome: "x", At: base.Add(d).In(time.FixedZone("X", 7200))}
			if err := trail.Insert(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		// Neighbours the list must not show: the ledger record of the same key, and another key's trail.
		for _, row := range []store.Row[json.RawMessage]{
			{PartitionKey: "order-3", RowKey: "record", Value: json.RawMessage(`{"state":"sent"}`)},
			{PartitionKey: "order-3", RowKey: "aaa", Value: json.RawMessage(`{}`)},
		} {
			if _, err := tbl.Insert(ctx, row); err != nil {
				t.Fatal(err)
			}
		}
		if err := trail.Insert(ctx, Entry{Key: "order-4", At: base}); err != nil {
			t.Fatal(err)
		}
		var got []time.Duration
		for e, err := range trail.List(ctx, "order-3") {
			if err != nil {
				t.Fatal(err)
			}
			if e.Truncated {
				t.Errorf("short entry marked truncated: %+v", e)
			}
			got = append(got, e.At.Sub(base))
		}
		want := slices.Clone(offsets)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("List order %v, want %v", got, want)
		}
	})
}

// The ledger's step: its record update and the attempt's audit row in one transaction.
func TestTrailRowJoinsATransaction(t *testing.T) {
	forEachTable(t, func(t *testing.T, tbl rawTable) {
		ctx := t.Context()
		trail := Trail{Table: tbl}
		audit, err := trail.Row(Entry{Kind: "salesorder", Key: "order-5", InvocationID: "inv-9", Outcome: "created", RemoteID: "4711"})
		if err != nil {
			t.Fatal(err)
		}
		record := store.Row[json.RawMessage]{PartitionKey: "order-5", RowKey: "record", Value: json.RawMessage(`{"state":"done","sapOrder":"4711"}`)}
		if err := tbl.Transact(ctx, "order-5", []store.Op[json.RawMessage]{{Kind: store.OpUpsert, Row: record}, {Kind: store.OpInsert, Row: audit}}); err != nil {
			t.Fatalf("Transact: %v", err)
		}
		n := 0
		for e, err := range trail.List(ctx, "order-5") {
			if err != nil || e.RemoteID != "4711" || e.InvocationID != "inv-9" {
				t.Fatalf("entry %+v, %v", e, err)
			}
			n++
		}
		if _, err := tbl.Get(ctx, "order-5", "record"); err != nil || n != 1 {
			t.Fatalf("record: %v; %d audit entries", err, n)
		}
	})
}

func TestTrailRowKeys(t *testing.T) {
	at := time.Date(2026, 11, 27, 6, 0, 0, 1, time.FixedZone("CET", 3600))
	long := strings.Repeat("é", 200) // 400 bytes
	tests := []struct {
		name       string
		invocation string
		want       string
	}{
		{"plain", "0f8fad5b-d9cb", "audit-20261127T050000.000000001Z-0f8fad5b-d9cb"},
		{"refused characters become _", "a/b\\c#d?e\nf\u0085g", "audit-20261127T050000.000000001Z-a_b_c_d_e_f_g"},
		{"empty", "", "audit-20261127T050000.000000001Z-"},
		{"long ids are cut between characters", long, "audit-20261127T050000.000000001Z-" + strings.Repeat("é", 128)},
		{"invalid UTF-8", "a\xffb", "audit-20261127T050000.000000001Z-a_b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, err := Trail{}.Row(Entry{Key: "k", InvocationID: tt.invocation, At: at})
			if err != nil {
				t.Fatal(err)
			}
			if row.RowKey != tt.want || row.PartitionKey != "k" {
				t.Fatalf("RowKey %q, want %q", row.RowKey, tt.want)
			}
		})
	}
	t.Run("zero At is stamped by Now", func(t *testing.T) {
		row, err := Trail{Now: func() time.Time { return at }}.Row(Entry{Key: "k"})
		if err != nil || row.RowKey != "audit-20261127T050000.000000001Z-" {
			t.Fatalf("RowKey %q, %v", row.RowKey, err)
		}
	})
	for _, key := range []string{"", "a/b", "a#b", "a\tb", strings.Repeat("k", 1025)} {
		if _, err := (Trail{}).Row(Entry{Key: key, At: at}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Row with Key %.20q: err %v, want store.ErrInvalid", key, err)
		}
	}
}
