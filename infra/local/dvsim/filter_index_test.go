package dvsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Reading a filter's candidates by index (primary key, one-column alternate key, lookup) is an optimisation:
// for any filter it matches exactly the rows a scan of every row matches. Random filters over products with
// mixed-case and quoted numbers, equal numbers written differently, nulls, self lookups and deleted rows.
func TestFilterCandidatesMatchWhatAScanMatches(t *testing.T) {
	r := start(t, Options{})
	numbers := []string{"P-1", "p-2", "O'Neil", "Ünïcode-β", "A/B", "1", "1.0", "X"}
	var ids []string
	for i, n := range numbers {
		rec := map[string]any{"productnumber": n, "name": fmt.Sprintf("Name %d", i%3)}
		if i%2 == 0 {
			rec["quantityonhand"] = json.Number([]string{"1", "1.0", "2.50", "0"}[i%4])
		}
		if i > 0 && i%3 != 0 {
			rec["parentproductid@odata.bind"] = "/products(" + ids[(i-1)/2] + ")"
		}
		id, err := r.Insert("products", rec)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := r.Delete("products", ids[1]); err != nil { // a row others' lookups may name, gone
		t.Fatal(err)
	}
	missing := "00000000-0000-0000-0000-00000000dead"
	rng := rand.New(rand.NewPCG(1, 2))
	lit := func(col string) string {
		switch col {
		case "productid", "_parentproductid_value":
			id := []string{missing, ids[rng.IntN(len(ids))]}[rng.IntN(2)]
			if rng.IntN(3) == 0 {
				id = strings.ToUpper(id)
			}
			if rng.IntN(5) == 0 {
				return "null"
			}
			return id
		case "quantityonhand":
			return []string{"1", "1.0", "2.5", "0", "null", "'1'"}[rng.IntN(6)]
		default:
			s := numbers[rng.IntN(len(numbers))]
			if col == "name" {
				s = fmt.Sprintf("name %d", rng.IntN(4))
			}
			if rng.IntN(2) == 0 {
				s = strings.ToUpper(s)
			}
			return "'" + strings.ReplaceAll(s, "'", "''") + "'"
		}
	}
	cols := []string{"productid", "productnumber", "name", "quantityonhand", "_parentproductid_value"}
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth > 0 {
			switch rng.IntN(5) {
			case 0:
				return gen(depth-1) + " and " + gen(depth-1)
			case 1:
				return gen(depth-1) + " or " + gen(depth-1)
			case 2:
				return "(" + gen(depth-1) + ")"
			case 3:
				return "not (" + gen(depth-1) + ")"
			}
		}
		col := cols[rng.IntN(len(cols))]
		n := 1 + rng.IntN(3)
		terms := make([]string, n)
		for i := range terms {
			op := "eq"
			if rng.IntN(6) == 0 {
				op = "ne"
			}
			c := col
			if rng.IntN(5) == 0 {
				c = cols[rng.IntN(len(cols))]
			}
			terms[i] = c + " " + op + " " + lit(c)
		}
		return strings.Join(terms, " or ")
	}
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	td := r.store.tables["products"]
	matching := func(rows []*row, e *expr) []string {
		var out []string
		for _, rw := range rows {
			if e.p(rw.values) {
				out = append(out, rw.id)
			}
		}
		slices.Sort(out)
		return out
	}
	for range 5000 {
		f := gen(rng.IntN(4))
		e, aerr := parseFilter(td.def, f)
		if aerr != nil {
			t.Fatalf("%s: %v", f, aerr)
		}
		got, want := matching(candidates(td, e.cands), e), matching(candidates(td, nil), e)
		if !slices.Equal(got, want) {
			t.Errorf("%s\n  by index %v\n  by scan  %v", f, got, want)
		}
	}
}
