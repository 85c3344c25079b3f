package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/store"
)

type stateTable interface {
	Table
	Delete(ctx context.Context, partitionKey, rowKey string, etag azcore.ETag) error
}

// forEachTable runs test against a fresh Azurite table and a fresh MemTable.
func forEachTable(t *testing.T, test func(t *testing.T, tbl stateTable)) {
	t.Helper()
	t.Run("azurite", func(t *testing.T) {
		tbl, err := store.NewTable[json.RawMessage](storetest.Account(t), storetest.Name(t, "state"))
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		test(t, tbl)
	})
	t.Run("memory", func(t *testing.T) { test(t, store.NewMemTable[json.RawMessage]("state")) })
}

func TestSaveAndAdvance(t *testing.T) {
	forEachTable(t, func(t *testing.T, tbl stateTable) {
		ctx := t.Context()
		now := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
		s := Store{Table: tbl, Now: func() time.Time { return now }}

		cp, etag, found, err := s.Get(ctx, "sap-salesorder-status")
		if err != nil || found || etag != "" || cp.Stream != "sap-salesorder-status" || cp.Value != "" {
			t.Fatalf("Get of a new stream: %+v, %q, %v, %v", cp, etag, found, err)
		}
		cp.SetTime(time.Date(2026, 11, 27, 4, 59, 0, 123, time.FixedZone("CET", 3600)))
		cp.RunID, cp.Digest, cp.Extra = "run-1", "ab12", `{"page":2}`
		first, err := s.Save(ctx, cp, "")
		if err != nil {
			t.Fatalf("first Save: %v", err)
		}

		got, etag, found, err := s.Get(ctx, "sap-salesorder-status")
		if err != nil || !found || etag != first {
			t.Fatalf("Get after Save: found %v, ETag %q (saved %q), %v", found, etag, first, err)
		}
		want := cp
		want.UpdatedAt = now
		if got != want {
			t.Fatalf("Get = %+v, want %+v", got, want)
		}
		if at, err := got.Time(); err != nil || !at.Equal(time.Date(2026, 11, 27, 3, 59, 0, 123, time.UTC)) {
			t.Fatalf("Time() = %v, %v", at, err)
		}
		// The row sits in the state table under the checkpoint partition.
		if _, err := tbl.Get(ctx, Partition, "sap-salesorder-status"); err != nil {
			t.Fatalf("row (checkpoint, stream): %v", err)
		}

		now = now.Add(time.Minute)
		got.Value, got.RunID = "https://org.crm4.dynamics.com/api/data/v9.2/accounts?$deltatoken=919042%2108%2f22%2f2017", "run-2"
		second, err := s.Save(ctx, got, etag)
		if err != nil {
			t.Fatalf("Save with the ETag Get returned: %v", err)
		}

		var ce *ConflictError
		_, err = s.Save(ctx, cp, first) // first is stale now
		if !errors.Is(err, ErrConflict) || !errors.As(err, &ce) || ce.Created || !errors.Is(err, store.ErrPreconditionFailed) {
			t.Fatalf("Save with a stale ETag: err %v, want a ConflictError over the store's 412", err)
		}
		_, err = s.Save(ctx, cp, "")
		if !errors.As(err, &ce) || !ce.Created || !errors.Is(err, store.ErrConflict) {
			t.Fatalf("create-only Save of an existing stream: err %v, want a ConflictError with Created", err)
		}
		if got, _, _, _ := s.Get(ctx, "sap-salesorder-status"); got.RunID != "run-2" {
			t.Fatalf("the losers moved the checkpoint: %+v", got)
		}

		// A checkpoint deleted since it was read is a conflict too: the run's view is out of date.
		if err := tbl.Delete(ctx, Partition, "sap-salesorder-status", second); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, got, second); !errors.Is(err, ErrConflict) || !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Save after a delete: err %v, want ErrConflict over ErrNotFound", err)
		}
	})
}

// Overlapping timer runs read the same checkpoint and race to advance it: exactly one does.
func TestOverlappingRunsCannotBothAdvance(t *testing.T) {
	forEachTable(t, func(t *testing.T, tbl stateTable) {
		ctx := t.Context()
		s := Store{Table: tbl}
		const runs = 12
		race := func(t *testing.T, etag azcore.ETag) (winner string) {
			t.Helper()
			errs := make([]error, runs)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range runs {
				wg.Go(func() {
					<-start
					cp := Checkpoint{Stream: "dv-accounts", Value: fmt.Sprintf("token-%d", i), RunID: fmt.Sprintf("run-%d", i)}
					_, errs[i] = s.Save(ctx, cp, etag)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				switch {
				case err == nil:
					if winner != "" {
						t.Fatalf("both %s and run-%d advanced the checkpoint", winner, i)
					}
					winner = fmt.Sprintf("run-%d", i)
				case !errors.Is(err, ErrConflict):
					t.Fatalf("run-%d: err %v, want ErrConflict", i, err)
				}
			}
			if winner == "" {
				t.Fatal("no run advanced the checkpoint")
			}
			got, _, _, err := s.Get(ctx, "dv-accounts")
			if err != nil || got.RunID != winner {
				t.Fatalf("stored %+v, %v; winner %s", got, err, winner)
			}
			return winner
		}
		t.Run("first save", func(t *testing.T) { race(t, "") })
		t.Run("advance from the same read", func(t *testing.T) {
			_, etag, _, err := s.Get(ctx, "dv-accounts")
			if err != nil {
				t.Fatal(err)
			}
			race(t, etag)
		})
	})
}

// fakeTable is a Table of func fields; a nil field fails the test if called.
type fakeTable struct {
	t      *testing.T
	get    func(pk, rk string) (store.Row[json.RawMessage], error)
	insert func(row store.Row[json.RawMessage]) (azcore.ETag, error)
	update func(row store.Row[json.RawMessage]) (azcore.ETag, error)
}

var _ Table = (*fakeTable)(nil)

func (f *fakeTable) Get(_ context.Context, pk, rk string) (store.Row[json.RawMessage], error) {
	if f.get == nil {
		f.t.Fatal("unexpected Get")
	}
	return f.get(pk, rk)
}

func (f *fakeTable) Insert(_ context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error) {
	if f.insert == nil {
		f.t.Fatal("unexpected Insert")
	}
	return f.insert(row)
}

func (f *fakeTable) Update(_ context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error) {
	if f.update == nil {
		f.t.Fatal("unexpected Update")
	}
	return f.update(row)
}

func TestStreamNamesAreCheckedBeforeAnyIO(t *testing.T) {
	s := Store{Table: &fakeTable{t: t}}
	for _, stream := range []string{"", "a/b", "a b", "a#b", "ünïcode", strings.Repeat("s", 257)} {
		if _, _, _, err := s.Get(t.Context(), stream); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Get(%.20q): err %v, want store.ErrInvalid", stream, err)
		}
		if _, err := s.Save(t.Context(), Checkpoint{Stream: stream}, ""); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Save(%.20q): err %v, want store.ErrInvalid", stream, err)
		}
	}
}

// Failures that are not a lost race pass through wrapped, so the caller retries them instead of
// standing down.
func TestStorageFailuresAreNotConflicts(t *testing.T) {
	unavailable := &store.ServiceError{Resource: "table state", StatusCode: http.StatusServiceUnavailable}
	s := Store{Table: &fakeTable{t: t,
		get: func(string, string) (store.Row[json.RawMessage], error) {
			return store.Row[json.RawMessage]{}, unavailable
		},
		insert: func(store.Row[json.RawMessage]) (azcore.ETag, error) { return "", unavailable },
		update: func(store.Row[json.RawMessage]) (azcore.ETag, error) {
			return "", &store.NotFoundError{Code: "TableNotFound"}
		},
	}}
	var se *store.ServiceError
	if _, _, _, err := s.Get(t.Context(), "x"); !errors.As(err, &se) || errors.Is(err, ErrConflict) {
		t.Errorf("Get: err %v, want the ServiceError", err)
	}
	if _, err := s.Save(t.Context(), Checkpoint{Stream: "x"}, ""); !errors.As(err, &se) || errors.Is(err, ErrConflict) {
		t.Errorf("Save: err %v, want the ServiceError", err)
	}
	// A missing table is not a lost race either; a missing row under an ETag is (see TestSaveAndAdvance).
	if _, err := s.Save(t.Context(), Checkpoint{Stream: "x"}, `W/"1"`); !errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrConflict) {
		t.Errorf("Save: err %v, want ErrNotFound", err)
	}
}

func TestTimeValues(t *testing.T) {
	var cp Checkpoint
	if at, err := cp.Time(); err != nil || !at.IsZero() {
		t.Fatalf("empty Value: %v, %v", at, err)
	}
	in := time.Date(2026, 2, 3, 4, 5, 6, 7, time.FixedZone("X", -7200))
	cp.SetTime(in)
	if cp.Value != "2026-02-03T06:05:06.000000007Z" {
		t.Fatalf("Value %q", cp.Value)
	}
	if at, err := cp.Time(); err != nil || !at.Equal(in) {
		t.Fatalf("Time() = %v, %v", at, err)
	}
	cp.Value = "https://org/api/data/v9.2/accounts?$deltatoken=1"
	if _, err := cp.Time(); err == nil {
		t.Fatal("a delta link read as a time")
	}
}
