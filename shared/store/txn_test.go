package store

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

func TestTransact(t *testing.T) {
	counter := &countingTransport{substr: "$batch"}
	a := testAccount(t, withTransport(counter))
	ctx := t.Context()
	tbl := newTestTable(t, a)

	ops := func(partition string, n int) []Op[checkpoint] {
		out := make([]Op[checkpoint], n)
		for i := range out {
			out[i] = Op[checkpoint]{Kind: OpInsert, Row: Row[checkpoint]{PartitionKey: partition, RowKey: fmt.Sprintf("r%03d", i), Value: checkpoint{Count: i}}}
		}
		return out
	}

	t.Run("100 operations succeed", func(t *testing.T) {
		before := counter.n.Load()
		if err := tbl.Transact(ctx, "full", ops("full", MaxTransactionOps)); err != nil {
			t.Fatalf("Transact(100): %v", err)
		}
		// Also proves the counter sees batches, so the "refused before sending" checks below mean something.
		if sent := counter.n.Load() - before; sent != 1 {
			t.Fatalf("%d batch requests counted, want 1", sent)
		}
		n := 0
		for _, err := range tbl.Query(ctx, "full", nil) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != MaxTransactionOps {
			t.Fatalf("partition holds %d rows, want %d", n, MaxTransactionOps)
		}
	})

	refused := []struct {
		name string
		ops  []Op[checkpoint]
	}{
		{"101 operations", ops("p", MaxTransactionOps+1)},
		{"no operations", nil},
		{"mixed partitions", append(ops("p", 3), Op[checkpoint]{Kind: OpInsert, Row: Row[checkpoint]{PartitionKey: "other", RowKey: "x"}})},
		{"repeated row key", append(ops("p", 3), ops("p", 1)...)},
		{"update without ETag", []Op[checkpoint]{{Kind: OpUpdate, Row: Row[checkpoint]{PartitionKey: "p", RowKey: "x"}}}},
		{"delete without ETag", []Op[checkpoint]{{Kind: OpDelete, Row: Row[checkpoint]{PartitionKey: "p", RowKey: "x"}}}},
		{"unknown kind", []Op[checkpoint]{{Row: Row[checkpoint]{PartitionKey: "p", RowKey: "x"}}}},
		{"bad key", []Op[checkpoint]{{Kind: OpInsert, Row: Row[checkpoint]{PartitionKey: "p", RowKey: "a/b"}}}},
	}
	for _, tt := range refused {
		t.Run("refused before sending: "+tt.name, func(t *testing.T) {
			before := counter.n.Load()
			err := tbl.Transact(ctx, "p", tt.ops)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
			if sent := counter.n.Load() - before; sent != 0 {
				t.Fatalf("%d batch requests were sent", sent)
			}
		})
	}

	t.Run("failing operation is named by index", func(t *testing.T) {
		if _, err := tbl.Insert(ctx, Row[checkpoint]{PartitionKey: "f", RowKey: "r002"}); err != nil {
			t.Fatal(err)
		}
		err := tbl.Transact(ctx, "f", ops("f", 5)) // op 2 collides with the row above
		var te *TransactionError
		if !errors.As(err, &te) {
			t.Fatalf("err %v, want *TransactionError", err)
		}
		if te.Index != 2 || te.StatusCode != http.StatusConflict || te.Code != "EntityAlreadyExists" || te.Table != tbl.Name() {
			t.Fatalf("TransactionError %+v, want index 2, 409 EntityAlreadyExists", te)
		}
		if !errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
			t.Fatalf("errors.Is(ErrConflict) should hold and ErrNotFound not: %v", err)
		}
		var re *azcore.ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("the SDK's ResponseError should stay reachable: %v", err)
		}
		// Atomic: none of the other four was written.
		for row, err := range tbl.Query(ctx, "f", nil) {
			if err != nil {
				t.Fatal(err)
			}
			if row.RowKey != "r002" {
				t.Fatalf("row %s was written by a refused transaction", row.RowKey)
			}
		}
	})

	t.Run("update delete upsert and a stale ETag", func(t *testing.T) {
		if err := tbl.Transact(ctx, "m", ops("m", 3)); err != nil {
			t.Fatal(err)
		}
		r0, err := tbl.Get(ctx, "m", "r000")
		if err != nil {
			t.Fatal(err)
		}
		r1, err := tbl.Get(ctx, "m", "r001")
		if err != nil {
			t.Fatal(err)
		}
		r0.Value.Cursor = "updated"
		mixed := []Op[checkpoint]{
			{Kind: OpUpdate, Row: r0},
			{Kind: OpDelete, Row: r1},
			{Kind: OpUpsert, Row: Row[checkpoint]{PartitionKey: "m", RowKey: "r002", Value: checkpoint{Cursor: "upserted"}}},
			{Kind: OpUpsert, Row: Row[checkpoint]{PartitionKey: "m", RowKey: "r003", Value: checkpoint{Cursor: "new"}}},
		}
		if err := tbl.Transact(ctx, "m", mixed); err != nil {
			t.Fatalf("Transact: %v", err)
		}
		got := map[string]string{}
		for row, err := range tbl.Query(ctx, "m", nil) {
			if err != nil {
				t.Fatal(err)
			}
			got[row.RowKey] = row.Value.Cursor
		}
		want := map[string]string{"r000": "updated", "r002": "upserted", "r003": "new"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("partition = %v, want %v", got, want)
		}

		// r0's ETag is now stale: the update at index 1 is refused with 412.
		stale := []Op[checkpoint]{
			{Kind: OpUpsert, Row: Row[checkpoint]{PartitionKey: "m", RowKey: "r009"}},
			{Kind: OpUpdate, Row: r0},
		}
		err = tbl.Transact(ctx, "m", stale)
		var te *TransactionError
		if !errors.As(err, &te) || te.Index != 1 || te.StatusCode != http.StatusPreconditionFailed || !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("err %v (%+v), want index 1 412", err, te)
		}
		// Deleting a row that is gone: 404 at index 0.
		err = tbl.Transact(ctx, "m", []Op[checkpoint]{{Kind: OpDelete, Row: Row[checkpoint]{PartitionKey: "m", RowKey: "r001", ETag: azcore.ETagAny}}})
		if !errors.As(err, &te) || te.Index != 0 || !errors.Is(err, ErrNotFound) {
			t.Fatalf("err %v (%+v), want index 0 not found", err, te)
		}
	})
}

// The service (not Azurite) may omit Content-ID; the index then comes from the message prefix, and
// with neither the index is -1.
func TestParseBatchFailure(t *testing.T) {
	const ct = "multipart/mixed; boundary=batchresponse_1"
	body := func(inner string) []byte {
		return []byte("--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
			"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
			inner + "\r\n--changesetresponse_2--\r\n--batchresponse_1--\r\n")
	}
	tests := []struct {
		name      string
		inner     string
		wantIndex int
		wantCode  string
		wantNil   bool
	}{
		{"azure style", "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n" +
			`{"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US","value":"7:The specified entity already exists."}}}`, 7, "EntityAlreadyExists", false},
		{"content id only", "HTTP/1.1 412 Precondition Failed\r\nContent-ID: 4\r\nContent-Type: application/json\r\n\r\n" +
			`{"odata.error":{"code":"UpdateConditionNotSatisfied","message":{"value":"no index here"}}}`, 3, "UpdateConditionNotSatisfied", false},
		{"no index at all", "HTTP/1.1 400 Bad Request\r\n\r\nnot json", -1, "", false},
		{"all succeeded", "HTTP/1.1 204 No Content\r\n\r\n", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := parseBatchFailure(ct, body(tt.inner))
			if tt.wantNil {
				if te != nil {
					t.Fatalf("got %+v, want nil", te)
				}
				return
			}
			if te == nil || te.Index != tt.wantIndex || te.Code != tt.wantCode {
				t.Fatalf("got %+v, want index %d code %q", te, tt.wantIndex, tt.wantCode)
			}
		})
	}
	if te := parseBatchFailure("application/json", []byte(`{}`)); te != nil {
		t.Fatalf("non-multipart body: got %+v", te)
	}
}
