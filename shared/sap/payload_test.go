package sap

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestOutboundPayloadsGolden pins the exact JSON the client puts on the wire for its writes.
func TestOutboundPayloadsGolden(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string][]byte{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-CSRF-Token") == "Fetch" {
			w.Header().Set("X-CSRF-Token", "t")
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		key := r.Method + " " + r.URL.Path
		for n := 2; bodies[key] != nil; n++ { // a second write to the same path is "#2"
			key = r.Method + " " + r.URL.Path + "#" + strconv.Itoa(n)
		}
		bodies[key] = b
		mu.Unlock()
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"d":{"SalesOrder":"1"}}`))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ts.Close()
	c, err := New(basicOptions(ts.URL, "u", "p"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	o := order("PO-4711", "10100001")
	o.SalesOrderDate = Date(2025, 6, 1)
	o.TransactionCurrency = "EUR"
	if _, err := c.CreateSalesOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	o.Texts = []SalesOrderTextCreate{{Language: "EN", LongTextID: "0001", LongText: "Dynamics 365 order 6b1f0e6e-2f3a-4f7e-9d2c-2b7c9e1d4a55"}}
	o.Extensions = map[string]string{"YY1_D365OrderID_SDH": "6b1f0e6e-2f3a-4f7e-9d2c-2b7c9e1d4a55", "YY1_D365Source_SDH": "D365-PROD"}
	if _, err := c.CreateSalesOrder(ctx, o); err != nil {
		t.Fatal(err)
	}
	name, blocked := "ACME Corp.", true
	if err := c.UpdateBusinessPartner(ctx, "10100001", `W/"'20250101'"`, BusinessPartnerUpdate{OrganizationBPName1: &name, BusinessPartnerIsBlocked: &blocked}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, file string }{
		{"POST /sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder", "salesorder_create.json"},
		{"POST /sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder#2", "salesorder_create_extended.json"},
		{"PATCH /sap/opu/odata/sap/API_BUSINESS_PARTNER/A_BusinessPartner('10100001')", "businesspartner_update.json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, bodies[tc.key], "", "  "); err != nil {
				t.Fatalf("body of %s: %v (%q)", tc.key, err, bodies[tc.key])
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Fatalf("payload changed:\n%s\nwant:\n%s", pretty.Bytes(), want)
			}
		})
	}
}
