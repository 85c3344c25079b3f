package sapsim

import (
	"slices"
	"testing"
)

// Two different filters never share a cached order: a string literal that looks like the key's own syntax
// (parentheses, "--", a type name) must not make one filter's key equal another's, or the second read is
// answered with the first one's rows.
func TestSortCacheKeysOfDifferentFiltersDiffer(t *testing.T) {
	a, b, c := ProductID(0), ProductID(1), ProductID(2)
	for _, tc := range []struct {
		name   string
		filter string
		want   []string
	}{
		{"first literal carries the second's key", "Product eq '" + a + " --)(eq Product string:" + b + "' or Product eq '" + c + "'", []string{c}},
		{"second literal carries the third's key", "Product eq '" + a + "' or Product eq '" + b + " --)(eq Product string:" + c + "'", []string{a}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newMasterEnv(t, Options{Products: 10})
			// Each case on its own simulator reads right; the next subtest reads both on one.
			rows, _ := e.readAll("/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product?$filter=" + q(tc.filter) + "&$orderby=Product&$select=Product")
			if got := productsOf(rows); !slices.Equal(got, tc.want) {
				t.Errorf("%s alone: %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
	t.Run("both on one simulator", func(t *testing.T) {
		e := newMasterEnv(t, Options{Products: 10})
		f1 := "Product eq '" + a + " --)(eq Product string:" + b + "' or Product eq '" + c + "'"
		f2 := "Product eq '" + a + "' or Product eq '" + b + " --)(eq Product string:" + c + "'"
		e.readAll("/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product?$filter=" + q(f1) + "&$orderby=Product&$select=Product")
		rows, _ := e.readAll("/sap/opu/odata/sap/API_PRODUCT_SRV/A_Product?$filter=" + q(f2) + "&$orderby=Product&$select=Product")
		if got, want := productsOf(rows), []string{a}; !slices.Equal(got, want) {
			t.Errorf("%s after %s: %v, want %v", f2, f1, got, want)
		}
	})
}

func productsOf(rows []map[string]any) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r["Product"].(string))
	}
	return out
}
