package dvsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

var totalColumns = []string{"totallineitemamount", "totallineitemdiscountamount", "totaldiscountamount",
	"totalamountlessfreight", "totaltax", "totalamount"}

// num is a JSON number for a request body.
func num(s string) json.Number { return json.Number(s) }

// Line amounts and invoice totals come out to the cent: prices from the price list or as given (overridden,
// write-in), kept at the pricing precision; amounts rounded to the currency's 2 decimals; discounts and tax as
// D365 Sales adds them up.
func TestInvoiceTotals(t *testing.T) {
	type line struct{ price, base, ext, pricingErr string }
	tests := []struct {
		name      string
		precision int
		header    map[string]any
		lines     []map[string]any // changes to a line of one unit of product 1 (11.50 on the price list)
		want      []line
		totals    []string // totallineitemamount, totallineitemdiscountamount, totaldiscountamount, totalamountlessfreight, totaltax, totalamount
	}{
		{"price from the price list", 0, nil, []map[string]any{{"quantity": num("2")}},
			[]line{{"11.50", "23.00", "23.00", "0"}}, []string{"23.00", "0.00", "0.00", "23.00", "0.00", "23.00"}},
		{"overridden price, manual discount and tax", 0, nil,
			[]map[string]any{{"ispriceoverridden": true, "priceperunit": num("19.99"), "quantity": num("3"), "manualdiscountamount": num("5"), "tax": num("10.45")}},
			[]line{{"19.99", "59.97", "65.42", "0"}}, []string{"54.97", "5.00", "5.00", "54.97", "10.45", "65.42"}},
		{"write-in product", 0, nil,
			[]map[string]any{{"productid@odata.bind": nil, "uomid@odata.bind": nil, "isproductoverridden": true, "productdescription": "Handling",
				"priceperunit": num("7.5"), "quantity": num("2")}},
			[]line{{"7.50", "15.00", "15.00", "0"}}, []string{"15.00", "0.00", "0.00", "15.00", "0.00", "15.00"}},
		{"a price with more decimals than the precision is rounded", 2, nil,
			[]map[string]any{{"ispriceoverridden": true, "priceperunit": num("10.555"), "quantity": num("2"), "manualdiscountamount": num("1.004")}},
			[]line{{"10.56", "21.12", "20.12", "0"}}, []string{"20.12", "1.00", "1.00", "20.12", "0.00", "20.12"}},
		{"3.333 times 3 is 10.00, not 9.999", 3, nil,
			[]map[string]any{{"ispriceoverridden": true, "priceperunit": num("3.333"), "quantity": num("3")}},
			[]line{{"3.333", "10.00", "10.00", "0"}}, []string{"10.00", "0.00", "0.00", "10.00", "0.00", "10.00"}},
		{"a price list price at the pricing precision", 4, nil, []map[string]any{{"quantity": num("3")}},
			[]line{{"11.5000", "34.50", "34.50", "0"}}, []string{"34.50", "0.00", "0.00", "34.50", "0.00", "34.50"}},
		{"header discount amount, percentage and freight", 0,
			map[string]any{"discountamount": num("2"), "discountpercentage": num("10"), "freightamount": num("4.95")},
			[]map[string]any{{"quantity": num("4")},
				{"ispriceoverridden": true, "priceperunit": num("10"), "manualdiscountamount": num("1"), "tax": num("1.71")}},
			[]line{{"11.50", "46.00", "46.00", "0"}, {"10.00", "10.00", "10.71", "0"}},
			[]string{"55.00", "1.00", "8.50", "47.50", "1.71", "54.16"}},
		{"a percentage discount is rounded to the cent", 0, map[string]any{"discountpercentage": num("3.33")},
			[]map[string]any{{}}, []line{{"11.50", "11.50", "11.50", "0"}}, []string{"11.50", "0.00", "0.38", "11.12", "0.00", "11.12"}},
		{"negative tax lowers the total", 0, nil, []map[string]any{{"tax": num("-1.50")}},
			[]line{{"11.50", "11.50", "10.00", "0"}}, []string{"11.50", "0.00", "0.00", "11.50", "-1.50", "10.00"}},
		{"a product not on the price list in that unit gets a pricing error", 0, nil, []map[string]any{{"uomid@odata.bind": "each", "quantity": num("2")}},
			[]line{{"0.00", "0.00", "0.00", "11"}}, []string{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00"}},
		{"an invoice without a price list", 0, map[string]any{"pricelevelid@odata.bind": nil}, []map[string]any{{}},
			[]line{{"0.00", "0.00", "0.00", "2"}}, []string{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00"}},
		{"a line without a quantity", 0, nil, []map[string]any{{"quantity": nil}},
			[]line{{"11.50", "0.00", "0.00", "4"}}, []string{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00"}},
		{"an overridden price that was not given", 0, nil, []map[string]any{{"ispriceoverridden": true}},
			[]line{{"0.00", "0.00", "0.00", "5"}}, []string{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBilling(t, Options{PricingDecimalPrecision: tc.precision})
			each := b.Find("uoms", "name", "Each")[0]["uomid"].(string)
			var lines []map[string]any
			for i, l := range tc.lines {
				if l["uomid@odata.bind"] == "each" {
					l["uomid@odata.bind"] = "/uoms(" + each + ")"
				}
				extra := map[string]any{"lineitemnumber": num(fmt.Sprint(i + 1))}
				for k, v := range l {
					extra[k] = v
				}
				lines = append(lines, b.line("90000100", extra))
			}
			b.create(t, "90000100", b.header(tc.header), lines...)
			inv, got := b.read(t, "90000100")
			if len(got) != len(tc.want) {
				t.Fatalf("%d lines; want %d", len(got), len(tc.want))
			}
			for i, w := range tc.want {
				g := line{fmt.Sprint(got[i]["priceperunit"]), fmt.Sprint(got[i]["baseamount"]), fmt.Sprint(got[i]["extendedamount"]),
					fmt.Sprint(got[i]["pricingerrorcode"])}
				if g != w {
					t.Errorf("line %d: price, amount, extended, pricing error = %v; want %v", i+1, g, w)
				}
			}
			for i, col := range totalColumns {
				if g := fmt.Sprint(inv[col]); g != tc.totals[i] {
					t.Errorf("%s = %s; want %s", col, g, tc.totals[i])
				}
			}
		})
	}
}

// What the platform refuses in invoice and line writes: negative discounts and percentages beyond 100 (range
// checks), malformed write-ins, computed columns, a line without an invoice.
func TestInvoiceWritesRefused(t *testing.T) {
	b := newBilling(t, Options{})
	b.create(t, "90000200", b.header(nil))
	tests := []struct {
		name, method, path string
		body               map[string]any
		code, text         string
	}{
		{"negative manual discount", "POST", "invoicedetails", b.line("90000200", map[string]any{"manualdiscountamount": num("-1")}), codeValidation, "outside the valid range"},
		{"negative invoice discount", "PATCH", byKey("90000200"), map[string]any{"discountamount": num("-0.01")}, codeValidation, "outside the valid range"},
		{"a discount percentage over 100", "PATCH", byKey("90000200"), map[string]any{"discountpercentage": num("100.5")}, codeValidation, "outside the valid range"},
		{"negative freight", "PATCH", byKey("90000200"), map[string]any{"freightamount": num("-5")}, codeValidation, "outside the valid range"},
		{"a write-in without a description", "POST", "invoicedetails", b.line("90000200", map[string]any{"productid@odata.bind": nil, "isproductoverridden": true, "priceperunit": num("1")}), codeInvalidArgument, "productdescription"},
		{"a write-in naming a product", "POST", "invoicedetails", b.line("90000200", map[string]any{"isproductoverridden": true, "productdescription": "x"}), codeInvalidArgument, "productid"},
		{"a line amount", "POST", "invoicedetails", b.line("90000200", map[string]any{"baseamount": num("1")}), codeInvalidArgument, "read-only"},
		{"a volume discount", "POST", "invoicedetails", b.line("90000200", map[string]any{"volumediscountamount": num("1")}), codeInvalidArgument, "read-only"},
		{"a pricing error code", "POST", "invoicedetails", b.line("90000200", map[string]any{"pricingerrorcode": num("0")}), codeInvalidArgument, "read-only"},
		{"an invoice total", "PATCH", byKey("90000200"), map[string]any{"totalamount": num("1")}, codeInvalidArgument, "read-only"},
		{"a line without an invoice", "POST", "invoicedetails", b.line("", map[string]any{"invoiceid@odata.bind": nil}), codeValidation, "'invoiceid'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			version := b.Version()
			a := send(t, b.Running, tc.method, tc.path, jsonBody(t, tc.body))
			if a.status != 400 || a.code != tc.code || !strings.Contains(a.message, tc.text) {
				t.Fatalf("%d %q %q; want 400 %q %q", a.status, a.code, a.message, tc.code, tc.text)
			}
			if b.Version() != version {
				t.Error("a refused write moved the version")
			}
		})
	}
}

// Totals follow every write of a line or of the header's discount and freight, whatever the message, and a
// representation returned by a write shows the computed values. Prices of a locked invoice are kept as given;
// unlocking prices the lines from the price list again.
func TestInvoiceTotalsFollowWritesAndLock(t *testing.T) {
	b := newBilling(t, Options{})
	b.create(t, "90000300", b.header(nil), b.line("90000300", map[string]any{"quantity": num("2"), "lineitemnumber": num("1")}))
	_, lines := b.read(t, "90000300")
	first := "invoicedetails(" + lines[0]["invoicedetailid"].(string) + ")"
	steps := []struct {
		name, method, path string
		body               map[string]any
		lineAmounts        string // each line's priceperunit×quantity=baseamount, by line number
		total              string
	}{
		{"a line written with a price it does not override takes the list price", "POST", "invoicedetails",
			b.line("90000300", map[string]any{"priceperunit": num("9"), "lineitemnumber": num("2")}), "11.50×2=23.00 11.50×1=11.50", "34.50"},
		{"freight", "PATCH", byKey("90000300"), map[string]any{"freightamount": num("5")}, "11.50×2=23.00 11.50×1=11.50", "39.50"},
		{"a manual discount on a line", "PATCH", first, map[string]any{"manualdiscountamount": num("3")}, "11.50×2=23.00 11.50×1=11.50", "36.50"},
		{"locked", "PATCH", byKey("90000300"), map[string]any{"ispricelocked": true}, "11.50×2=23.00 11.50×1=11.50", "36.50"},
		{"a line on a locked invoice keeps its given price", "POST", "invoicedetails",
			b.line("90000300", map[string]any{"priceperunit": num("9"), "lineitemnumber": num("3")}), "11.50×2=23.00 11.50×1=11.50 9.00×1=9.00", "45.50"},
		{"unlocked: the lines are priced from the list again", "PATCH", byKey("90000300"), map[string]any{"ispricelocked": false},
			"11.50×2=23.00 11.50×1=11.50 11.50×1=11.50", "48.00"},
		{"a line deleted", "DELETE", first, nil, "11.50×1=11.50 11.50×1=11.50", "28.00"},
		{"a line updated through UpdateMultiple", "POST", "invoicedetails/Microsoft.Dynamics.CRM.UpdateMultiple", nil,
			"11.50×4=46.00 11.50×1=11.50", "62.50"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			body := ""
			if s.body != nil {
				body = jsonBody(t, s.body)
			}
			if strings.HasSuffix(s.path, "UpdateMultiple") {
				_, ls := b.read(t, "90000300")
				body = `{"Targets":[{"@odata.type":"Microsoft.Dynamics.CRM.invoicedetail","invoicedetailid":"` + ls[0]["invoicedetailid"].(string) + `","quantity":4}]}`
			}
			a := send(t, b.Running, s.method, s.path, body, "Prefer", "return=representation")
			if a.status >= 300 {
				t.Fatalf("%d %s %s", a.status, a.code, a.message)
			}
			if s.method == "POST" && a.status == 201 && a.body["baseamount"] == nil {
				t.Errorf("the representation lacks the computed amount: %v", a.body)
			}
			inv, ls := b.read(t, "90000300")
			var got []string
			for _, l := range ls {
				q, _ := ratOf(l["quantity"])
				got = append(got, fmt.Sprintf("%v×%s=%v", l["priceperunit"], q.RatString(), l["baseamount"]))
				if l["invoiceispricelocked"] != inv["ispricelocked"] {
					t.Errorf("line invoiceispricelocked %v, invoice %v", l["invoiceispricelocked"], inv["ispricelocked"])
				}
			}
			if strings.Join(got, " ") != s.lineAmounts || inv["totalamount"] != json.Number(s.total) {
				t.Errorf("lines %v, total %v; want %s, %s", got, inv["totalamount"], s.lineAmounts, s.total)
			}
		})
	}
}
