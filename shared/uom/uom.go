// Package uom converts order quantities into a material's base unit, using the units of measure SAP holds for
// that material (A_ProductUnitsOfMeasure, table MARM). There is no global factor: a box of one material holds 12,
// of another 6, so every conversion reads the material's own numerator and denominator.
//
// SAP's rule (data elements UMREZ and UMREN): "Denominator alternative units = Numerator base units", so
//
//	quantity in base unit = quantity in alternative unit × Numerator / Denominator
//
// e.g. BOX with Numerator 12, Denominator 1: 2 BOX = 24 EA. The arithmetic is exact (math/big.Rat); a result that
// does not fit the scale is an error, never rounded.
package uom

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Material is what SAP holds about one material's units.
type Material struct {
	Product  string
	BaseUnit string
	Units    []Unit // every alternative unit; the base unit may or may not be listed
}

// Unit is one alternative unit with its conversion to the base unit, as SAP sends it.
type Unit struct {
	Unit        string
	Numerator   string // exact decimal text as SAP sends it, e.g. "12": base units in one ratio
	Denominator string // e.g. "1": alternative units in the same ratio
}

// Source reads a material's units from SAP. A product SAP does not know should come back as an error the caller
// can match (e.g. sap.ErrNotFound): ToBase wraps it with %w. The Converter shares one call among concurrent
// callers and does not let any one caller's cancellation end it, so Material must bound its own time (the SAP
// client's timeout does).
type Source interface {
	Material(ctx context.Context, product string) (Material, error)
}

// Result is a quantity in the material's base unit.
type Result struct {
	Quantity  string // exact decimal text
	Unit      string // the base unit
	Converted bool   // false when the quantity was already in the base unit and is passed on as given
}

// Defaults for the zero Converter fields.
const (
	DefaultTTL   = 10 * time.Minute
	DefaultScale = 3 // SAP's RequestedQuantity is Edm.Decimal(15,3)
)

// Converter converts quantities to base units, caching each material's units for TTL. It is safe for concurrent
// use; do not copy it after first use.
type Converter struct {
	Source Source
	// TTL is how long a material's units are trusted; 0 means DefaultTTL, negative means never cache.
	TTL time.Duration
	// Now is the clock, for tests; nil means time.Now.
	Now func() time.Time
	// Scale is the most decimals a converted quantity may have; 0 means DefaultScale.
	Scale int

	mu      sync.Mutex
	cache   map[string]cached
	sweepAt int
	flight  singleflight.Group
}

// ToBase converts qty of unit into product's base unit. A quantity already in the base unit comes back as given,
// text unchanged and with no scale check (the caller's own field check covers it). Otherwise the result is exact
// with at most Scale decimals, or the error says why not: *NotExactError, *UnknownUnitError, *BadDataError, an
// error wrapping ErrInvalidQuantity, or the Source's error wrapped.
func (c *Converter) ToBase(ctx context.Context, product, unit, qty string) (Result, error) {
	q, err := parseDecimal(qty)
	if err != nil {
		return Result{}, fmt.Errorf("converting %q %s of product %s: %w", qty, unit, product, err)
	}
	scale := c.Scale
	switch {
	case scale == 0:
		scale = DefaultScale
	case scale < 0:
		return Result{}, fmt.Errorf("converting %s %s of product %s: uom.Converter.Scale %d is negative", qty, unit, product, scale)
	}
	m, err := c.material(ctx, product)
	if err != nil {
		return Result{}, err
	}
	if m.BaseUnit == "" {
		return Result{}, &BadDataError{Product: product, Reason: "it has no base unit"}
	}
	if unit == m.BaseUnit {
		return Result{Quantity: qty, Unit: m.BaseUnit}, nil
	}
	ratio, err := m.ratio(product, unit)
	if err != nil {
		return Result{}, err
	}
	r := new(big.Rat).Mul(q, ratio)
	text, ok := exactText(r, scale)
	if !ok {
		return Result{}, &NotExactError{Product: product, Quantity: qty, Unit: unit, BaseUnit: m.BaseUnit, Exact: r.RatString(), Scale: scale}
	}
	return Result{Quantity: text, Unit: m.BaseUnit, Converted: true}, nil
}

// ratio returns Numerator/Denominator for unit, refusing data SAP should never send: a factor that is not a
// positive number, or one unit listed twice with different factors.
func (m Material) ratio(product, unit string) (*big.Rat, error) {
	var found *big.Rat
	for _, u := range m.Units {
		if u.Unit != unit {
			continue
		}
		num, err := positive(u.Numerator)
		if err != nil {
			return nil, &BadDataError{Product: product, Unit: unit, Reason: fmt.Sprintf("numerator %q %v", u.Numerator, err)}
		}
		den, err := positive(u.Denominator)
		if err != nil {
			return nil, &BadDataError{Product: product, Unit: unit, Reason: fmt.Sprintf("denominator %q %v", u.Denominator, err)}
		}
		r := new(big.Rat).Quo(num, den)
		if found != nil && found.Cmp(r) != 0 {
			return nil, &BadDataError{Product: product, Unit: unit, Reason: fmt.Sprintf("it is listed twice, as %s and %s base units", found.RatString(), r.RatString())}
		}
		found = r
	}
	if found == nil {
		return nil, &UnknownUnitError{Product: product, Unit: unit, Units: m.unitNames()}
	}
	return found, nil
}

func positive(s string) (*big.Rat, error) {
	r, err := parseDecimal(s)
	if err != nil {
		return nil, errors.New("is not a decimal number")
	}
	if r.Sign() <= 0 {
		return nil, errors.New("is not positive")
	}
	return r, nil
}

// unitNames lists the base unit and every alternative once, base first.
func (m Material) unitNames() []string {
	names := []string{m.BaseUnit}
	seen := map[string]bool{m.BaseUnit: true}
	for _, u := range m.Units {
		if !seen[u.Unit] {
			seen[u.Unit] = true
			names = append(names, u.Unit)
		}
	}
	return names
}

// ErrInvalidQuantity reports quantity text that is not a plain decimal number.
var ErrInvalidQuantity = errors.New("the quantity is not a decimal number")

// parseDecimal accepts what sap.ParseDecimal accepts, so the order push and the converter agree on what a
// quantity is: an optional sign, digits, and an optional fraction ("12", "-0.5", ".5", "5."); no exponent, no
// fraction bar, no base prefix, no underscores, all of which big.Rat.SetString would otherwise take.
func parseDecimal(s string) (*big.Rat, error) {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 || i != len(s) {
		return nil, ErrInvalidQuantity
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok { // unreachable for text of the shape above
		return nil, ErrInvalidQuantity
	}
	return r, nil
}

// exactText writes r with as few decimals as it needs, if that is at most scale.
func exactText(r *big.Rat, scale int) (string, bool) {
	shifted := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !shifted.IsInt() {
		return "", false
	}
	s := r.FloatString(scale) // exact here, since r has at most scale decimals
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s, true
}
