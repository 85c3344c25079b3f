package sap

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

func TestProductUnits(t *testing.T) {
	e := newEnv(t, sapsim.Options{Products: 30}, nil)
	ctx := context.Background()
	// Find a product kept in KG: its EA is a 2.5 kg pack (2 EA = 5 KG).
	var kg string
	for i := range 30 {
		if p, err := e.c.ProductUnits(ctx, sapsim.ProductID(i)); err == nil && p.BaseUnit == "KG" {
			kg = p.Product
			break
		}
	}
	if kg == "" {
		t.Fatal("no product in KG")
	}
	p, err := e.c.ProductUnits(ctx, kg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range p.Units {
		got = append(got, u.AlternativeUnit+" "+u.QuantityNumerator.String()+"/"+u.QuantityDenominator.String())
	}
	if p.Product != kg || strings.Join(got, ", ") != "BOX 12/1, EA 5/2, KG 1/1" {
		t.Fatalf("units of %s: %+v", kg, p)
	}
	for _, tc := range []struct {
		unit, qty, base string // base "" when the unit is not maintained
	}{
		{"EA", "2", "5"}, {"EA", "1", "5/2"}, {"BOX", "0.5", "6"}, {"KG", "1.25", "5/4"}, {"PAL", "1", ""},
	} {
		t.Run(tc.qty+" "+tc.unit, func(t *testing.T) {
			u, ok := p.Unit(tc.unit)
			if !ok {
				if tc.base != "" {
					t.Fatalf("unit %s missing", tc.unit)
				}
				return
			}
			got, ok := u.ToBase(MustDecimal(tc.qty))
			if !ok || got.RatString() != tc.base {
				t.Fatalf("%s %s = %v KG, want %s", tc.qty, tc.unit, got, tc.base)
			}
		})
	}
	if _, err := e.c.ProductUnits(ctx, "NOPE"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown product: %v", err)
	}
}

// TestProductUnitsAlwaysHoldTheBaseUnit: an answer without the base unit's row still yields it at 1/1.
func TestProductUnitsAlwaysHoldTheBaseUnit(t *testing.T) {
	var query string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"d":{"Product":"M1","BaseUnit":"EA","to_ProductUnitsOfMeasure":{"results":[
{"Product":"M1","AlternativeUnit":"BOX","QuantityNumerator":"12","QuantityDenominator":"1"}]}}}`))
	}))
	defer ts.Close()
	c, err := New(basicOptions(ts.URL, "u", "p"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.ProductUnits(context.Background(), "M1")
	if err != nil || len(p.Units) != 2 || p.Units[1].AlternativeUnit != "EA" || p.Units[1].QuantityNumerator.Cmp(MustDecimal("1")) != 0 {
		t.Fatalf("%v %+v", err, p)
	}
	if !strings.Contains(query, "$expand=to_ProductUnitsOfMeasure") || !strings.Contains(query, "$select=Product,BaseUnit,") {
		t.Fatalf("query %q", query)
	}
}
