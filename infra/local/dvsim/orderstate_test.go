package dvsim

import (
	"strconv"
	"strings"
	"testing"
)

// A sales order closes only through its actions, once, and cannot be edited once closed: the statuses SAP sends
// must land before the order is closed, and a second close is refused.
func TestSalesOrderStates(t *testing.T) {
	fulfil := func(order string, status int) (string, string, string) {
		return "POST", "salesorders/Microsoft.Dynamics.CRM.FulfillSalesOrder", `{"OrderClose":{"@odata.type":"Microsoft.Dynamics.CRM.orderclose","salesorderid@odata.bind":"/salesorders(` + order + `)"},"Status":` + strconv.Itoa(status) + `}`
	}
	cancel := func(order string) (string, string, string) {
		return "POST", "CancelSalesOrder", `{"OrderClose":{"@odata.type":"Microsoft.Dynamics.CRM.orderclose","salesorderid@odata.bind":"/salesorders(` + order + `)"},"Status":4}`
	}
	type step struct {
		do     func(order string) (string, string, string)
		status int
		text   string // in the error message
	}
	patch := func(body string) func(string) (string, string, string) {
		return func(o string) (string, string, string) { return "PATCH", "salesorders(" + o + ")", body }
	}
	tests := []struct {
		name  string
		steps []step
		state string
	}{
		{"fulfilled through the bound action", []step{{func(o string) (string, string, string) { return fulfil(o, 100001) }, 204, ""}}, "3"},
		{"partly fulfilled", []step{{func(o string) (string, string, string) { return fulfil(o, 100002) }, 204, ""}}, "3"},
		{"the unbound form of FulfillSalesOrder does not exist", []step{{func(o string) (string, string, string) {
			m, _, b := fulfil(o, 100001)
			return m, "FulfillSalesOrder", b
		}, 404, "Resource not found"}}, "0"},
		{"fulfilled with a cancel's status", []step{{func(o string) (string, string, string) { return fulfil(o, 4) }, 400, "does not accept Status"}}, "0"},
		{"canceled", []step{{cancel, 204, ""}}, "2"},
		{"closed twice", []step{{cancel, 204, ""}, {func(o string) (string, string, string) { return fulfil(o, 100001) }, 400, "not active"}}, "2"},
		{"edited before it closes", []step{{patch(`{"submitstatusdescription":"delivered"}`), 204, ""}, {func(o string) (string, string, string) { return fulfil(o, 100001) }, 204, ""}}, "3"},
		{"edited after it closed", []step{{func(o string) (string, string, string) { return fulfil(o, 100001) }, 204, ""}, {patch(`{"submitstatusdescription":"late"}`), 400, "read-only"}}, "3"},
		{"closed by an update", []step{{patch(`{"statecode":3,"statuscode":100001}`), 400, "FulfillSalesOrderRequest"}}, "0"},
		{"canceled by an update", []step{{patch(`{"statecode":2,"statuscode":4}`), 400, "CancelSalesOrderRequest"}}, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, Options{})
			seeded, err := r.Seed(SeedOptions{Accounts: 1, Products: 1, Orders: 1, LinesPerOrder: 1})
			if err != nil {
				t.Fatal(err)
			}
			order := seeded.Orders[0]
			for i, s := range tt.steps {
				m, p, b := s.do(order)
				a := send(t, r, m, p, b)
				if a.status != s.status || s.text != "" && !strings.Contains(a.message, s.text) {
					t.Fatalf("step %d (%s %s): %d %q, want %d with %q", i, m, p, a.status, a.message, s.status, s.text)
				}
			}
			a := send(t, r, "GET", "salesorders("+order+")?$select=statecode", "")
			if got := a.body["statecode"]; got == nil || got.(interface{ String() string }).String() != tt.state {
				t.Fatalf("statecode %v, want %s", a.body["statecode"], tt.state)
			}
		})
	}
}
