package uom

import (
	"context"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
)

// decimalText is the grammar ToBase promises, written the other way, as an oracle.
var decimalText = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// FuzzToBase checks ToBase's quantity handling: no panic, text accepted exactly when it is a plain decimal, and
// every accepted conversion exact, within scale, and equal to qty × Numerator / Denominator.
func FuzzToBase(f *testing.F) {
	for _, s := range []string{"1", "0.5", "-2.25", "+3", ".5", "5.", "007.500", "1e3", "1/3", "0x1F", "1_0", "", "-", ".", "١٢", "99999999999999999999.999"} {
		f.Add(s)
	}
	c := &Converter{Source: catalog(boxes)}
	ratios := map[string]*big.Rat{"BOX": big.NewRat(12, 1), "PAK": big.NewRat(5, 2), "SIX": big.NewRat(1, 16)}
	f.Fuzz(func(t *testing.T, qty string) {
		valid := decimalText.MatchString(qty)
		got, err := c.ToBase(context.Background(), "M-100", "EA", qty)
		if valid != (err == nil) {
			t.Fatalf("ToBase(%q) in the base unit: err = %v, but the text is valid: %v", qty, err, valid)
		}
		if !valid {
			if !errors.Is(err, ErrInvalidQuantity) {
				t.Fatalf("ToBase(%q) = %v, want ErrInvalidQuantity", qty, err)
			}
			return
		}
		if got.Quantity != qty || got.Converted {
			t.Fatalf("base unit changed %q to %+v", qty, got)
		}
		in, _ := new(big.Rat).SetString(qty)
		for unit, ratio := range ratios {
			got, err := c.ToBase(context.Background(), "M-100", unit, qty)
			want := new(big.Rat).Mul(in, ratio)
			var ne *NotExactError
			if errors.As(err, &ne) {
				if exact, _ := new(big.Rat).SetString(ne.Exact); exact == nil || exact.Cmp(want) != 0 {
					t.Fatalf("%s %s: NotExactError says %s, the product is %s", qty, unit, ne.Exact, want.RatString())
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s %s: %v", qty, unit, err)
			}
			if !decimalText.MatchString(got.Quantity) {
				t.Fatalf("%s %s gave %q, not a decimal", qty, unit, got.Quantity)
			}
			if _, frac, ok := strings.Cut(got.Quantity, "."); ok && len(frac) > DefaultScale {
				t.Fatalf("%s %s gave %q, more than %d decimals", qty, unit, got.Quantity, DefaultScale)
			}
			if out, _ := new(big.Rat).SetString(got.Quantity); out.Cmp(want) != 0 {
				t.Fatalf("%s %s gave %s, want exactly %s", qty, unit, got.Quantity, want.RatString())
			}
		}
	})
}
