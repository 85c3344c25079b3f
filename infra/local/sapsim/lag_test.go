package sapsim

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestSearchLagHidesNewOrders: a lookup right after a create (or after a lost answer) finds nothing until the lag
// is over, which is what makes "look it up, and create it if it is not there" unsafe on its own.
func TestSearchLagHidesNewOrders(t *testing.T) {
	clock := newClock()
	c := newSim(t, Options{Now: clock.Now, Faults: Faults{SearchLag: Duration(5 * time.Minute)}})
	c.fetchCSRF()
	resp, body := c.write("POST", soPath+"A_SalesOrder", orderWith(`"YY1_D365OrderID_SDH":"`+orderID+`",`+twoTexts), nil)
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"SalesOrder":"1"`) {
		t.Fatalf("the create must still answer at once: %d %s", resp.StatusCode, body)
	}
	reads := []struct {
		name, path string
		visible    string // what the answer holds once the order is visible
	}{
		{"key read", "A_SalesOrder('1')", `"SalesOrder":"1"`},
		{"lookup by customer reference", "A_SalesOrder?$filter=" + url.QueryEscape("PurchaseOrderByCustomer eq 'PO-1'"), `"SalesOrder":"1"`},
		{"lookup by extension field", "A_SalesOrder?$filter=" + url.QueryEscape("YY1_D365OrderID_SDH eq '"+orderID+"'"), `"SalesOrder":"1"`},
		{"texts of the order", "A_SalesOrder('1')/to_Text", `"LongTextID":"0001"`},
		{"text entity set", "A_SalesOrderText", `"LongTextID":"0001"`},
		{"item entity set", "A_SalesOrderItem", `"SalesOrderItem":"10"`},
	}
	check := func(t *testing.T, visible bool) {
		for _, r := range reads {
			t.Run(r.name, func(t *testing.T) {
				resp, body := c.do("GET", soPath+r.path, "", nil)
				if got := strings.Contains(string(body), r.visible); got != visible {
					t.Fatalf("visible %v, want %v: %d %s", got, visible, resp.StatusCode, body)
				}
				if !visible && resp.StatusCode != 200 && resp.StatusCode != 404 {
					t.Fatalf("status %d", resp.StatusCode)
				}
			})
		}
	}
	t.Run("just committed", func(t *testing.T) { check(t, false) })
	if n := len(c.srv.Orders()); n != 1 || c.srv.Stats().SalesOrders != 1 {
		t.Fatalf("the order must exist in SAP meanwhile: %d", n)
	}
	if st := c.srv.Stats(); st.ReadsMissingLagged != len(reads) {
		t.Fatalf("%d reads counted as missing a lagged order, want %d", st.ReadsMissingLagged, len(reads))
	}
	clock.advance(5*time.Minute - time.Millisecond)
	t.Run("just before the lag is over", func(t *testing.T) { check(t, false) })
	clock.advance(time.Millisecond)
	t.Run("after the lag", func(t *testing.T) { check(t, true) })
}
