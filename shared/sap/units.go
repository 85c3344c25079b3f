package sap

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
)

// ProductUnits are a product's units of measure (API_PRODUCT_SRV A_ProductUnitsOfMeasure, SAP table MARM).
type ProductUnits struct {
	Product  string
	BaseUnit string
	Units    []UnitOfMeasure // every alternative unit, the base unit included
}

// UnitOfMeasure is one unit of a product in SAP's convention (MARM-UMREZ, MARM-UMREN): quantity in the base unit
// = quantity in AlternativeUnit × QuantityNumerator / QuantityDenominator. For 1 BOX = 12 EA the numerator is 12
// and the denominator 1; for 2 EA = 5 KG (base KG) the numerator is 5 and the denominator 2.
type UnitOfMeasure struct {
	AlternativeUnit     string  `json:"AlternativeUnit"`
	QuantityNumerator   Decimal `json:"QuantityNumerator"`
	QuantityDenominator Decimal `json:"QuantityDenominator"`
}

// Unit returns the product's unit with that code.
func (p ProductUnits) Unit(unit string) (UnitOfMeasure, bool) {
	for _, u := range p.Units {
		if u.AlternativeUnit == unit {
			return u, true
		}
	}
	return UnitOfMeasure{}, false
}

// ToBase converts qty in this unit to the base unit, exactly; false when the conversion is undefined (a zero
// denominator or numerator, which SAP does not store).
func (u UnitOfMeasure) ToBase(qty Decimal) (*big.Rat, bool) {
	num, den := u.QuantityNumerator.Rat(), u.QuantityDenominator.Rat()
	if num.Sign() <= 0 || den.Sign() <= 0 {
		return nil, false
	}
	r := new(big.Rat).Mul(qty.Rat(), num)
	return r.Quo(r, den), true
}

// ProductUnits reads the units of measure of a product; errors.Is(err, ErrNotFound) for an unknown product. The
// base unit is always among Units: MARM holds a 1/1 row for it, and one is added should an answer lack it.
func (c *Client) ProductUnits(ctx context.Context, product string) (ProductUnits, error) {
	// The navigation property is selected as well as expanded: with $select, SAP Gateway returns only what is
	// selected.
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceProduct, path: "A_Product" + keyString("", product),
		query: "$select=Product,BaseUnit,to_ProductUnitsOfMeasure&$expand=to_ProductUnitsOfMeasure"})
	var p struct {
		Product  string                  `json:"Product"`
		BaseUnit string                  `json:"BaseUnit"`
		Units    Expanded[UnitOfMeasure] `json:"to_ProductUnitsOfMeasure"`
	}
	if err == nil {
		err = decodeEntity(resp, &p)
	}
	if err != nil {
		return ProductUnits{}, fmt.Errorf("reading units of measure of SAP product %s: %w", product, err)
	}
	out := ProductUnits{Product: p.Product, BaseUnit: p.BaseUnit, Units: p.Units.Results}
	if _, ok := out.Unit(p.BaseUnit); !ok && p.BaseUnit != "" {
		out.Units = append(out.Units, UnitOfMeasure{AlternativeUnit: p.BaseUnit, QuantityNumerator: MustDecimal("1"),
			QuantityDenominator: MustDecimal("1")})
	}
	return out, nil
}
