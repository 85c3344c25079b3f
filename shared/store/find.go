package store

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// FindOptions bounds a [Table.Find]. A nil *FindOptions means pages of the service's default size and
// no limit.
type FindOptions struct {
	// PageSize is how many entities each round trip asks for (the service caps it at 1000).
	PageSize int32
	// Limit stops the iteration after this many rows (when above zero), and keeps the pages no larger.
	Limit int
}

// Find streams the rows of every partition that f keeps, in PartitionKey then RowKey order, fetching
// pages as the loop advances. Without a PartitionKey comparison in f this is a scan of the whole
// table, so keep such queries to the sweepers that need them. A filter the builder refused fails with
// [ErrInvalid] before anything is sent. Iteration stops at the first error, yielded with a zero Row.
func (t *Table[T]) Find(ctx context.Context, f Filter, opts *FindOptions) iter.Seq2[Row[T], error] {
	return func(yield func(Row[T], error) bool) {
		expr, err := f.OData()
		if err != nil {
			yield(Row[T]{}, fmt.Errorf("finding rows in table %s: %w", t.name, err))
			return
		}
		lo := &aztables.ListEntitiesOptions{}
		if expr != "" {
			lo.Filter = &expr
		}
		limit := 0
		if opts != nil {
			limit = opts.Limit
			if top := pageSize(opts); top > 0 {
				lo.Top = to.Ptr(top)
			}
		}
		n := 0
		pager := t.client.NewListEntitiesPager(lo)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				yield(Row[T]{}, fmt.Errorf("finding rows in table %s: %w", t.name, classify(err, "table "+t.name)))
				return
			}
			for _, raw := range page.Entities {
				row, err := decodeRow[T](raw)
				if err != nil {
					yield(Row[T]{}, fmt.Errorf("decoding entity from table %s: %w", t.name, err))
					return
				}
				if !yield(row, nil) {
					return
				}
				if n++; limit > 0 && n >= limit {
					return
				}
			}
		}
	}
}

// pageSize is the page to ask for: PageSize, but never more than the Limit needs.
func pageSize(o *FindOptions) int32 {
	top := o.PageSize
	if o.Limit > 0 && (top <= 0 || int64(o.Limit) < int64(top)) {
		top = int32(min(o.Limit, 1000))
	}
	return top
}

// Find mirrors [Table.Find]: the same filter semantics as the Table service (see [Filter]), evaluated
// against each row's stored properties. It reads a snapshot taken when iteration starts.
func (m *MemTable[T]) Find(_ context.Context, f Filter, opts *FindOptions) iter.Seq2[Row[T], error] {
	return func(yield func(Row[T], error) bool) {
		if _, err := f.OData(); err != nil {
			yield(Row[T]{}, fmt.Errorf("finding rows in table %s: %w", m.name, err))
			return
		}
		type keyed struct {
			k memKey
			r memRow
		}
		m.mu.Lock()
		snap := make([]keyed, 0, len(m.rows))
		for k, r := range m.rows {
			snap = append(snap, keyed{k, r})
		}
		m.mu.Unlock()
		slices.SortFunc(snap, func(a, b keyed) int {
			if c := strings.Compare(a.k.pk, b.k.pk); c != 0 {
				return c
			}
			return strings.Compare(a.k.rk, b.k.rk)
		})
		n := 0
		for _, e := range snap {
			props, err := memProperties(e.r)
			if err != nil {
				yield(Row[T]{}, fmt.Errorf("decoding entity from table %s: %w", m.name, err))
				return
			}
			if !f.matches(props) {
				continue
			}
			row, err := decodeMem[T](e.r)
			if err != nil {
				yield(Row[T]{}, fmt.Errorf("decoding entity from table %s: %w", m.name, err))
				return
			}
			if !yield(row, nil) {
				return
			}
			if n++; opts != nil && opts.Limit > 0 && n >= opts.Limit {
				return
			}
		}
	}
}
