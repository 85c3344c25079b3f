package sapsim

import (
	"math/big"
	"strconv"
)

// Units of measure of the generated products (API_PRODUCT_SRV A_ProductUnitsOfMeasure, table MARM). SAP states a
// unit as a fraction of the base unit: quantity in base unit = quantity in the alternative unit × QuantityNumerator
// / QuantityDenominator (MARM-UMREZ / MARM-UMREN; SAP's data element documentation: "5 kg correspond to 3 pieces"
// gives numerator 3, denominator 5 for kg on a material kept in pieces). Both are whole numbers, so a unit that is
// a fraction of the base unit needs a denominator other than 1.

// unitConversion is one row of MARM: 1 unit = num/den base units.
type unitConversion struct {
	unit     string
	num, den int64
}

// unitsPerProduct is how many units each generated product has: its base unit and two alternatives.
const unitsPerProduct = 3

// productUnits lists the units of a product by base unit, in key order (AlternativeUnit ascending) as SAP reads
// them. Every product can be ordered in EA (so callers that always send EA keep working); a KG product's EA is a
// 2.5 kg pack (2 EA = 5 KG: numerator 5, denominator 2); BOX holds 12 base units; PAL 480 EA.
var productUnits = map[string][unitsPerProduct]unitConversion{
	"EA": {{"BOX", 12, 1}, {"EA", 1, 1}, {"PAL", 480, 1}},
	"PC": {{"BOX", 12, 1}, {"EA", 1, 1}, {"PC", 1, 1}},
	"KG": {{"BOX", 12, 1}, {"EA", 5, 2}, {"KG", 1, 1}},
}

func (v *masterView) units(i int) [unitsPerProduct]unitConversion { return productUnits[v.baseUnit(i)] }

// unitOfMeasure is row slot of product i's units.
func (v *masterView) unitOfMeasure(i, slot int) record {
	u := v.units(i)[slot]
	return record{
		"Product":             ProductID(i),
		"AlternativeUnit":     u.unit,
		"QuantityNumerator":   strconv.FormatInt(u.num, 10),
		"QuantityDenominator": strconv.FormatInt(u.den, 10),
		"BaseUnit":            v.baseUnit(i),
	}
}

func (v *masterView) unitsOfMeasure(i int) []record {
	out := make([]record, unitsPerProduct)
	for slot := range out {
		out[slot] = v.unitOfMeasure(i, slot)
	}
	return out
}

// toBase converts qty in unit to product i's base unit; false when the product has no such unit.
func (v *masterView) toBase(i int, unit string, qty *big.Rat) (*big.Rat, bool) {
	for _, u := range v.units(i) {
		if u.unit == unit {
			return new(big.Rat).Mul(qty, big.NewRat(u.num, u.den)), true
		}
	}
	return nil, false
}

// unitsSource serves A_ProductUnitsOfMeasure: row r is unit r%3 of product r/3, so key reads and a filter on
// Product find their rows without generating the others.
func (v *masterView) unitsSource() *source {
	g := v.g
	return &source{et: etAProductUnitsOfMeasureType, n: g.products * unitsPerProduct,
		at: func(r int) record { return v.unitOfMeasure(r/unitsPerProduct, r%unitsPerProduct) },
		find: func(k map[string]string) (int, bool) {
			pi, ok := productIndex(k["Product"])
			if !ok || pi >= g.products {
				return 0, false
			}
			for slot, u := range v.units(pi) {
				if u.unit == k["AlternativeUnit"] {
					return pi*unitsPerProduct + slot, true
				}
			}
			return 0, false
		},
		narrow: func(f *expr) (int, int) {
			if m, ok := f.eqConstraint("Product"); ok {
				pi, ok := productIndex(m)
				if !ok || pi >= g.products {
					return 0, 0
				}
				return pi * unitsPerProduct, (pi + 1) * unitsPerProduct
			}
			return 0, g.products * unitsPerProduct
		}}
}
