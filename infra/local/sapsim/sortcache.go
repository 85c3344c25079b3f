package sapsim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A sort needs every match in hand, and a paged read asks for it again with each page: a first load of a
// million products reads a thousand pages, each re-sorting a million rows. While the master data is only what
// the generator makes (no change visible), the order of a query's matches cannot change between its pages, so
// it is computed once, from the sort keys alone, and kept for the query's later pages. Once a change is
// visible, every page sorts again as before (and the shifts between pages that a change causes stay
// modelled), within maxSortRows.

// sortCache keeps the sorted positions of recent queries over generated data.
type sortCache struct {
	mu      sync.Mutex
	entries map[string][]int
	order   []string // oldest first
}

// maxCachedSorts is how many queries' orders are kept; maxCachedRows bounds one.
const (
	maxCachedSorts = 8
	maxCachedRows  = 5_000_000
)

// pure reports whether the view is the generated data alone.
func (v *masterView) pure() bool {
	return len(v.products) == 0 && len(v.stock) == 0 && len(v.conds) == 0 && len(v.added) == 0
}

// sorted returns the positions in [lo, hi) of src that match, in keys' order, computed on the first call for key.
func (c *sortCache) sorted(key string, src *source, lo, hi int, match func(record) bool, keys []orderKey) []int {
	c.mu.Lock()
	if pos, ok := c.entries[key]; ok {
		c.mu.Unlock()
		return pos
	}
	c.mu.Unlock()
	type keyed struct {
		pos  int
		vals []any
	}
	var rows []keyed
	for i := lo; i < hi; i++ {
		rec := src.at(i)
		if !match(rec) {
			continue
		}
		vals := make([]any, len(keys))
		for j, k := range keys {
			vals[j] = rec[k.prop.Name]
		}
		rows = append(rows, keyed{i, vals})
	}
	slices.SortStableFunc(rows, func(a, b keyed) int {
		for j, k := range keys {
			c, _ := compareValue(k.prop, a.vals[j], litOf(k.prop, b.vals[j]))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	pos := make([]int, len(rows))
	for i, r := range rows {
		pos[i] = r.pos
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string][]int{}
	}
	if _, ok := c.entries[key]; !ok {
		if len(c.order) >= maxCachedSorts {
			delete(c.entries, c.order[0])
			c.order = c.order[1:]
		}
		c.entries[key] = pos
		c.order = append(c.order, key)
	}
	return pos
}

// keysetBound splits the bound a keyset page reads after off f: a conjunct "<k1> gt v1", or
// "<k1> gt v1 or (<k1> eq v1 and <k2> gt v2)" on the first two sort keys. rest is the filter without it (nil
// for none); bound is [k1 > v1] or [k1 > v1, k2 > v2], rows after it in the sort order.
func keysetBound(f *expr, keys []orderKey) (rest *expr, bound []*expr) {
	if f == nil {
		return nil, nil
	}
	if b := boundOf(f, keys); b != nil {
		return nil, b
	}
	if f.op == "and" {
		if r, b := keysetBound(f.right, keys); b != nil {
			return joinAnd(f.left, r), b
		}
		if r, b := keysetBound(f.left, keys); b != nil {
			return joinAnd(r, f.right), b
		}
	}
	return f, nil
}

func boundOf(e *expr, keys []orderKey) []*expr {
	first := func(x *expr, op string) bool { return x != nil && x.op == op && x.prop.Name == keys[0].prop.Name }
	switch {
	case first(e, "gt"):
		return []*expr{e}
	case e.op == "or" && len(keys) > 1 && !keys[1].desc && first(e.left, "gt") && e.right != nil && e.right.op == "and" &&
		first(e.right.left, "eq") && e.right.right != nil && e.right.right.op == "gt" && e.right.right.prop.Name == keys[1].prop.Name:
		if c, ok := compareValue(e.left.prop, e.right.left.lit, e.left.lit); ok && c == 0 {
			return []*expr{e.left, e.right.right}
		}
	}
	return nil
}

// afterBound reports whether rec sorts after bound.
func afterBound(rec record, bound []*expr) bool {
	for i, b := range bound {
		c, _ := compareValue(b.prop, rec[b.prop.Name], b.lit)
		if c != 0 || i == len(bound)-1 {
			return c > 0
		}
	}
	return false
}

func joinAnd(a, b *expr) *expr {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return &expr{op: "and", left: a, right: b}
}

// exprKey writes f so that equal filters give equal keys.
func exprKey(f *expr) string {
	var b strings.Builder
	var walk func(e *expr)
	walk = func(e *expr) {
		if e == nil {
			b.WriteString("-")
			return
		}
		fmt.Fprintf(&b, "(%s %s %T:%s ", e.op, e.prop.Name, e.lit, strconv.Quote(fmt.Sprint(e.lit)))
		walk(e.left)
		walk(e.right)
		b.WriteString(")")
	}
	walk(f)
	return b.String()
}
