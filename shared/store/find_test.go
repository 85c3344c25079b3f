package store

import (
	"context"
	"errors"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// job is a row a sweeper looks for: the fields cover each type a Filter compares.
type job struct {
	State   string `json:"state"`
	Attempt int    `json:"attempt"`
	Big     int64  `json:"big"`
	Due     string `json:"due"` // a SortableTime
	Done    bool   `json:"done"`
	Note    string `json:"note,omitempty"`
}

func TestFind(t *testing.T) {
	t.Run("azurite", func(t *testing.T) {
		tbl, err := NewTable[job](testAccount(t, nil), uniqueName(t, "find"))
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.Ensure(t.Context()); err != nil {
			t.Fatal(err)
		}
		testFind(t, tbl)
	})
	t.Run("memory", func(t *testing.T) { testFind(t, NewMemTable[job]("find")) })
}

func testFind(t *testing.T, tbl interface {
	Insert(ctx context.Context, row Row[job]) (azcore.ETag, error)
	Find(ctx context.Context, f Filter, opts *FindOptions) iter.Seq2[Row[job], error]
}) {
	ctx := t.Context()
	base := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	before := time.Now().Add(-time.Minute)
	rows := []Row[job]{
		{PartitionKey: "a", RowKey: "1", Value: job{State: "stuck", Attempt: 1, Big: 3_000_000_001, Due: SortableTime(base), Note: "it's"}},
		{PartitionKey: "a", RowKey: "2", Value: job{State: "done", Attempt: 2, Big: 3_000_000_002, Due: SortableTime(base.Add(time.Hour)), Done: true}},
		{PartitionKey: "b", RowKey: "1", Value: job{State: "stuck", Attempt: 5, Big: 3_000_000_003, Due: SortableTime(base.Add(2 * time.Hour)), Note: "other"}},
		{PartitionKey: "c", RowKey: "1", Value: job{State: "stuck", Attempt: 2, Big: 3_000_000_004, Due: SortableTime(base.Add(500 * time.Millisecond))}},
		{PartitionKey: "c", RowKey: "2", Value: job{State: "calling", Attempt: 3, Big: 3_000_000_005, Due: SortableTime(base.Add(3 * time.Hour))}},
	}
	for _, r := range rows {
		if _, err := tbl.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    Filter
		opts *FindOptions
		want []string // PartitionKey/RowKey
	}{
		{"zero filter is every row, in key order", Filter{}, nil, []string{"a/1", "a/2", "b/1", "c/1", "c/2"}},
		{"string equality across partitions", Eq("state", "stuck"), nil, []string{"a/1", "b/1", "c/1"}},
		{"and with an int", And(Eq("state", "stuck"), Lt("attempt", 3)), nil, []string{"a/1", "c/1"}},
		{"or with the partition key and a bool", Or(Eq("PartitionKey", "b"), Eq("done", true)), nil, []string{"a/2", "b/1"}},
		{"quoted literal", Eq("note", "it's"), nil, []string{"a/1"}},
		{"ne skips rows without the property", Ne("note", "it's"), nil, []string{"b/1"}},
		{"int beyond int32", Gt("big", int64(3_000_000_003)), nil, []string{"c/1", "c/2"}},
		{"sortable time strings compare in time order", Lt("due", SortableTime(base.Add(time.Hour))), nil, []string{"a/1", "c/1"}},
		{"row key range in every partition", And(Ge("RowKey", "2"), Lt("RowKey", "3")), nil, []string{"a/2", "c/2"}},
		{"Timestamp after the inserts began", Ge("Timestamp", before), nil, []string{"a/1", "a/2", "b/1", "c/1", "c/2"}},
		{"Timestamp before them", Lt("Timestamp", before), nil, nil},
		{"limit", Filter{}, &FindOptions{Limit: 3}, []string{"a/1", "a/2", "b/1"}},
		{"limit across small pages", Eq("state", "stuck"), &FindOptions{PageSize: 1, Limit: 2}, []string{"a/1", "b/1"}},
		{"small pages without a limit", Filter{}, &FindOptions{PageSize: 2}, []string{"a/1", "a/2", "b/1", "c/1", "c/2"}},
		{"nothing matches", Eq("state", "none"), nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for row, err := range tbl.Find(ctx, tt.f, tt.opts) {
				if err != nil {
					t.Fatalf("Find: %v", err)
				}
				if row.ETag == "" {
					t.Fatalf("row %s/%s has no ETag", row.PartitionKey, row.RowKey)
				}
				got = append(got, row.PartitionKey+"/"+row.RowKey)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Find = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("early break", func(t *testing.T) {
		n := 0
		for _, err := range tbl.Find(ctx, Filter{}, &FindOptions{PageSize: 2}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
		if n != 3 {
			t.Fatalf("n = %d", n)
		}
	})
	t.Run("a refused filter yields ErrInvalid", func(t *testing.T) {
		for _, err := range tbl.Find(ctx, Eq("bad-name", "x"), nil) {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err %v, want ErrInvalid", err)
			}
			return
		}
		t.Fatal("Find yielded nothing")
	})
}

// Azurite compares a datetime literal with an RFC 3339 string and finds the row; the Table service
// compares only like types and does not. The twin follows the service, so code tested against it
// cannot come to rely on Azurite's leniency.
func TestMemFindComparesOnlyLikeTypes(t *testing.T) {
	type stamped struct {
		At    time.Time `json:"at"`
		Count int       `json:"count"`
	}
	m := NewMemTable[stamped]("typed")
	at := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	if _, err := m.Insert(t.Context(), Row[stamped]{PartitionKey: "p", RowKey: "r", Value: stamped{At: at, Count: 7}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    Filter
		want int
	}{
		{"datetime literal against a string property", Lt("at", at.Add(time.Hour)), 0},
		{"string literal against an int property", Eq("count", "7"), 0},
		{"ne against another type", Ne("count", "7"), 0},
		{"int against the int", Eq("count", 7), 1},
		{"string against the string", Lt("at", at.Add(time.Hour).Format(time.RFC3339Nano)), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			for _, err := range m.Find(t.Context(), tt.f, nil) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != tt.want {
				t.Fatalf("%d rows, want %d", n, tt.want)
			}
		})
	}
}
