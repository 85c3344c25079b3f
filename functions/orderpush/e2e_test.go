package orderpush_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

func TestPushHappyPathAndReplay(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(1), line{sapsim.ProductID(0), "2"}, line{sapsim.ProductID(1), "1.500"})
	before := w.sapOrders()

	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusCreated || a.SAPSalesOrder == "" || a.State != "written-back" {
		t.Fatalf("first push: %d %s", a.Status, a.Raw)
	}
	if loc := a.Header.Get("Location"); !strings.HasSuffix(loc, "/api/orders/"+id) {
		t.Errorf("Location = %q", loc)
	}
	if got := w.sapOrders() - before; got != 1 {
		t.Fatalf("%d SAP orders created, want 1", got)
	}
	row, _ := w.dv.Get("salesorders", id)
	if desc, _ := row["submitstatusdescription"].(string); !strings.Contains(desc, a.SAPSalesOrder) {
		t.Errorf("write-back: submitstatusdescription = %v", row["submitstatusdescription"])
	}
	if row["submitdate"] == nil || row["lastbackofficesubmit"] == nil {
		t.Errorf("write-back dates missing: %v / %v", row["submitdate"], row["lastbackofficesubmit"])
	}

	again := w.push(t, `{"salesorderid":"`+strings.ToUpper(id)+`"}`, nil)
	if again.Status != http.StatusOK || again.SAPSalesOrder != a.SAPSalesOrder {
		t.Fatalf("replay: %d %s", again.Status, again.Raw)
	}
	if got := w.sapOrders() - before; got != 1 {
		t.Fatalf("the replay created an order: %d", got)
	}
	st := w.status(t, id)
	if st.Status != http.StatusOK || st.State != "written-back" || st.SAPSalesOrder != a.SAPSalesOrder {
		t.Fatalf("status: %d %s", st.Status, st.Raw)
	}
}

func TestPushInlineOrder(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(2), line{sapsim.ProductID(3), "1"})
	body := fmt.Sprintf(`{"order":{"salesorderid":%q,"customerAccountNumber":%q,"purchaseOrderNumber":"PO-INLINE-1",
		"requestedDeliveryDate":"2026-12-20","currency":"EUR","paymentTerms":"2",
		"lines":[{"productNumber":%q,"quantity":"4.250","unit":"Each"}]}}`, id, sapsim.CustomerID(2), sapsim.ProductID(5))
	a := w.push(t, body, nil)
	if a.Status != http.StatusCreated || a.SAPSalesOrder == "" {
		t.Fatalf("inline push: %d %s", a.Status, a.Raw)
	}
}

func TestConcurrentIdenticalPushes(t *testing.T) {
	w := newWorld(t)
	// Some SAP latency, so the 50 requests overlap the one that creates.
	w.sap.SetFaults(sapsim.Faults{LatencyMin: sapsim.Duration(50 * time.Millisecond), LatencyMax: sapsim.Duration(150 * time.Millisecond)})
	id := w.order(t, sapsim.CustomerID(3), line{sapsim.ProductID(2), "3"})
	before := w.sapOrders()
	const n = 50
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = w.push(t, `{"salesorderid":"`+id+`"}`, nil)
		}()
	}
	wg.Wait()
	created := 0
	for i, a := range answers {
		if a.Status == http.StatusCreated {
			created++
		}
		if (a.Status != http.StatusCreated && a.Status != http.StatusOK) || a.SAPSalesOrder == "" || a.SAPSalesOrder != answers[0].SAPSalesOrder {
			t.Errorf("caller %d: %d %s (first got %q)", i, a.Status, a.Raw, answers[0].SAPSalesOrder)
		}
	}
	if created != 1 {
		t.Errorf("%d callers got 201, want exactly 1", created)
	}
	if got := w.sapOrders() - before; got != 1 {
		t.Fatalf("%d SAP orders for 50 identical pushes, want 1", got)
	}
}

func TestCommittedButResponseLost(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(4), line{sapsim.ProductID(4), "1"})
	before := w.sapOrders()
	w.sap.SetFaults(sapsim.Faults{DropCreateNext: 1})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if w.sap.Stats().DroppedCreates != 1 {
		t.Fatalf("the fault did not fire: %+v", w.sap.Stats())
	}
	if (a.Status != http.StatusCreated && a.Status != http.StatusOK) || a.SAPSalesOrder == "" {
		t.Fatalf("push after a lost answer: %d %s", a.Status, a.Raw)
	}
	// The flow's retry after a lost answer on its side must not create a second order either.
	again := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if again.SAPSalesOrder != a.SAPSalesOrder {
		t.Fatalf("retry: %d %s", again.Status, again.Raw)
	}
	if got := w.sapOrders() - before; got != 1 {
		t.Fatalf("%d SAP orders, want 1", got)
	}
}

func TestCSRFExpiryIsInvisible(t *testing.T) {
	w := newWorld(t)
	first := w.order(t, sapsim.CustomerID(5), line{sapsim.ProductID(6), "1"})
	if a := w.push(t, `{"salesorderid":"`+first+`"}`, nil); a.Status != http.StatusCreated {
		t.Fatalf("warm-up push: %d %s", a.Status, a.Raw)
	}
	id := w.order(t, sapsim.CustomerID(5), line{sapsim.ProductID(7), "1"})
	before := w.sapOrders()
	w.sap.SetFaults(sapsim.Faults{ExpireCSRFNextWrite: 1})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusCreated || a.SAPSalesOrder == "" {
		t.Fatalf("push with an expired CSRF token: %d %s", a.Status, a.Raw)
	}
	if w.sap.Stats().CSRFRejections == 0 {
		t.Fatal("SAP never rejected a token: the fault did not fire")
	}
	if got := w.sapOrders() - before; got != 1 {
		t.Fatalf("%d SAP orders, want 1", got)
	}
}

func TestSAPBusinessErrorIs422(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, "99999999", line{sapsim.ProductID(1), "1"})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusUnprocessableEntity || len(a.SAPMessages) == 0 || a.SAPMessages[0].Code != "V1/320" ||
		!strings.Contains(a.SAPMessages[0].Message, "99999999") {
		t.Fatalf("business error: %d %s", a.Status, a.Raw)
	}
	if ct := a.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q", ct)
	}
	// The status answers as the push did, so a flow polling it fails the same way.
	st := w.status(t, id)
	if st.State != "rejected" || st.Status != http.StatusUnprocessableEntity || len(st.SAPMessages) == 0 || st.SAPMessages[0].Code != "V1/320" {
		t.Errorf("status after rejection: %d %s", st.Status, st.Raw)
	}
}

func TestSAPDownThenBack(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(6), line{sapsim.ProductID(8), "2"})
	before := w.sapOrders()
	w.sap.SetFaults(sapsim.Faults{Down: true})
	// SAP is down, the push is recorded: it is queued (202), not failed, and finishes once SAP is back.
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusAccepted || a.Header.Get("Retry-After") == "" || a.Header.Get("Location") == "" {
		t.Fatalf("SAP down: %d %v %s", a.Status, a.Header, a.Raw)
	}
	time.Sleep(time.Second)
	w.sap.SetFaults(sapsim.Faults{})
	w.exactlyOne(t, id)
	if got := w.sapOrders() - before; got != 1 {
		t.Fatalf("%d SAP orders, want 1", got)
	}
}

func TestRespondAsyncCompletesFromTheQueue(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(7), line{sapsim.ProductID(9), "5"})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, http.Header{"Prefer": {"respond-async"}})
	if a.Status != http.StatusAccepted || a.Header.Get("Location") == "" || a.Header.Get("Retry-After") == "" {
		t.Fatalf("respond-async: %d %v %s", a.Status, a.Header, a.Raw)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := w.status(t, id)
		if st.Status == http.StatusOK {
			if st.State != "written-back" || st.SAPSalesOrder == "" {
				t.Fatalf("final status: %s", st.Raw)
			}
			break
		}
		if st.Status != http.StatusAccepted || time.Now().After(deadline) {
			t.Fatalf("status while queued: %d %s", st.Status, st.Raw)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestBadInputsAre400AndCreateNothing(t *testing.T) {
	w := newWorld(t)
	good := w.order(t, sapsim.CustomerID(8), line{sapsim.ProductID(1), "1"})
	noLines := w.order(t, sapsim.CustomerID(8))
	noAccount, err := w.dv.Insert("salesorders", map[string]any{"name": "no customer"})
	if err != nil {
		t.Fatal(err)
	}
	inline := func(mut string) string {
		return fmt.Sprintf(`{"order":{"salesorderid":%q,"customerAccountNumber":%q,"lines":[{"productNumber":%q,"quantity":"1","unit":"Each"}]%s}}`,
			good, sapsim.CustomerID(8), sapsim.ProductID(1), mut)
	}
	tests := []struct {
		name  string
		body  string
		ctype string
		field string
	}{
		{"empty body", ``, "", ""},
		{"not json", `{salesorderid:1}`, "", ""},
		{"array", `[]`, "", ""},
		{"wrong content type (415)", `{"salesorderid":"` + good + `"}`, "text/plain", "Content-Type"},
		{"unknown member", `{"salesorderid":"` + good + `","foo":1}`, "", ""},
		{"trailing data", `{"salesorderid":"` + good + `"} {}`, "", ""},
		{"neither id nor order", `{}`, "", "salesorderid"},
		{"both id and order", `{"salesorderid":"` + good + `","order":{"salesorderid":"` + good + `"}}`, "", "order"},
		{"id not a guid", `{"salesorderid":"12345"}`, "", "salesorderid"},
		{"id wrong type", `{"salesorderid":12345}`, "", ""},
		{"order without lines in Dynamics", `{"salesorderid":"` + noLines + `"}`, "", "salesorder/order_details"},
		{"order without customer in Dynamics", `{"salesorderid":"` + noAccount + `"}`, "", "salesorder/customerid/accountnumber"},
		{"inline: id not a guid", strings.Replace(inline(""), good, "nope", 1), "", "order/salesorderid"},
		{"inline: no customer", strings.Replace(inline(""), sapsim.CustomerID(8), "", 1), "", "order/customerAccountNumber"},
		{"inline: customer too long", strings.Replace(inline(""), sapsim.CustomerID(8), "12345678901", 1), "", "customerAccountNumber"},
		{"inline: bad date", inline(`,"requestedDeliveryDate":"15.12.2026"`), "", "order/requestedDeliveryDate"},
		{"inline: bad currency", inline(`,"currency":"euro"`), "", "order/currency"},
		{"inline: unmapped payment terms", inline(`,"paymentTerms":"77"`), "", "paymentTerms"},
		{"inline: no lines", strings.Replace(inline(""), `[{"productNumber":"`+sapsim.ProductID(1)+`","quantity":"1","unit":"Each"}]`, `[]`, 1), "", "order/lines"},
		{"inline: zero quantity", strings.Replace(inline(""), `"quantity":"1"`, `"quantity":"0"`, 1), "", "order/lines/0/quantity"},
		{"inline: negative quantity", strings.Replace(inline(""), `"quantity":"1"`, `"quantity":"-2"`, 1), "", "order/lines/0/quantity"},
		{"inline: quantity not a number", strings.Replace(inline(""), `"quantity":"1"`, `"quantity":"two"`, 1), "", ""},
		{"inline: too many decimals", strings.Replace(inline(""), `"quantity":"1"`, `"quantity":"1.23456"`, 1), "", "lines/0/quantity"},
		{"inline: unmapped unit", strings.Replace(inline(""), `"unit":"Each"`, `"unit":"Barrel"`, 1), "", "lines/0/unit"},
		{"inline: no product", strings.Replace(inline(""), sapsim.ProductID(1), "", 1), "", "order/lines/0/productNumber"},
		{"inline: product too long", strings.Replace(inline(""), sapsim.ProductID(1), strings.Repeat("X", 41), 1), "", "lines/0/productNumber"},
		{"inline: PO too long", inline(`,"purchaseOrderNumber":"` + strings.Repeat("P", 36) + `"`), "", "purchaseOrderNumber"},
	}
	before := w.sapOrders()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"application/json"}}
			if tt.ctype != "" {
				h.Set("Content-Type", tt.ctype)
			}
			r := w.app.Do(t, http.MethodPost, "/api/orders", w.app.FunctionKey, []byte(tt.body), h)
			var a answer
			_ = json.Unmarshal(r.Body, &a)
			want := http.StatusBadRequest
			if strings.HasSuffix(tt.name, "(415)") {
				want = http.StatusUnsupportedMediaType
			}
			if r.Status != want || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d (%s): %s", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
			if len(a.Errors) == 0 {
				t.Fatalf("no field errors named: %s", r.Body)
			}
			if tt.field != "" {
				found := false
				for _, e := range a.Errors {
					if strings.Contains(e.Field, tt.field) {
						found = true
					}
				}
				if !found {
					t.Fatalf("no error names %q: %s", tt.field, r.Body)
				}
			}
		})
	}
	if got := w.sapOrders() - before; got != 0 {
		t.Fatalf("bad inputs created %d SAP orders", got)
	}
	for _, id := range []string{good, noLines, noAccount} {
		if st := w.status(t, id); st.Status != http.StatusNotFound {
			t.Errorf("a push record exists for %s after bad inputs: %d %s", id, st.Status, st.Raw)
		}
		row, _ := w.dv.Get("salesorders", id)
		if row["submitstatusdescription"] != nil && row["submitstatusdescription"] != "" {
			t.Errorf("Dynamics order %s was written: %v", id, row["submitstatusdescription"])
		}
	}
}

func TestStatusOfUnknownOrderIs404(t *testing.T) {
	w := newWorld(t)
	if st := w.status(t, "0f0f0f0f-0000-4000-8000-000000000000"); st.Status != http.StatusNotFound {
		t.Fatalf("%d %s", st.Status, st.Raw)
	}
	if st := w.status(t, "not-a-guid"); st.Status != http.StatusBadRequest {
		t.Fatalf("%d %s", st.Status, st.Raw)
	}
	r := w.app.Do(t, http.MethodPost, "/api/orders", "", []byte(`{}`), nil)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", r.Status)
	}
}
