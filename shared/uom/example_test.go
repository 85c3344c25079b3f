package uom_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/d365sap/d365sap/shared/uom"
)

// units stands in for the SAP client that main adapts to uom.Source.
type units map[string]uom.Material

func (u units) Material(_ context.Context, product string) (uom.Material, error) {
	m, ok := u[product]
	if !ok {
		return uom.Material{}, errors.New("not found")
	}
	return m, nil
}

func ExampleConverter_ToBase() {
	c := &uom.Converter{Source: units{"TG11": {Product: "TG11", BaseUnit: "PC", Units: []uom.Unit{
		{Unit: "BOX", Numerator: "12", Denominator: "1"},
	}}}}
	r, _ := c.ToBase(context.Background(), "TG11", "BOX", "2.5")
	fmt.Println(r.Quantity, r.Unit, r.Converted)

	_, err := c.ToBase(context.Background(), "TG11", "PAL", "1")
	var unknown *uom.UnknownUnitError
	fmt.Println(errors.As(err, &unknown), unknown.Units)
	// Output:
	// 30 PC true
	// true [PC BOX]
}
