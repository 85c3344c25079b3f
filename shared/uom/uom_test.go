package uom

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var (
	boxes = Material{Product: "M-100", BaseUnit: "EA", Units: []Unit{
		{Unit: "EA", Numerator: "1", Denominator: "1"},
		{Unit: "BOX", Numerator: "12", Denominator: "1"},
		{Unit: "PAK", Numerator: "5", Denominator: "2"}, // 2 PAK = 5 EA
		{Unit: "TRD", Numerator: "1", Denominator: "3"}, // 3 TRD = 1 EA
		{Unit: "SIX", Numerator: "1", Denominator: "16"},
		{Unit: "CAR", Numerator: "12", Denominator: "1"},
		{Unit: "CAR", Numerator: "24", Denominator: "2"}, // listed twice, same factor
	}}
	bulk = Material{Product: "M-200", BaseUnit: "KG"} // base unit not listed
	bad  = Material{Product: "M-300", BaseUnit: "EA", Units: []Unit{
		{Unit: "Z0", Numerator: "0", Denominator: "1"},
		{Unit: "ZN", Numerator: "-2", Denominator: "1"},
		{Unit: "ZD", Numerator: "1", Denominator: "0"},
		{Unit: "ZX", Numerator: "twelve", Denominator: "1"},
		{Unit: "ZE", Numerator: "", Denominator: "1"},
		{Unit: "DUP", Numerator: "12", Denominator: "1"},
		{Unit: "DUP", Numerator: "6", Denominator: "1"},
	}}
	noBase = Material{Product: "M-400", Units: []Unit{{Unit: "BOX", Numerator: "12", Denominator: "1"}}}
)

func TestToBase(t *testing.T) {
	tests := []struct {
		name          string
		product, unit string
		qty           string
		scale         int
		want          Result
	}{
		{"base unit passes the text through", "M-100", "EA", "007.50", 0, Result{"007.50", "EA", false}},
		{"base unit not listed by SAP", "M-200", "KG", "2.5", 0, Result{"2.5", "KG", false}},
		{"box of 12", "M-100", "BOX", "2", 0, Result{"24", "EA", true}},
		{"half a box", "M-100", "BOX", "0.5", 0, Result{"6", "EA", true}},
		{"trailing zeros of the input do not reach the result", "M-100", "BOX", "1.250", 0, Result{"15", "EA", true}},
		{"negative quantities convert too", "M-100", "BOX", "-1", 0, Result{"-12", "EA", true}},
		{"zero", "M-100", "BOX", "0", 0, Result{"0", "EA", true}},
		{"2 units equal 5: even count", "M-100", "PAK", "2", 0, Result{"5", "EA", true}},
		{"2 units equal 5: odd count", "M-100", "PAK", "3", 0, Result{"7.5", "EA", true}},
		{"a third, in whole base units", "M-100", "TRD", "3", 0, Result{"1", "EA", true}},
		{"a sixteenth that fits 3 decimals", "M-100", "SIX", "2", 0, Result{"0.125", "EA", true}},
		{"a sixteenth at scale 4", "M-100", "SIX", "1", 4, Result{"0.0625", "EA", true}},
		{"a unit listed twice with the same factor", "M-100", "CAR", "2", 0, Result{"24", "EA", true}},
		{"big numbers stay exact", "M-100", "BOX", "123456789012.345", 0, Result{"1481481468148.14", "EA", true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Converter{Source: catalog(boxes, bulk), Scale: tt.scale}
			got, err := c.ToBase(context.Background(), tt.product, tt.unit, tt.qty)
			if err != nil {
				t.Fatalf("ToBase: %v", err)
			}
			if got != tt.want {
				t.Errorf("ToBase = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestToBaseRefusesInexactResults(t *testing.T) {
	tests := []struct {
		name, unit, qty, exact string
	}{
		{"a third has no decimal form", "TRD", "1", "1/3"},
		{"a sixteenth needs 4 decimals", "SIX", "1", "1/16"},
		{"2 units equal 5, in thousandths", "PAK", "0.001", "1/400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Converter{Source: catalog(boxes)}
			_, err := c.ToBase(context.Background(), "M-100", tt.unit, tt.qty)
			var ne *NotExactError
			if !errors.As(err, &ne) {
				t.Fatalf("ToBase = %v, want a *NotExactError", err)
			}
			want := NotExactError{Product: "M-100", Quantity: tt.qty, Unit: tt.unit, BaseUnit: "EA", Exact: tt.exact, Scale: 3}
			if *ne != want {
				t.Errorf("got %+v, want %+v", *ne, want)
			}
			for _, s := range []string{"M-100", tt.qty, tt.unit, tt.exact, "3 decimals"} {
				if !strings.Contains(ne.Error(), s) {
					t.Errorf("%q does not mention %q", ne.Error(), s)
				}
			}
		})
	}
}

func TestToBaseUnknownUnitListsTheUnits(t *testing.T) {
	c := &Converter{Source: catalog(boxes, bulk)}
	for _, tt := range []struct {
		product, unit string
		units         []string
	}{
		{"M-100", "CS", []string{"EA", "BOX", "PAK", "TRD", "SIX", "CAR"}},
		{"M-100", "box", []string{"EA", "BOX", "PAK", "TRD", "SIX", "CAR"}}, // SAP's codes are matched exactly
		{"M-200", "BOX", []string{"KG"}},
	} {
		t.Run(tt.product+" "+tt.unit, func(t *testing.T) {
			_, err := c.ToBase(context.Background(), tt.product, tt.unit, "1")
			var ue *UnknownUnitError
			if !errors.As(err, &ue) {
				t.Fatalf("ToBase = %v, want an *UnknownUnitError", err)
			}
			if ue.Product != tt.product || ue.Unit != tt.unit || !reflect.DeepEqual(ue.Units, tt.units) {
				t.Errorf("got %+v, want product %s unit %s units %v", *ue, tt.product, tt.unit, tt.units)
			}
		})
	}
}

func TestToBaseRefusesBadSAPData(t *testing.T) {
	tests := []struct {
		name, product, unit, reason string
	}{
		{"zero numerator", "M-300", "Z0", `numerator "0" is not positive`},
		{"negative numerator", "M-300", "ZN", `numerator "-2" is not positive`},
		{"zero denominator", "M-300", "ZD", `denominator "0" is not positive`},
		{"numerator not a number", "M-300", "ZX", `numerator "twelve" is not a decimal number`},
		{"numerator missing", "M-300", "ZE", `numerator "" is not a decimal number`},
		{"one unit, two factors", "M-300", "DUP", "listed twice, as 12 and 6 base units"},
		{"no base unit", "M-400", "BOX", "no base unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Converter{Source: catalog(bad, noBase)}
			_, err := c.ToBase(context.Background(), tt.product, tt.unit, "1")
			var be *BadDataError
			if !errors.As(err, &be) {
				t.Fatalf("ToBase = %v, want a *BadDataError", err)
			}
			if be.Product != tt.product || !strings.Contains(be.Reason, tt.reason) {
				t.Errorf("got %+v, want product %s and a reason containing %q", *be, tt.product, tt.reason)
			}
		})
	}
}

func TestToBaseRefusesInvalidQuantities(t *testing.T) {
	for _, qty := range []string{"", "abc", "1e3", "1/2", "0x10", "1_000", "1,5", " 1", "1 ", "+", "-", ".", "--1", "1.2.3", "∞"} {
		t.Run(qty, func(t *testing.T) {
			src := catalog(boxes)
			c := &Converter{Source: src}
			_, err := c.ToBase(context.Background(), "M-100", "BOX", qty)
			if !errors.Is(err, ErrInvalidQuantity) {
				t.Errorf("ToBase(%q) = %v, want ErrInvalidQuantity", qty, err)
			}
			if n := src.calls.Load(); n != 0 {
				t.Errorf("asked SAP %d times for a quantity that cannot convert", n)
			}
		})
	}
}

func TestToBaseAcceptsWhatSAPDecimalsAccept(t *testing.T) {
	for qty, want := range map[string]string{"+2": "24", ".5": "6", "5.": "60", "-.25": "-3", "0002": "24"} {
		c := &Converter{Source: catalog(boxes)}
		got, err := c.ToBase(context.Background(), "M-100", "BOX", qty)
		if err != nil || got.Quantity != want {
			t.Errorf("ToBase(%q) = %+v, %v; want %s", qty, got, err, want)
		}
	}
}

func TestToBasePassesNotFoundThrough(t *testing.T) {
	c := &Converter{Source: catalog(boxes)}
	_, err := c.ToBase(context.Background(), "M-999", "BOX", "1")
	if !errors.Is(err, errNotFound) {
		t.Fatalf("ToBase = %v, want it to wrap the Source's not-found error", err)
	}
	if !strings.Contains(err.Error(), "M-999") {
		t.Errorf("%q does not name the product", err)
	}
}

func TestToBaseRefusesNegativeScale(t *testing.T) {
	c := &Converter{Source: catalog(boxes), Scale: -1}
	if _, err := c.ToBase(context.Background(), "M-100", "BOX", "1"); err == nil {
		t.Error("ToBase with Scale -1 succeeded")
	}
}
