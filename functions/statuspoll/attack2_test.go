package statuspoll_test

// Cases from a second outside review of the status poll.

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/statuspoll"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/checkpoint"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// TestAttack2AnOrderLinkedAfterThePollSawItIsStillFed: the order push writes its link just after SAP answered
// the create (and a failed write is retried from a queue later). A poll that runs in between finds the order
// unlinked and remembers it as "not D365's: not looked up again until it changes"; when the link lands, the
// order, unchanged, is skipped by every later run (and leaves the overlap window): the status path never hears
// of it until SAP changes it again. statusupdates gives the same race a grace period (linkGrace); the poll has none.
func TestAttack2AnOrderLinkedAfterThePollSawItIsStillFed(t *testing.T) {
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
	p := &statuspoll.Poller{SAP: sc, Links: links, Checkpoints: checkpoint.Store{Table: state}, Queue: acct, QueueName: queue,
		Overlap: time.Minute, Enabled: true}
	n, err := sim.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO-PUSHED", SoldToParty: sapsim.CustomerID(0),
		Items: []sapsim.ManualItem{{Material: sapsim.ProductID(0), Quantity: "2"}}})
	if err != nil {
		t.Fatal(err)
	}
	// The poll runs between SAP's answer to the push and the push's link write.
	if res, err := p.Poll(t.Context()); err != nil || res.Fed != 0 {
		t.Fatalf("first poll: %+v %v", res, err)
	}
	if err := links.PutLink(t.Context(), n, "00000000-0000-0000-0000-000000000001"); err != nil {
		t.Fatal(err)
	}
	fed := 0
	for range 3 {
		res, err := p.Poll(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		fed += res.Fed
	}
	if fed == 0 {
		t.Fatalf("SAP order %s, linked after the first poll saw it, was never fed by the three polls that followed", n)
	}
}
