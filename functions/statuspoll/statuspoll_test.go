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

// The poll feeds the linked orders whose change time moved, once per change, and when nothing moved it costs one
// SAP read however many orders are linked.
func TestThePollFeedsLinkedOrdersThatChangedOnce(t *testing.T) {
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
	links := &ledger.Ledger{Table: state, Kind: "salesorder"}
	var linked []string
	for i := range 4 {
		n, err := sim.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO", SoldToParty: sapsim.CustomerID(0),
			Items: []sapsim.ManualItem{{Material: sapsim.ProductID(0), Quantity: "2"}}})
		if err != nil {
			t.Fatal(err)
		}
		if i < 3 { // the fourth was entered in SAP, never pushed from D365
			if err := links.PutLink(t.Context(), n, "00000000-0000-0000-0000-00000000000"+string(rune('1'+i))); err != nil {
				t.Fatal(err)
			}
			linked = append(linked, n)
		}
	}
	p := &statuspoll.Poller{SAP: sc, Links: links, Checkpoints: checkpoint.Store{Table: state}, Queue: acct, QueueName: queue,
		Overlap: time.Minute, PageSize: 2, Enabled: true}
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
				if err != nil {
					t.Fatal(err)
				}
				out[ref.Number]++
			}
		}
	}
	res, err := p.Poll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := fed()
	if res.Read != 4 || res.Fed != 3 || len(got) != 3 {
		t.Fatalf("first poll %+v fed %v", res, got)
	}
	for _, n := range linked {
		if got[n] != 1 {
			t.Fatalf("order %s fed %d times: %v", n, got[n], got)
		}
	}
	// Nothing moved: the orders inside the overlap are read again but fed no more.
	res, err = p.Poll(t.Context())
	if err != nil || res.Fed != 0 || len(fed()) != 0 {
		t.Fatalf("second poll %+v, %v", res, err)
	}
	// One order changes: it alone is fed.
	if _, err := sim.Deliver(linked[1], nil); err != nil {
		t.Fatal(err)
	}
	res, err = p.Poll(t.Context())
	if got := fed(); err != nil || res.Fed != 1 || got[linked[1]] != 1 {
		t.Fatalf("after a change: %+v %v %v", res, err, got)
	}
	// Off, a tick does nothing at all.
	before := sim.Stats().Requests
	fn, err := statuspoll.Function(&statuspoll.Poller{SAP: sc, Links: links, Checkpoints: checkpoint.Store{Table: state}, Queue: acct, QueueName: queue})
	if err != nil {
		t.Fatal(err)
	}
	if err := fn.Timer.HandleTimer(t.Context(), triggerTimer()); err != nil || sim.Stats().Requests != before {
		t.Fatalf("a tick while off: %v, %d SAP requests", err, sim.Stats().Requests-before)
	}
}
