package inventorysync

import (
	"iter"
	"slices"
	"strings"
	"testing"
)

// sliceStream is a Stream over rows already in hand.
type sliceStream []string

func (s sliceStream) All() iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for _, r := range s {
			if !yield(r, nil) {
				return
			}
		}
	}
}
func (s sliceStream) Count() (int64, bool) { return int64(len(s)), true }

// keysetOver pages rows ("key/n", sorted) as SAP would answer "key gt last's key, top n".
func keysetOver(rows []string, size int, asked *[]int) *keyset[string] {
	key := func(r string) string { k, _, _ := strings.Cut(r, "/"); return k }
	return &keyset[string]{size: size, key: key, page: func(last *string, top int, _ bool) Stream[string] {
		*asked = append(*asked, top)
		var out sliceStream
		for _, r := range rows {
			if (last == nil || key(r) > key(*last)) && len(out) < top {
				out = append(out, r)
			}
		}
		return out
	}}
}

// Keyed pages read every row once, in order, whatever the page size: a key's rows are held back when a page may
// have cut them and read whole by the next page, a key with more rows than a page makes that page bigger, and a
// key with more rows than 64 pages is an error, not a loop.
func TestKeysetReadsEveryRowOnce(t *testing.T) {
	rows := []string{"a/1", "a/2", "a/3", "b/1", "b/2", "c/1", "d/1", "d/2", "d/3", "d/4", "d/5", "e/1"}
	for _, size := range []int{1, 2, 3, 4, 5, 11, 12, 13, 100} {
		var asked []int
		k := keysetOver(rows, size, &asked)
		var got []string
		for r, err := range k.All() {
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			got = append(got, r)
		}
		if !slices.Equal(got, rows) {
			t.Errorf("size %d: read %v (pages of %v); want %v", size, got, asked, rows)
		}
		if c, ok := k.Count(); !ok || c > int64(len(rows)) || c == 0 {
			t.Errorf("size %d: count %d %v", size, c, ok)
		}
	}
	var many []string
	for i := range 70 {
		many = append(many, "x/"+strings.Repeat("i", i+1))
	}
	var asked []int
	var err error
	for _, err = range keysetOver(many, 1, &asked).All() {
		if err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), `share the key "x"`) {
		t.Errorf("70 rows of one key in pages of 1 (at most 64): %v, after pages of %v", err, asked)
	}
}
