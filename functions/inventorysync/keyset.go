package inventorysync

import (
	"fmt"
	"iter"
	"sync"
)

// keyset reads an ordered SAP collection a page at a time, each page a request of its own for the rows after
// the last key the page before read whole. Pages asked for by $skip (what S/4HANA services without server
// paging leave a client) shift under every change: a row removed or moved to the end from a page already
// read moves each later row one place forward, and the row at the next page boundary is read by neither page.
// A stock row read by neither page made its material's stock zero; a product, its change never read. Keyed
// pages start from a value, not a position, so a change elsewhere moves nothing they read.
//
// The rows of a page's last key may go on in the next page, so they are held back and read again, whole, by
// the next page. A key with more rows than a page makes the page bigger until they fit.
type keyset[T any] struct {
	size int
	key  func(T) string
	// page reads the rows after last (nil: from the stream's start), at most top of them; count asks SAP for
	// the number of rows (the first page's, for progress).
	page func(last *T, top int, count bool) Stream[T]

	mu       sync.Mutex
	count    int64
	hasCount bool
}

// maxKeysetGrowth bounds how far a page grows for one key's rows (64 pages' worth).
const maxKeysetGrowth = 64

func (k *keyset[T]) Count() (int64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.count, k.hasCount
}

func (k *keyset[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var last *T // the last row yielded
		first := true
		top := k.size
		for {
			rows := k.page(last, top, first)
			var held []T
			heldKey, n, yielded := "", 0, 0
			for row, err := range rows.All() {
				if err != nil {
					yield(zero, err)
					return
				}
				n++
				if key := k.key(row); key != heldKey || len(held) == 0 {
					for i := range held {
						if !yield(held[i], nil) {
							return
						}
						last, yielded = &held[i], yielded+1
					}
					held, heldKey = nil, key
				}
				held = append(held, row)
			}
			if first {
				if c, ok := rows.Count(); ok {
					k.mu.Lock()
					k.count, k.hasCount = c, true
					k.mu.Unlock()
				}
				first = false
			}
			if n < top { // SAP has no more: the held rows are their key's last
				for i := range held {
					if !yield(held[i], nil) {
						return
					}
				}
				return
			}
			if yielded == 0 {
				// One key filled the page: ask again for a bigger one.
				if top >= k.size*maxKeysetGrowth {
					yield(zero, fmt.Errorf("reading SAP: more than %d rows share the key %q, more than a page may hold", top, heldKey))
					return
				}
				top *= 2
				continue
			}
			top = k.size
		}
	}
}
