package sapsim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is an Options.Now that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestEnterOrderByHand(t *testing.T) {
	clock := newClock()
	c := newSim(t, Options{Now: clock.Now})
	c.fetchCSRF()
	if resp, body := c.write("POST", soPath+"A_SalesOrder", orderWith(`"YY1_D365OrderID_SDH":"`+orderID+`",`+twoTexts), nil); resp.StatusCode != 201 {
		t.Fatalf("API create: %d %s", resp.StatusCode, body)
	}
	clock.advance(time.Minute)
	id, err := c.srv.EnterOrder(ManualOrder{PurchaseOrderByCustomer: "PO-1", SoldToParty: CustomerID(0),
		Items: []ManualItem{{Material: ProductID(3), Quantity: "4"}}})
	if err != nil || id != "2" {
		t.Fatalf("EnterOrder: %q %v", id, err)
	}
	id, err = c.srv.EnterOrder(ManualOrder{PurchaseOrderByCustomer: "EDI-77", SoldToParty: CustomerID(1), CreatedByUser: "EDI_IN",
		Items:      []ManualItem{{Material: ProductID(2), Quantity: "1", Unit: "BOX"}},
		Extensions: map[string]string{"YY1_D365OrderID_SDH": "typed-by-hand"},
		Texts:      []OrderText{{Language: "EN", LongTextID: "0002", LongText: "phoned in"}}})
	if err != nil || id != "3" {
		t.Fatalf("EnterOrder with extras: %q %v", id, err)
	}
	start := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	want := []OrderInfo{
		{SalesOrder: "1", PurchaseOrderByCustomer: "PO-1", SoldToParty: CustomerID(0), CreatedByUser: "SIMULATOR",
			Extensions: map[string]string{"YY1_D365OrderID_SDH": orderID},
			Texts:      []OrderText{{"EN", "0001", "D365 order " + orderID}, {"DE", "Z001", "Bitte vor 10 Uhr liefern"}},
			CreatedAt:  start},
		{SalesOrder: "2", PurchaseOrderByCustomer: "PO-1", SoldToParty: CustomerID(0), CreatedByUser: "CLERK", HandEntered: true,
			CreatedAt: start.Add(time.Minute)},
		{SalesOrder: "3", PurchaseOrderByCustomer: "EDI-77", SoldToParty: CustomerID(1), CreatedByUser: "EDI_IN", HandEntered: true,
			Extensions: map[string]string{"YY1_D365OrderID_SDH": "typed-by-hand"}, Texts: []OrderText{{"EN", "0002", "phoned in"}},
			CreatedAt: start.Add(time.Minute)},
	}
	if got := c.srv.Orders(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Orders() = %+v\nwant %+v", got, want)
	}
	if st := c.srv.Stats(); st.HandEntered != 2 || st.SalesOrders != 3 {
		t.Fatalf("stats %+v", st)
	}
	// A hand-entered order is an order like any other: the lookup an integration runs finds both.
	if got := salesOrderNumbers(t, c, "PurchaseOrderByCustomer eq 'PO-1' and SoldToParty eq '"+CustomerID(0)+"'"); strings.Join(got, ",") != "1,2" {
		t.Fatalf("lookup by customer reference found %v", got)
	}
	resp, body := c.do("GET", "/sapsim/salesorders", "", nil)
	var listed []OrderInfo
	if resp.StatusCode != 200 || json.Unmarshal(body, &listed) != nil || !reflect.DeepEqual(listed, want) {
		t.Fatalf("GET /sapsim/salesorders: %d %s", resp.StatusCode, body)
	}
}

func TestEnterOrderIsChecked(t *testing.T) {
	item := []ManualItem{{Material: ProductID(0), Quantity: "1"}}
	for _, tc := range []struct {
		name string
		m    ManualOrder
		want string
	}{
		{"unknown customer", ManualOrder{SoldToParty: "99999999", Items: item}, "V1/320"},
		{"no items", ManualOrder{SoldToParty: CustomerID(0)}, "V1/555"},
		{"unknown material", ManualOrder{SoldToParty: CustomerID(0), Items: []ManualItem{{Material: "NOPE", Quantity: "1"}}}, "V1/392"},
		{"unit not maintained", ManualOrder{SoldToParty: CustomerID(0), Items: []ManualItem{{Material: ProductID(0), Quantity: "1", Unit: "XYZ"}}}, "V1/093"},
		{"bad quantity", ManualOrder{SoldToParty: CustomerID(0), Items: []ManualItem{{Material: ProductID(0), Quantity: "1e3"}}}, "decimal(15,3)"},
		{"field the system lacks", ManualOrder{SoldToParty: CustomerID(0), Items: item, Extensions: map[string]string{"YY1_Nope_SDH": "x"}}, "not an extension field"},
		{"value too long", ManualOrder{SoldToParty: CustomerID(0), Items: item, Extensions: map[string]string{"YY1_D365OrderID_SDH": strings.Repeat("x", 37)}}, "longer than 36"},
		{"text ID not allowed", ManualOrder{SoldToParty: CustomerID(0), Items: item, Texts: []OrderText{{"EN", "Z999", "x"}}}, "TD/611"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			if _, err := s.EnterOrder(tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.want)
			}
			if len(s.Orders()) != 0 || s.Stats().HandEntered != 0 {
				t.Fatalf("a refused order was stored")
			}
		})
	}
}

func TestEnterOrderOverHTTP(t *testing.T) {
	c := newSim(t, Options{})
	post := func(body string) (int, map[string]string) {
		req, _ := http.NewRequest("POST", c.base+"/sapsim/salesorders", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	status, out := post(`{"purchaseOrderByCustomer":"BLANKET-9","soldToParty":"10100002","items":[{"material":"SIM0000005","quantity":"2.5","unit":"EA"}]}`)
	if status != 201 || out["salesOrder"] != "1" {
		t.Fatalf("enter: %d %v", status, out)
	}
	if o := c.srv.Orders(); len(o) != 1 || !o[0].HandEntered || o[0].PurchaseOrderByCustomer != "BLANKET-9" {
		t.Fatalf("orders %+v", o)
	}
	for _, body := range []string{`{"soldToParty":"10100002","colour":"red"}`, `{"soldToParty":"10100002","items":[]}`, `not json`} {
		if status, out := post(body); status != 400 || out["error"] == "" {
			t.Fatalf("%s: %d %v", body, status, out)
		}
	}
}
