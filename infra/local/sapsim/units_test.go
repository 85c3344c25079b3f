package sapsim

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"testing"
)

const productPath = "/sap/opu/odata/sap/API_PRODUCT_SRV/"

// productWithBase finds a generated product kept in the given base unit.
func productWithBase(t *testing.T, s *Server, base string) int {
	t.Helper()
	for i := range s.opts.Products {
		if s.gen.baseUnit(i) == base {
			return i
		}
	}
	t.Fatalf("no generated product has base unit %s", base)
	return 0
}

type uomRow struct {
	Product, AlternativeUnit, BaseUnit     string
	QuantityNumerator, QuantityDenominator string
}

func decodeUnits(t *testing.T, body []byte) []uomRow {
	t.Helper()
	var page struct {
		D struct {
			Results []uomRow `json:"results"`
			uomRow
			Units struct {
				Results []uomRow `json:"results"`
			} `json:"to_ProductUnitsOfMeasure"`
		} `json:"d"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	switch {
	case len(page.D.Results) > 0:
		return page.D.Results
	case len(page.D.Units.Results) > 0:
		return page.D.Units.Results
	case page.D.AlternativeUnit != "":
		return []uomRow{page.D.uomRow}
	}
	return nil
}

func TestUnitsOfMeasure(t *testing.T) {
	c := newSim(t, Options{Products: 30})
	kg := ProductID(productWithBase(t, c.srv, "KG"))
	ea := ProductID(productWithBase(t, c.srv, "EA"))
	for _, tc := range []struct {
		name, path string
		want       string // "unit num/den" of every row, in order
	}{
		{"entity set filtered by product", "A_ProductUnitsOfMeasure?$filter=" + url.QueryEscape("Product eq '"+kg+"'"), "BOX 12/1, EA 5/2, KG 1/1"},
		{"navigation from the product", "A_Product('" + ea + "')/to_ProductUnitsOfMeasure", "BOX 12/1, EA 1/1, PAL 480/1"},
		{"expanded with the product", "A_Product('" + kg + "')?$select=Product,BaseUnit&$expand=to_ProductUnitsOfMeasure", "BOX 12/1, EA 5/2, KG 1/1"},
		{"by both keys", "A_ProductUnitsOfMeasure(Product='" + kg + "',AlternativeUnit='EA')", "EA 5/2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.do("GET", productPath+tc.path, "", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var got []string
			for _, u := range decodeUnits(t, body) {
				got = append(got, fmt.Sprintf("%s %s/%s", u.AlternativeUnit, u.QuantityNumerator, u.QuantityDenominator))
			}
			if strings.Join(got, ", ") != tc.want {
				t.Fatalf("units %q, want %q", strings.Join(got, ", "), tc.want)
			}
		})
	}
	t.Run("a unit the product lacks", func(t *testing.T) {
		if resp, body := c.do("GET", productPath+"A_ProductUnitsOfMeasure(Product='"+kg+"',AlternativeUnit='PAL')", "", nil); resp.StatusCode != 404 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("every product has its base unit at 1/1", func(t *testing.T) {
		resp, body := c.do("GET", productPath+"A_ProductUnitsOfMeasure", "", nil)
		rows := decodeUnits(t, body)
		if resp.StatusCode != 200 || len(rows) != 30*unitsPerProduct {
			t.Fatalf("status %d, %d rows", resp.StatusCode, len(rows))
		}
		base := map[string]bool{}
		for _, u := range rows {
			if u.AlternativeUnit == u.BaseUnit && u.QuantityNumerator == "1" && u.QuantityDenominator == "1" {
				base[u.Product] = true
			}
		}
		if len(base) != 30 {
			t.Fatalf("%d products list their base unit at 1/1", len(base))
		}
	})
}

// TestOrderUnitMustBeMaintained: SD prices and confirms in the base unit, so an order unit needs a conversion.
func TestOrderUnitMustBeMaintained(t *testing.T) {
	c := newSim(t, Options{Products: 30})
	c.fetchCSRF()
	kgIndex := productWithBase(t, c.srv, "KG")
	pcIndex := productWithBase(t, c.srv, "PC")
	for _, tc := range []struct {
		name    string
		product int
		unit    string
		qty     string
		baseQty string // quantity priced, in the base unit; "" when the create must fail
	}{
		{"base unit", kgIndex, "KG", "3", "3"},
		{"box of twelve", pcIndex, "BOX", "2", "24"},
		{"pack of 2.5 kg", kgIndex, "EA", "2", "5"},
		{"no unit: the base unit", kgIndex, "", "1.5", "1.5"},
		{"pallet not maintained", pcIndex, "PAL", "1", ""},
		{"unknown unit", kgIndex, "XYZ", "1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unit := ""
			if tc.unit != "" {
				unit = `,"RequestedQuantityUnit":"` + tc.unit + `"`
			}
			body := fmt.Sprintf(`{"SalesOrderType":"OR","SalesOrganization":"1010","DistributionChannel":"10","OrganizationDivision":"00",
"SoldToParty":"10100001","to_Item":[{"Material":"%s","RequestedQuantity":"%s"%s}]}`, ProductID(tc.product), tc.qty, unit)
			resp, answer := c.write("POST", soPath+"A_SalesOrder", body, nil)
			if tc.baseQty == "" {
				if resp.StatusCode != 400 {
					t.Fatalf("status %d: %s", resp.StatusCode, answer)
				}
				if e := decodeSAPError(t, answer); e.Error.Code != "V1/093" || !strings.Contains(e.Error.Message.Value, tc.unit) {
					t.Fatalf("error %+v", e.Error)
				}
				return
			}
			if resp.StatusCode != 201 {
				t.Fatalf("status %d: %s", resp.StatusCode, answer)
			}
			var so struct {
				D struct {
					TotalNetAmount string
				} `json:"d"`
			}
			if err := json.Unmarshal(answer, &so); err != nil {
				t.Fatal(err)
			}
			want := new(big.Rat).Mul(ratOf(tc.baseQty), ratOf(c.srv.gen.price(tc.product)))
			if ratOf(so.D.TotalNetAmount).Cmp(ratOf(want.FloatString(2))) != 0 {
				t.Fatalf("net %s, want %s (%s base units)", so.D.TotalNetAmount, want.FloatString(2), tc.baseQty)
			}
		})
	}
}
