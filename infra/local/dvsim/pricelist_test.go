package dvsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// priceList is a catalog with a product (unit group G, units "Each" and "Box" in G) on the seeded price list.
type priceList struct {
	*catalog
	product, box string
}

func newPriceList(t *testing.T, o Options) *priceList {
	t.Helper()
	c := newCatalog(t, o)
	if a := send(t, c.Running, "POST", "products", jsonBody(t, c.product("P-1", nil))); a.status != 204 {
		t.Fatalf("product: %d %s", a.status, a.message)
	}
	box := mustInsert(t, c.Running, "uoms", map[string]any{"name": "Box", "quantity": json.Number("12"),
		"uomscheduleid@odata.bind": "/uomschedules(" + c.seeded.UoMSchedule + ")"})
	return &priceList{catalog: c, product: c.Find("products", "productnumber", "P-1")[0]["productid"].(string), box: box}
}

// item is a price list item body; empty ids leave the bind out.
func item(list, product, unit, amount string) string {
	b := map[string]any{"amount": json.Number(amount)}
	for nav, ref := range map[string]string{"pricelevelid": "pricelevels", "productid": "products", "uomid": "uoms"} {
		id := map[string]string{"pricelevelid": list, "productid": product, "uomid": unit}[nav]
		if id != "" {
			b[nav+"@odata.bind"] = "/" + ref + "(" + id + ")"
		}
	}
	out, _ := json.Marshal(b)
	return string(out)
}

// An item is found by its price list, product and unit with $filter on the three lookups, the query a sync uses
// to decide between create and update.
func TestPriceListItemFoundByItsLookups(t *testing.T) {
	p := newPriceList(t, Options{})
	for _, unit := range []string{p.seeded.UoM, p.box} {
		if a := send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, p.product, unit, "10")); a.status != 204 {
			t.Fatalf("item: %d %s %s", a.status, a.code, a.message)
		}
	}
	for _, tc := range []struct {
		name, list, product, unit string
		rows                      int
	}{
		{"each", p.seeded.PriceLevel, p.product, p.seeded.UoM, 1},
		{"box", p.seeded.PriceLevel, p.product, p.box, 1},
		{"another unit", p.seeded.PriceLevel, p.product, p.otherUnit, 0},
		{"another price list", newGUID(), p.product, p.box, 0},
		{"a unit in upper case", p.seeded.PriceLevel, p.product, strings.ToUpper(p.box), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, p.Running, "GET", "productpricelevels?"+query("$select", "amount,productnumber,_uomid_value",
				"$filter", fmt.Sprintf("_pricelevelid_value eq %s and _productid_value eq %s and _uomid_value eq %s", tc.list, tc.product, tc.unit)), "")
			rows, _ := a.body["value"].([]any)
			if a.status != 200 || len(rows) != tc.rows {
				t.Fatalf("status %d, %d rows; want %d: %v", a.status, len(rows), tc.rows, a.body)
			}
			if tc.rows == 1 {
				row := rows[0].(map[string]any)
				if !strings.EqualFold(fmt.Sprint(row["_uomid_value"]), tc.unit) || row["productnumber"] != "P-1" || row["amount"] != json.Number("10.00") {
					t.Errorf("row = %v", row)
				}
			}
		})
	}
}

// A price list holds one item per product and unit; an item needs a price list, a product and a unit of the
// product's unit group; productnumber is copied from the product, not written.
func TestPriceListItemRules(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, p *priceList)
		do    func(t *testing.T, p *priceList) answer
		code  string // "" = written
	}{
		{"second unit of the product", nil, func(t *testing.T, p *priceList) answer {
			return send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, p.product, p.box, "120"))
		}, ""},
		{"same product and unit again", nil, func(t *testing.T, p *priceList) answer {
			return send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, p.product, p.seeded.UoM, "11"))
		}, codeDuplicatePriceListItem},
		{"same product and unit on another price list", nil, func(t *testing.T, p *priceList) answer {
			other := mustInsert(t, p.Running, "pricelevels", map[string]any{"name": "Export"})
			return send(t, p.Running, "POST", "productpricelevels", item(other, p.product, p.seeded.UoM, "11"))
		}, ""},
		{"moving an item onto a taken unit", func(t *testing.T, p *priceList) {
			if a := send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, p.product, p.box, "120")); a.status != 204 {
				t.Fatalf("box item: %d %s", a.status, a.message)
			}
		}, func(t *testing.T, p *priceList) answer {
			box := p.Find("productpricelevels", "uomid", p.box)[0]["productpricelevelid"].(string)
			return send(t, p.Running, "PATCH", "productpricelevels("+box+")", `{"uomid@odata.bind":"/uoms(`+p.seeded.UoM+`)"}`, "If-Match", "*")
		}, codeDuplicatePriceListItem},
		{"unit of another unit group", nil, func(t *testing.T, p *priceList) answer {
			return send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, p.product, p.otherUnit, "1"))
		}, codeProductInvalidUnit},
		{"without a price list", nil, func(t *testing.T, p *priceList) answer {
			return send(t, p.Running, "POST", "productpricelevels", item("", p.product, p.box, "1"))
		}, codeMissingPriceLevelID},
		{"without a product", nil, func(t *testing.T, p *priceList) answer {
			return send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, "", p.box, "1"))
		}, codeMissingProductID},
		{"without a unit", nil, func(t *testing.T, p *priceList) answer {
			return send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, p.product, "", "1"))
		}, codeMissingUomID},
		{"writing productnumber", nil, func(t *testing.T, p *priceList) answer {
			body := item(p.seeded.PriceLevel, p.product, p.box, "1")
			return send(t, p.Running, "POST", "productpricelevels", body[:len(body)-1]+`,"productnumber":"X"}`)
		}, codeInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPriceList(t, Options{})
			if a := send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, p.product, p.seeded.UoM, "10")); a.status != 204 {
				t.Fatalf("first item: %d %s %s", a.status, a.code, a.message)
			}
			if tc.setup != nil {
				tc.setup(t, p)
			}
			before := p.Writes("productpricelevels")
			a := tc.do(t, p)
			switch {
			case tc.code == "" && a.status >= 400:
				t.Fatalf("status %d %s %s; want written", a.status, a.code, a.message)
			case tc.code != "" && (a.status != 400 || a.code != tc.code):
				t.Fatalf("status %d %s %s; want 400 %s", a.status, a.code, a.message, tc.code)
			case tc.code != "" && p.Writes("productpricelevels").Sub(before).Total() != 0:
				t.Fatalf("writes %+v after a refused request", p.Writes("productpricelevels").Sub(before))
			}
			for _, row := range p.Find("productpricelevels", "productid", p.product) {
				if row["productnumber"] != "P-1" {
					t.Errorf("item productnumber = %v; want the product's", row["productnumber"])
				}
			}
		})
	}
}

// amount keeps the organization's pricing precision: Dataverse stores a price rounded to pricingdecimalprecision
// decimals (2 by default) rather than refusing the extra decimals.
func TestPriceListItemAmountPrecision(t *testing.T) {
	for _, tc := range []struct {
		name          string
		precision     int
		amount, again string // created with amount, then updated with again
		want          string
	}{
		{"default two decimals, rounded up", 0, "12.3456", "12.34561", "12.35"},
		{"default two decimals, rounded down", 0, "12.344", "12.3441", "12.34"},
		{"whole number", 0, "10", "10.001", "10.00"},
		{"below one", 0, "0.5", "0.4999", "0.50"},
		{"four decimals", 4, "12.34567", "12.345671", "12.3457"},
		{"one decimal", 1, "99.96", "99.9501", "100.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPriceList(t, Options{PricingDecimalPrecision: tc.precision})
			if a := send(t, p.Running, "POST", "productpricelevels", item(p.seeded.PriceLevel, p.product, p.seeded.UoM, tc.amount)); a.status != 204 {
				t.Fatalf("create: %d %s %s", a.status, a.code, a.message)
			}
			id := p.Find("productpricelevels", "productid", p.product)[0]["productpricelevelid"].(string)
			if row, _ := p.Get("productpricelevels", id); row["amount"] != json.Number(tc.want) {
				t.Errorf("created amount = %v; want %s", row["amount"], tc.want)
			}
			if a := send(t, p.Running, "PATCH", "productpricelevels("+id+")", `{"amount":`+tc.again+`}`, "If-Match", "*"); a.status != 204 {
				t.Fatalf("update: %d %s %s", a.status, a.code, a.message)
			}
			if row, _ := p.Get("productpricelevels", id); row["amount"] != json.Number(tc.want) {
				t.Errorf("updated amount = %v; want %s", row["amount"], tc.want)
			}
		})
	}
}
