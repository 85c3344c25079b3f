package store

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

func TestTransactETags(t *testing.T) { forEachTable(t, testTransactETags) }

func testTransactETags(t *testing.T, tbl entityStore[checkpoint]) {
	ctx := t.Context()
	old, err := tbl.Insert(ctx, Row[checkpoint]{PartitionKey: "e", RowKey: "r0", Value: checkpoint{Cursor: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbl.Insert(ctx, Row[checkpoint]{PartitionKey: "e", RowKey: "r3"}); err != nil {
		t.Fatal(err)
	}
	ops := []Op[checkpoint]{
		{Kind: OpInsert, Row: Row[checkpoint]{PartitionKey: "e", RowKey: "r1", Value: checkpoint{Cursor: "1"}}},
		{Kind: OpUpsert, Row: Row[checkpoint]{PartitionKey: "e", RowKey: "r2", Value: checkpoint{Cursor: "2"}}},
		{Kind: OpUpdate, Row: Row[checkpoint]{PartitionKey: "e", RowKey: "r0", ETag: old, Value: checkpoint{Cursor: "0b"}}},
		{Kind: OpDelete, Row: Row[checkpoint]{PartitionKey: "e", RowKey: "r3", ETag: azcore.ETagAny}},
	}
	res, err := tbl.TransactETags(ctx, "e", ops)
	if err != nil {
		t.Fatalf("TransactETags: %v", err)
	}
	if len(res.ETags) != len(ops) || res.ETags[3] != "" {
		t.Fatalf("ETags %q: want one per operation, none for the delete", res.ETags)
	}
	for i, rk := range []string{"r1", "r2", "r0"} {
		got, err := tbl.Get(ctx, "e", rk)
		if err != nil {
			t.Fatal(err)
		}
		if res.ETags[i] == "" || res.ETags[i] != got.ETag {
			t.Errorf("operation %d (%s): ETag %q, Get says %q", i, rk, res.ETags[i], got.ETag)
		}
	}
	// The returned ETag guards the next update; the one before the transaction no longer does.
	if _, err := tbl.Update(ctx, Row[checkpoint]{PartitionKey: "e", RowKey: "r0", ETag: old}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("Update with the old ETag: err %v, want ErrPreconditionFailed", err)
	}
	if _, err := tbl.Update(ctx, Row[checkpoint]{PartitionKey: "e", RowKey: "r0", ETag: res.ETags[2], Value: checkpoint{Cursor: "0c"}}); err != nil {
		t.Fatalf("Update with the ETag the transaction returned: %v", err)
	}
}

// The ledger's step: its record's ETag-guarded update and an audit row of another type, as one
// entity-group transaction in the record's partition.
func TestTransactMixesRowTypes(t *testing.T) { forEachRawTable(t, testTransactMixesRowTypes) }

func testTransactMixesRowTypes(t *testing.T, tbl rawStore) {
	ctx := t.Context()
	type note struct {
		Outcome   string `json:"outcome"`
		Truncated bool   `json:"truncated"`
	}
	rec, err := Raw(Row[record]{PartitionKey: "order-9", RowKey: "record", Value: record{State: "claimed", Attempt: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ETag, err = tbl.Insert(ctx, rec); err != nil {
		t.Fatal(err)
	}
	claimed := rec

	advance := func(state, auditKey string, from Row[json.RawMessage]) []Op[json.RawMessage] {
		t.Helper()
		r, err := Decode[record](from)
		if err != nil {
			t.Fatal(err)
		}
		r.Value.State = state
		upd, err := Raw(r)
		if err != nil {
			t.Fatal(err)
		}
		audit, err := Raw(Row[note]{PartitionKey: "order-9", RowKey: auditKey, Value: note{Outcome: state, Truncated: true}})
		if err != nil {
			t.Fatal(err)
		}
		return []Op[json.RawMessage]{{Kind: OpInsert, Row: audit}, {Kind: OpUpdate, Row: upd}}
	}

	res, err := tbl.TransactETags(ctx, "order-9", advance("sent", "audit-1", claimed))
	if err != nil {
		t.Fatalf("TransactETags: %v", err)
	}
	got, err := tbl.Get(ctx, "order-9", "record")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Decode[record](got); err != nil || r.Value.State != "sent" || got.ETag != res.ETags[1] {
		t.Fatalf("record after the transaction: %+v, %v (ETag %s, returned %s)", r.Value, err, got.ETag, res.ETags[1])
	}
	a, err := tbl.Get(ctx, "order-9", "audit-1")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := Decode[note](a); err != nil || n.Value != (note{Outcome: "sent", Truncated: true}) {
		t.Fatalf("audit row: %+v, %v", n.Value, err)
	}

	// A second run still holding the claim's ETag is refused whole: no audit row, record unchanged.
	err = tbl.Transact(ctx, "order-9", advance("failed", "audit-2", claimed))
	var te *TransactionError
	if !errors.As(err, &te) || te.Index != 1 || te.StatusCode != http.StatusPreconditionFailed || !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale transaction: err %v (%+v), want operation 1 refused with 412", err, te)
	}
	if _, err := tbl.Get(ctx, "order-9", "audit-2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("audit-2 after the refused transaction: err %v, want ErrNotFound", err)
	}
	var keys []string
	for row, err := range tbl.Query(ctx, "order-9", nil) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, row.RowKey)
		if row.RowKey == "record" && row.ETag != got.ETag {
			t.Fatalf("record changed by the refused transaction")
		}
	}
	if !slices.Equal(keys, []string{"audit-1", "record"}) {
		t.Fatalf("partition holds %v", keys)
	}

	// Delete (ETag-guarded) and upsert of raw rows of a third type round out the kinds.
	marker := Row[json.RawMessage]{PartitionKey: "order-9", RowKey: "marker", Value: json.RawMessage(`{"sweptAt":"2026-11-27T05:00:00Z","n":3}`)}
	if err := tbl.Transact(ctx, "order-9", []Op[json.RawMessage]{
		{Kind: OpDelete, Row: Row[json.RawMessage]{PartitionKey: "order-9", RowKey: "audit-1", ETag: res.ETags[0]}},
		{Kind: OpUpsert, Row: marker},
	}); err != nil {
		t.Fatalf("Transact delete and upsert: %v", err)
	}
	if _, err := tbl.Get(ctx, "order-9", "audit-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("audit-1 after its delete: err %v", err)
	}
	m, err := tbl.Get(ctx, "order-9", "marker")
	if err != nil {
		t.Fatal(err)
	}
	var mv struct {
		SweptAt string `json:"sweptAt"`
		N       int    `json:"n"`
	}
	if err := json.Unmarshal(m.Value, &mv); err != nil || mv.SweptAt != "2026-11-27T05:00:00Z" || mv.N != 3 {
		t.Fatalf("upserted raw row %s: %v", m.Value, err)
	}
}

// The service answers every operation of a committed changeset in order; Azurite adds Content-IDs,
// the service does not, and a delete's answer has no ETag.
func TestBatchETags(t *testing.T) {
	const ct = "multipart/mixed; boundary=batchresponse_1"
	part := func(status, etag string) string {
		s := "--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
			"HTTP/1.1 " + status + "\r\nX-Content-Type-Options: nosniff\r\nDataServiceVersion: 1.0;\r\n"
		if etag != "" {
			s += "ETag: " + etag + "\r\n"
		}
		return s + "\r\n\r\n"
	}
	body := func(parts ...string) []byte {
		s := "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
		for _, p := range parts {
			s += p
		}
		return []byte(s + "--changesetresponse_2--\r\n--batchresponse_1--\r\n")
	}
	tag := `W/"datetime'2026-11-27T05%3A00%3A00.1234567Z'"`
	tests := []struct {
		name string
		body []byte
		want []azcore.ETag
	}{
		{"insert, update, delete", body(part("204 No Content", tag), part("204 No Content", tag+"2"), part("204 No Content", "")),
			[]azcore.ETag{azcore.ETag(tag), azcore.ETag(tag + "2"), ""}},
		{"one operation", body(part("204 No Content", tag)), []azcore.ETag{azcore.ETag(tag)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := batchETags(ct, tt.body); !slices.Equal(got, tt.want) {
				t.Fatalf("batchETags = %q, want %q", got, tt.want)
			}
		})
	}
	if got := batchETags("application/json", []byte(`{}`)); got != nil {
		t.Fatalf("non-multipart body: %q", got)
	}
}
