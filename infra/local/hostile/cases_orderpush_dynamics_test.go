package hostile

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// dynamicsEdit is a hostile order as Dynamics holds it: what is planted in the Dataverse simulator and pushed by
// its id. The values come from Dynamics, not from the caller, and meet the same checks: each of these is a 400
// naming the Dataverse column (or the mapped member) before anything is recorded or sent to SAP.
type dynamicsEdit struct {
	name  string
	field string // the field the 400 names
	// account is the customer's account number; none plants an order without a customer.
	account string
	none    bool
	// lines are the order's lines: product number, unit name and quantity of each.
	lines []dynamicsLine
	// order sets more of the order's own columns.
	order map[string]any
}

type dynamicsLine struct {
	product, unit string
	quantity      string
}

// dynamicsEdits are planted once, by plantDynamics; their cases are dynamicsCases.
func (w *world) dynamicsEdits() []dynamicsEdit {
	one := []dynamicsLine{{w.product, "Each", "1"}}
	return []dynamicsEdit{
		{name: "an account number that is an OData filter", field: "customerAccountNumber", account: "' or 1 eq 1", lines: one},
		{name: "an account number that closes a key", field: "customerAccountNumber", account: "1')/$batch?", lines: one},
		{name: "an account number of 20 characters", field: "customerAccountNumber", account: strings.Repeat("9", 20), lines: one},
		{name: "no customer", field: "salesorder/customerid/accountnumber", none: true, lines: one},
		{name: "a blank account number", field: "salesorder/customerid/accountnumber", account: "   ", lines: one},
		{name: "no lines", field: "salesorder/order_details", account: w.customer},
		{name: "a product number of 41 characters", field: "lines/0/productNumber", account: w.customer,
			lines: []dynamicsLine{{strings.Repeat("M", 41), "Each", "1"}}},
		{name: "a product number that is a path", field: "lines/0/productNumber", account: w.customer,
			lines: []dynamicsLine{{"../../A_BusinessPartner('1')/to_Customer/" + strings.Repeat("x", 20), "Each", "1"}}},
		{name: "a unit that maps to nothing", field: "lines/0/unit", account: w.customer, lines: []dynamicsLine{{w.product, "Barrel", "1"}}},
		{name: "a quantity of four decimals", field: "lines/0/quantity", account: w.customer, lines: []dynamicsLine{{w.product, "Each", "1.0001"}}},
		{name: "a negative quantity", field: "salesorder/order_details/0/quantity", account: w.customer, lines: []dynamicsLine{{w.product, "Each", "-1"}}},
		{name: "a zero quantity", field: "salesorder/order_details/0/quantity", account: w.customer, lines: []dynamicsLine{{w.product, "Each", "0"}}},
		{name: "payment terms that map to nothing", field: "paymentTerms", account: w.customer, lines: one,
			order: map[string]any{"paymenttermscode": json.Number("77")}},
	}
}

// plantDynamics puts every hostile Dynamics order into the simulator and keeps their ids by name.
func (w *world) plantDynamics(t *testing.T, uom string) {
	t.Helper()
	w.dynamics = map[string]string{}
	units := map[string]string{"Each": uom}
	for _, e := range w.dynamicsEdits() {
		order := map[string]any{"name": "hostile " + e.name, "ordernumber": fmt.Sprintf("ORD-HOSTILE-D%d", len(w.dynamics))}
		for k, v := range e.order {
			order[k] = v
		}
		if !e.none {
			order["customerid_account@odata.bind"] = "/accounts(" + w.dvAccount(t, e.account) + ")"
		}
		var lines []any
		for i, l := range e.lines {
			if units[l.unit] == "" {
				id, err := w.dv.Insert("uoms", map[string]any{"name": l.unit, "quantity": json.Number("1")})
				if err != nil {
					t.Fatal(err)
				}
				units[l.unit] = id
			}
			lines = append(lines, map[string]any{"productid@odata.bind": "/products(" + w.dvProduct(t, l.product, uom) + ")",
				"uomid@odata.bind": "/uoms(" + units[l.unit] + ")", "quantity": json.Number(l.quantity), "lineitemnumber": json.Number(fmt.Sprint(i + 1))})
		}
		if lines != nil {
			order["order_details"] = lines
		}
		id, err := w.dv.Insert("salesorders", order)
		if err != nil {
			t.Fatalf("planting %s: %v", e.name, err)
		}
		w.dynamics[e.name] = id
	}
}

// dynamicsCases push each planted order by id: the 400 names the column, nothing is recorded, SAP is not called.
func dynamicsCases(w *world) []hcase {
	var out []hcase
	for _, e := range w.dynamicsEdits() {
		out = append(out, hcase{class: injection, name: "from Dynamics: " + e.name, req: w.post(byID(w.dynamics[e.name])),
			want: invalid(e.field), allow: readsDV})
	}
	return out
}

// dvAccount is the id of the account with that number, created when there is none.
func (w *world) dvAccount(t *testing.T, number string) string {
	t.Helper()
	if rows := w.dv.Find("accounts", "accountnumber", number); len(rows) > 0 {
		return fmt.Sprint(rows[0]["accountid"])
	}
	id, err := w.dv.Insert("accounts", map[string]any{"name": "Customer " + number, "accountnumber": number})
	if err != nil {
		t.Fatalf("planting account %q: %v", number, err)
	}
	return id
}

// dvProduct is the id of the product with that number, created (with uom as its default unit) when there is none.
func (w *world) dvProduct(t *testing.T, number, uom string) string {
	t.Helper()
	if rows := w.dv.Find("products", "productnumber", number); len(rows) > 0 {
		return fmt.Sprint(rows[0]["productid"])
	}
	id, err := w.dv.Insert("products", map[string]any{"name": number, "productnumber": number, "defaultuomid@odata.bind": "/uoms(" + uom + ")"})
	if err != nil {
		t.Fatalf("planting product %q: %v", number, err)
	}
	return id
}
