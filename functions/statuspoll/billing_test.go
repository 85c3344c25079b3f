package statuspoll_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/statuspoll"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/checkpoint"
	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/sapevent"
	"github.com/d365sap/d365sap/shared/store"
)

// The billing stream feeds each billing document whose LastChangeDateTime moved, once per change, as a
// BillingDocument.Changed event: a new document, a clearing (which raises no event in SAP), a cancellation (the
// original changes, the cancellation document is new); its checkpoint is its own, so the orders' stream is not
// moved by it.
func TestThePollFeedsChangedBillingDocumentsOnce(t *testing.T) {
	sim := sapsim.New(sapsim.Options{Username: "U", Password: "P", Products: 3, Customers: 2})
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	sc, err := sap.New(sap.Options{BaseURL: ts.URL, AuthMode: sap.AuthBasic, Username: "U", Password: "P", Timeout: 10 * time.Second,
		MaxResponseBytes: 8 << 20, ReadRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	acct := storetest.Account(t)
	table, queue := storetest.Name(t, "poll"), storetest.Name(t, "events-")
	if err := acct.EnsureTable(t.Context(), table); err != nil {
		t.Fatal(err)
	}
	if err := acct.EnsureQueue(t.Context(), queue); err != nil {
		t.Fatal(err)
	}
	state, _ := store.NewTable[json.RawMessage](acct, table)
	cps := checkpoint.Store{Table: state}
	p := &statuspoll.Poller{SAP: sc, Billing: sc, Links: &ledger.Ledger{Table: state, Kind: "salesorder"}, Checkpoints: cps,
		Queue: acct, QueueName: queue, Overlap: time.Minute, PageSize: 2, Enabled: true}
	fed := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		for {
			ms, err := acct.Dequeue(t.Context(), queue, 32, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) == 0 {
				return out
			}
			for _, m := range ms {
				e, err := cloudevent.ReadQueue(m.Body)
				if err != nil {
					t.Fatalf("the poll fed %s: %v", m.Body, err)
				}
				ref, err := sapevent.RefOf(e)
				if err != nil || ref.Object != sapevent.BillingDocument || ref.Operation != "Changed" {
					t.Fatalf("the poll fed %s (%v): want a BillingDocument.Changed event", m.Body, err)
				}
				out[ref.Number]++
			}
		}
	}
	order, err := sim.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO", SoldToParty: sapsim.CustomerID(0),
		Items: []sapsim.ManualItem{{Material: sapsim.ProductID(0), Quantity: "2"}, {Material: sapsim.ProductID(1), Quantity: "4"}}})
	if err != nil {
		t.Fatal(err)
	}
	d1, err := sim.Deliver(order, map[string]string{"10": "2"})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := sim.Deliver(order, nil)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := sim.BillDelivery(d1)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := sim.BillDelivery(d2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.PollBilling(t.Context())
	if got := fed(); err != nil || res.Fed != 2 || got[b1] != 1 || got[b2] != 1 {
		t.Fatalf("first poll %+v %v fed %v, want %s and %s once", res, err, got, b1, b2)
	}
	if res, err = p.PollBilling(t.Context()); err != nil || res.Fed != 0 || len(fed()) != 0 {
		t.Fatalf("nothing changed: %+v %v", res, err)
	}
	time.Sleep(5 * time.Millisecond) // the next change is stamped after the first ones
	if err := sim.ClearBilling(b2, "C"); err != nil {
		t.Fatal(err)
	}
	res, err = p.PollBilling(t.Context())
	if got := fed(); err != nil || res.Fed != 1 || got[b2] != 1 {
		t.Fatalf("after the clearing: %+v %v %v", res, err, got)
	}
	time.Sleep(5 * time.Millisecond)
	cancellation, err := sim.CancelBilling(b1)
	if err != nil {
		t.Fatal(err)
	}
	res, err = p.PollBilling(t.Context())
	if got := fed(); err != nil || got[b1] != 1 || got[cancellation] != 1 || len(got) != 2 {
		t.Fatalf("after the cancellation: %+v %v %v, want %s and %s", res, err, got, b1, cancellation)
	}
	if _, _, found, err := cps.Get(t.Context(), statuspoll.Stream); err != nil || found {
		t.Fatalf("the billing stream moved the orders' checkpoint: found %v %v", found, err)
	}
}
