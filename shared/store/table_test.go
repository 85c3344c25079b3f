package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

type checkpoint struct {
	Cursor  string `json:"cursor"`
	Amount  string `json:"amount"` // decimals travel as strings
	Count   int    `json:"count"`
	Done    bool   `json:"done"`
	Comment string `json:"comment,omitempty"`
}

func newTestTable(t *testing.T, a *Account) *Table[checkpoint] {
	t.Helper()
	tbl, err := NewTable[checkpoint](a, uniqueName(t, "t"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	return tbl
}

func TestTableCRUD(t *testing.T) {
	a := testAccount(t, nil)
	ctx := t.Context()
	tbl := newTestTable(t, a)
	if err := tbl.Ensure(ctx); err != nil {
		t.Fatalf("second Ensure must tolerate an existing table: %v", err)
	}
	if err := a.EnsureTable(ctx, tbl.Name()); err != nil {
		t.Fatalf("EnsureTable on an existing table: %v", err)
	}

	row := Row[checkpoint]{PartitionKey: "orders", RowKey: "o'1", Value: checkpoint{Cursor: "c1", Amount: "12.30", Count: 3, Done: true}}
	etag, err := tbl.Insert(ctx, row)
	if err != nil {
		t.Fatalf("Insert: %v", err)
	}
	if etag == "" {
		t.Fatal("Insert returned no ETag")
	}

	got, err := tbl.Get(ctx, "orders", "o'1")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Value != row.Value || got.PartitionKey != "orders" || got.RowKey != "o'1" {
		t.Fatalf("Get = %+v, want value %+v", got, row.Value)
	}
	if got.ETag != etag {
		t.Fatalf("Get ETag %q, Insert ETag %q", got.ETag, etag)
	}
	if got.Timestamp.IsZero() {
		t.Fatal("Get returned no Timestamp")
	}

	_, err = tbl.Insert(ctx, row)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || ce.Code != "EntityAlreadyExists" || ce.PreconditionFailed() {
		t.Fatalf("second Insert: err %v, want 409 EntityAlreadyExists conflict", err)
	}

	got.Value.Cursor = "c2"
	newTag, err := tbl.Update(ctx, got)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if newTag == etag {
		t.Fatal("Update did not change the ETag")
	}
	_, err = tbl.Update(ctx, got) // got.ETag is now stale
	if !errors.As(err, &ce) || !ce.PreconditionFailed() || !errors.Is(err, ErrPreconditionFailed) || ce.Code != "UpdateConditionNotSatisfied" {
		t.Fatalf("stale Update: err %v, want 412 UpdateConditionNotSatisfied", err)
	}
	if _, err := tbl.Update(ctx, Row[checkpoint]{PartitionKey: "orders", RowKey: "x"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Update without ETag: err %v, want ErrInvalid", err)
	}

	if err := tbl.Delete(ctx, "orders", "o'1", etag); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("Delete with stale ETag: err %v, want precondition failed", err)
	}
	if err := tbl.Delete(ctx, "orders", "o'1", newTag); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := tbl.Get(ctx, "orders", "o'1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: err %v, want ErrNotFound", err)
	}
	var nf *NotFoundError
	if err := tbl.Delete(ctx, "orders", "o'1", azcore.ETagAny); !errors.As(err, &nf) {
		t.Fatalf("Delete of a missing entity: err %v, want *NotFoundError", err)
	}
	if err := tbl.Delete(ctx, "orders", "o'1", ""); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Delete without ETag: err %v, want ErrInvalid", err)
	}

	// Upsert creates, then replaces whatever is there; fields left empty disappear (replace, not merge).
	if _, err := tbl.Upsert(ctx, Row[checkpoint]{PartitionKey: "orders", RowKey: "u", Value: checkpoint{Cursor: "a", Comment: "first"}}); err != nil {
		t.Fatalf("Upsert (create): %v", err)
	}
	if _, err := tbl.Upsert(ctx, Row[checkpoint]{PartitionKey: "orders", RowKey: "u", ETag: "stale-is-ignored", Value: checkpoint{Cursor: "b"}}); err != nil {
		t.Fatalf("Upsert (replace): %v", err)
	}
	got, err = tbl.Get(ctx, "orders", "u")
	if err != nil || got.Value != (checkpoint{Cursor: "b"}) {
		t.Fatalf("after Upsert: %+v, %v", got.Value, err)
	}
}

func TestTableRefusesBadInput(t *testing.T) {
	a := testAccount(t, nil)
	for _, name := range []string{"ab", "1abc", "has-dash", "tables", string(make([]byte, 64))} {
		if _, err := NewTable[checkpoint](a, name); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewTable(%q): err %v, want ErrInvalid", name, err)
		}
	}
	tbl := newTestTable(t, a)
	for _, key := range []string{"a/b", `a\b`, "a#b", "a?b", "a\nb"} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			if _, err := tbl.Insert(t.Context(), Row[checkpoint]{PartitionKey: "p", RowKey: key}); !errors.Is(err, ErrInvalid) {
				t.Errorf("Insert with RowKey %q: err %v, want ErrInvalid", key, err)
			}
		})
	}
	type notObject []string
	arr, err := NewTable[notObject](a, tbl.Name())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arr.Insert(t.Context(), Row[notObject]{PartitionKey: "p", RowKey: "r", Value: notObject{"x"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Insert of a non-object value: err %v, want ErrInvalid", err)
	}
}

// Many writers race on one entity: exactly one wins, every other gets the typed conflict.
func TestTableConcurrentWriters(t *testing.T) {
	a := testAccount(t, nil)
	tbl := newTestTable(t, a)
	const writers = 20

	race := func(t *testing.T, write func(ctx context.Context, i int) error) (wins int, conflicts []*ConflictError) {
		t.Helper()
		errs := make([]error, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range writers {
			wg.Go(func() {
				<-start
				errs[i] = write(t.Context(), i)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			var ce *ConflictError
			switch {
			case err == nil:
				wins++
			case errors.As(err, &ce):
				conflicts = append(conflicts, ce)
			default:
				t.Errorf("writer %d: unexpected error %v", i, err)
			}
		}
		return wins, conflicts
	}

	t.Run("insert", func(t *testing.T) {
		wins, conflicts := race(t, func(ctx context.Context, i int) error {
			_, err := tbl.Insert(ctx, Row[checkpoint]{PartitionKey: "race", RowKey: "one", Value: checkpoint{Count: i}})
			return err
		})
		if wins != 1 || len(conflicts) != writers-1 {
			t.Fatalf("wins %d, conflicts %d; want 1 and %d", wins, len(conflicts), writers-1)
		}
		for _, ce := range conflicts {
			if ce.Code != "EntityAlreadyExists" || ce.PreconditionFailed() {
				t.Errorf("conflict %+v, want 409 EntityAlreadyExists", ce)
			}
		}
	})

	t.Run("update same ETag", func(t *testing.T) {
		base, err := tbl.Get(t.Context(), "race", "one")
		if err != nil {
			t.Fatal(err)
		}
		wins, conflicts := race(t, func(ctx context.Context, i int) error {
			r := base
			r.Value.Cursor = fmt.Sprintf("writer-%d", i)
			_, err := tbl.Update(ctx, r)
			return err
		})
		if wins != 1 || len(conflicts) != writers-1 {
			t.Fatalf("wins %d, conflicts %d; want 1 and %d", wins, len(conflicts), writers-1)
		}
		for _, ce := range conflicts {
			if !ce.PreconditionFailed() || ce.Code != "UpdateConditionNotSatisfied" {
				t.Errorf("conflict %+v, want 412 UpdateConditionNotSatisfied", ce)
			}
		}
		got, err := tbl.Get(t.Context(), "race", "one")
		if err != nil || got.ETag == base.ETag || got.Value.Cursor == "" {
			t.Fatalf("after the race: %+v, %v", got, err)
		}
	})
}

func TestTableQuery(t *testing.T) {
	a := testAccount(t, nil)
	ctx := t.Context()
	tbl := newTestTable(t, a)
	for i := range 25 {
		if _, err := tbl.Insert(ctx, Row[checkpoint]{PartitionKey: "q", RowKey: fmt.Sprintf("r%02d", i), Value: checkpoint{Count: i}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tbl.Insert(ctx, Row[checkpoint]{PartitionKey: "other", RowKey: "r00"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		opts       *QueryOptions
		first, cnt int
	}{
		{"whole partition in pages of 7", &QueryOptions{PageSize: 7}, 0, 25},
		{"default options", nil, 0, 25},
		{"row key range", &QueryOptions{RowKeyFrom: "r05", RowKeyBefore: "r10"}, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			for row, err := range tbl.Query(ctx, "q", tt.opts) {
				if err != nil {
					t.Fatalf("Query: %v", err)
				}
				if want := fmt.Sprintf("r%02d", tt.first+n); row.RowKey != want || row.Value.Count != tt.first+n || row.PartitionKey != "q" || row.ETag == "" {
					t.Fatalf("row %d = %+v, want RowKey %s", n, row, want)
				}
				n++
			}
			if n != tt.cnt {
				t.Fatalf("got %d rows, want %d", n, tt.cnt)
			}
		})
	}
	t.Run("early break", func(t *testing.T) {
		n := 0
		for _, err := range tbl.Query(ctx, "q", &QueryOptions{PageSize: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			if n == 3 {
				break
			}
		}
		if n != 3 {
			t.Fatalf("n = %d", n)
		}
	})
	t.Run("missing table", func(t *testing.T) {
		missing, _ := NewTable[checkpoint](a, uniqueName(t, "missing"))
		for _, err := range missing.Query(ctx, "q", nil) {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("err %v, want ErrNotFound", err)
			}
			return
		}
		t.Fatal("Query on a missing table yielded nothing")
	})
}
