package uom

import (
	"fmt"
	"math/big"
	"strings"
)

// NotExactError reports a conversion whose exact result has more decimals than SAP takes. Rounding would change
// the order, so the line is refused and someone decides (order in another unit, or fix the material in SAP).
type NotExactError struct {
	Product  string
	Quantity string // as given
	Unit     string // as given
	BaseUnit string
	Exact    string // the exact result as a reduced fraction, e.g. "25/3", or "1/16" for 0.0625
	Scale    int
}

func (e *NotExactError) Error() string {
	approx := e.Exact
	if r, ok := new(big.Rat).SetString(e.Exact); ok {
		approx = r.FloatString(e.Scale+3) + "…"
	}
	return fmt.Sprintf("converting %s %s of product %s to %s: the exact result %s %s (%s) has more than %d decimals, and SAP would round it",
		e.Quantity, e.Unit, e.Product, e.BaseUnit, e.Exact, e.BaseUnit, approx, e.Scale)
}

// UnknownUnitError reports a unit SAP does not hold for the material.
type UnknownUnitError struct {
	Product string
	Unit    string
	Units   []string // the units it has, base unit first
}

func (e *UnknownUnitError) Error() string {
	return fmt.Sprintf("product %s has no unit %q in SAP; its units are %s", e.Product, e.Unit, strings.Join(e.Units, ", "))
}

// BadDataError reports units of measure from SAP that cannot be used as they are: they need fixing in SAP.
type BadDataError struct {
	Product string
	Unit    string // empty when the problem is with the material, not one unit
	Reason  string
}

func (e *BadDataError) Error() string {
	if e.Unit == "" {
		return fmt.Sprintf("SAP's units of measure for product %s are unusable: %s", e.Product, e.Reason)
	}
	return fmt.Sprintf("SAP's unit %q of product %s is unusable: %s", e.Unit, e.Product, e.Reason)
}
