package main

import (
	"context"

	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/uom"
)

// sapUnits hands the unit converter SAP's units of measure of a material (A_ProductUnitsOfMeasure).
type sapUnits struct{ c *sap.Client }

func (u sapUnits) Material(ctx context.Context, product string) (uom.Material, error) {
	p, err := u.c.ProductUnits(ctx, product)
	if err != nil {
		return uom.Material{}, err
	}
	m := uom.Material{Product: p.Product, BaseUnit: p.BaseUnit}
	for _, x := range p.Units {
		m.Units = append(m.Units, uom.Unit{Unit: x.AlternativeUnit, Numerator: x.QuantityNumerator.String(), Denominator: x.QuantityDenominator.String()})
	}
	return m, nil
}
