package sapsim

import (
	"sort"
	"strings"
)

// blocks lays out a set as one block of rows per owner (a product, a condition record) in key order, without
// storing it: every block has per generated rows except the few the overlay changed, which carry their own rows.
// Positions stay dense, so paging by position and $skiptoken work as over any generated set.
type blocks struct {
	n, per int
	gen    func(block, slot int) record
	own    []ownBlock // ascending by block
}

type ownBlock struct {
	block int
	rows  []record
	start int // position of its first row
}

func newBlocks(n, per int, gen func(block, slot int) record, own map[int][]record) *blocks {
	b := &blocks{n: n, per: per, gen: gen}
	for blk, rows := range own {
		if blk >= 0 && blk < n {
			b.own = append(b.own, ownBlock{block: blk, rows: rows})
		}
	}
	sort.Slice(b.own, func(i, j int) bool { return b.own[i].block < b.own[j].block })
	extra := 0
	for i := range b.own {
		b.own[i].start = b.own[i].block*per + extra
		extra += len(b.own[i].rows) - per
	}
	return b
}

// size is the number of rows.
func (b *blocks) size() int {
	if len(b.own) == 0 {
		return b.n * b.per
	}
	last := b.own[len(b.own)-1]
	return last.start + len(last.rows) + (b.n-last.block-1)*b.per
}

// span is where block blk's rows are: [lo, hi).
func (b *blocks) span(blk int) (lo, hi int) {
	if blk < 0 || blk >= b.n {
		return 0, 0
	}
	k := sort.Search(len(b.own), func(i int) bool { return b.own[i].block >= blk })
	if k < len(b.own) && b.own[k].block == blk {
		return b.own[k].start, b.own[k].start + len(b.own[k].rows)
	}
	if k == 0 {
		return blk * b.per, (blk + 1) * b.per
	}
	prev := b.own[k-1]
	lo = prev.start + len(prev.rows) + (blk-prev.block-1)*b.per
	return lo, lo + b.per
}

// at is the row at position pos.
func (b *blocks) at(pos int) record {
	k := sort.Search(len(b.own), func(i int) bool { return b.own[i].start > pos }) - 1
	if k < 0 {
		return b.gen(pos/b.per, pos%b.per)
	}
	o := b.own[k]
	if rel := pos - o.start; rel < len(o.rows) {
		return cloneRecord(o.rows[rel])
	}
	rel := pos - o.start - len(o.rows)
	return b.gen(o.block+1+rel/b.per, rel%b.per)
}

// find is the position of block blk's row whose keys are k.
func (b *blocks) find(blk int, k map[string]string, keys []string) (int, bool) {
	want := make([]string, len(keys))
	for i, key := range keys {
		want[i] = k[key]
	}
	lo, hi := b.span(blk)
	for pos := lo; pos < hi; pos++ {
		if recordKey(b.at(pos), keys) == strings.Join(want, "\x00") {
			return pos, true
		}
	}
	return 0, false
}

// span is a range of positions [lo, hi) of a source.
type span struct{ lo, hi int }

// over narrows src to the rows at the given ascending, disjoint spans, keeping key order: a filter that names a
// few scattered rows (a material's condition records, the products changed since a time) reads only those.
func (src *source) over(spans []span) *source {
	var starts []int
	n := 0
	var kept []span
	for _, s := range spans {
		if s.hi > s.lo {
			kept = append(kept, s)
			starts = append(starts, n)
			n += s.hi - s.lo
		}
	}
	spans = kept
	return &source{et: src.et, n: n, at: func(i int) record {
		k := sort.SearchInts(starts, i+1) - 1
		return src.at(spans[k].lo + i - starts[k])
	}}
}
