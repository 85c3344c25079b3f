package sapsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestLookupByReferenceStaysCheap pins what the order-push soak found: a lookup by PurchaseOrderByCustomer must
// not copy every stored order, or it slows down as the simulator fills (30 ms a lookup at 8,000 orders).
func TestLookupByReferenceStaysCheap(t *testing.T) {
	s := New(Options{Customers: 5, Products: 5})
	for i := range 3000 {
		_, err := s.createSalesOrder(record{"SalesOrderType": "OR", "SalesOrganization": SalesOrganization,
			"DistributionChannel": DistributionChannel, "OrganizationDivision": Division, "SoldToParty": CustomerID(1),
			"PurchaseOrderByCustomer": fmt.Sprintf("PO-%d", i),
			"to_Item":                 []record{{"Material": ProductID(0), "RequestedQuantity": "1"}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	filter := url.QueryEscape(fmt.Sprintf("PurchaseOrderByCustomer eq 'PO-%d' and SoldToParty eq '%s'", 1234, CustomerID(1)))
	get := func() (int, bool) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder?$format=json&$filter="+filter, nil)
		req.Header.Set("Accept", "application/json")
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("lookup: %d %s", rec.Code, rec.Body.String())
		}
		var body struct {
			D struct {
				Results []map[string]any `json:"results"`
			} `json:"d"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if len(body.D.Results) == 1 && body.D.Results[0]["PurchaseOrderByCustomer"] != "PO-1234" {
			t.Fatalf("wrong order found: %v", body.D.Results[0])
		}
		return len(body.D.Results), true
	}
	s.store.mu.Lock()
	s.store.copied = 0
	s.store.mu.Unlock()
	if n, _ := get(); n != 1 {
		t.Fatalf("found %d orders, want 1", n)
	}
	s.store.mu.Lock()
	copied := s.store.copied
	s.store.mu.Unlock()
	if copied != 1 {
		t.Fatalf("a lookup by reference copied %d orders, want 1", copied)
	}
}
