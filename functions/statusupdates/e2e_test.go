package statusupdates_test

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// An order's life in SAP (a partial delivery, its goods issue, the rest, billing) arrives in D365 with its
// statuses, dates and document numbers, and the order is fulfilled once, at the end. Every event delivered again
// afterwards, in any order and under new ids, costs no write.
func TestAnOrdersLifeArrivesAndClosesOnce(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	start := w.dv.Writes("salesorders")
	var all []sapsim.Event
	step := func(name string, do func() error) {
		t.Helper()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		evs := w.take()
		if len(evs) == 0 {
			t.Fatalf("%s raised no event", name)
		}
		all = append(all, evs...)
		w.deliver(t, evs)
	}
	var d1, d2, bill string
	step("a partial delivery", func() (err error) { d1, err = w.sap.Deliver(number, map[string]string{"10": "4"}); return })
	o := w.d365(t, id)
	if str(o["d365sap_sapdeliverystatus"]) != "B" || str(o["d365sap_sapdeliveries"]) != d1 || str(o["d365sap_plannedgoodsissue"]) == "" ||
		str(o["d365sap_goodsissuedate"]) != "" || str(o["statecode"]) != "0" {
		t.Fatalf("after the partial delivery: %v", o)
	}
	step("its goods issue", func() error { return w.sap.PostGoodsIssue(d1) })
	if o = w.d365(t, id); str(o["d365sap_goodsissuedate"]) != time.Now().UTC().Format("2006-01-02") {
		t.Fatalf("after the goods issue: %v", o)
	}
	step("the rest delivered", func() (err error) { d2, err = w.sap.Deliver(number, nil); return })
	if o = w.d365(t, id); str(o["d365sap_sapdeliverystatus"]) != "C" || str(o["d365sap_sapdeliveries"]) != d1+", "+d2 || str(o["statecode"]) != "0" {
		t.Fatalf("delivered in full but not billed, the order must stay open (closeWhenBilled): %v", o)
	}
	step("billed", func() (err error) { bill, err = w.sap.Bill(number); return })
	o = w.d365(t, id)
	if str(o["d365sap_sapbillingdocuments"]) != bill || str(o["d365sap_sapbillingstatus"]) != "C" || str(o["statecode"]) != "3" || str(o["statuscode"]) != "100001" {
		t.Fatalf("billed in full: %v", o)
	}
	// The amounts are SAP's to the cent: 19 % tax on the order's net value.
	so, err := w.svc.SAP.GetBillingDocument(t.Context(), bill)
	if err != nil {
		t.Fatal(err)
	}
	if str(o["d365sap_sapbillednet"]) != so.TotalNetAmount.String() || str(o["d365sap_sapbilledgross"]) != so.TotalGrossAmount.String() {
		t.Fatalf("billed amounts %v / %v, SAP's %s / %s", o["d365sap_sapbillednet"], o["d365sap_sapbilledgross"], so.TotalNetAmount, so.TotalGrossAmount)
	}
	closedAt := w.dv.Writes("salesorders")
	if got := closedAt.Sub(start); got.StateChanges != 1 {
		t.Fatalf("the order changed state %d times, want once: %+v", got.StateChanges, got)
	}
	// Late, repeated and reordered: every event again, shuffled, under new ids.
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	w.deliver(t, all)
	if got := w.dv.Writes("salesorders").Sub(closedAt); got.Total() != 0 {
		t.Fatalf("redelivered events wrote %+v, want nothing", got)
	}
	if w.svc.Stats.Closed.Load() != 1 {
		t.Fatalf("closed %d times", w.svc.Stats.Closed.Load())
	}
}

// Duplicates of an event, with the same id or a new one, and events older than what was applied cost no
// Dataverse write: the state is re-read, and its fingerprint equals what was applied.
func TestDuplicatesAndStaleEventsCostNoWrites(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	if _, err := w.sap.Deliver(number, map[string]string{"10": "1"}); err != nil {
		t.Fatal(err)
	}
	first := w.take()
	if _, err := w.sap.Deliver(number, map[string]string{"10": "1"}); err != nil {
		t.Fatal(err)
	}
	second := w.take()
	w.deliver(t, second) // the newer state first
	after := w.dv.Writes("salesorders")
	body := second[0].CloudEvent("same-id")
	for range 3 {
		if err := w.handle(t, body); err != nil {
			t.Fatal(err)
		}
	}
	w.deliver(t, second) // new ids
	w.deliver(t, first)  // older events, arriving late
	if got := w.dv.Writes("salesorders").Sub(after); got.Total() != 0 {
		t.Fatalf("duplicates and stale events wrote %+v", got)
	}
	if o := w.d365(t, id); !strings.Contains(str(o["d365sap_sapdeliveries"]), ", ") {
		t.Fatalf("a late event rolled the deliveries back: %v", o["d365sap_sapdeliveries"])
	}
	if w.svc.Stats.Unchanged.Load() == 0 {
		t.Fatal("no event was counted unchanged")
	}
}

// A rejection SAP undoes before the events are worked leaves the D365 order open: each event re-reads the order,
// which is no longer rejected. A rejection of every item that stays cancels the D365 order, once.
func TestARejectionUndoneBeforeClosureLeavesTheOrderOpen(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	for _, item := range []string{"10", "20"} {
		if err := w.sap.Reject(number, item, "Z1"); err != nil {
			t.Fatal(err)
		}
	}
	for _, item := range []string{"10", "20"} {
		if err := w.sap.Reject(number, item, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.deliver(t, w.take())
	if o := w.d365(t, id); str(o["statecode"]) != "0" || str(o["d365sap_saprejectionstatus"]) != "A" {
		t.Fatalf("a rejection undone: %v", o)
	}
	other, otherID := w.order(t)
	for _, item := range []string{"10", "20"} {
		if err := w.sap.Reject(other, item, "Z1"); err != nil {
			t.Fatal(err)
		}
	}
	w.deliver(t, w.take())
	if o := w.d365(t, otherID); str(o["statecode"]) != "2" || str(o["d365sap_saprejectionstatus"]) != "C" {
		t.Fatalf("every item rejected: %v", o)
	}
}

// An SAP order no D365 order was pushed for is skipped with an audit entry, and nothing is written; only a young
// event is read again, since the push writes its link just after SAP answers.
func TestAnOrderDynamicsNeverPushedIsSkipped(t *testing.T) {
	w := newWorld(t)
	number, err := w.sap.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO-CLERK", SoldToParty: sapsim.CustomerID(0),
		Items: []sapsim.ManualItem{{Material: sapsim.ProductID(0), Quantity: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	before := w.dv.Writes("salesorders")
	if _, err := w.sap.Deliver(number, nil); err != nil {
		t.Fatal(err)
	}
	evs := w.take()
	// A young event may precede the push's link: it is read again, a bounded number of times.
	w.deliver(t, evs[:1])
	if rs := w.takeRetries(); len(rs) != 1 || !strings.Contains(string(rs[0].body), `"d365sapmissing":1`) {
		t.Fatalf("a young event of an unlinked order: %d retries %v", len(rs), rs)
	}
	// Once older than the grace, it is skipped.
	for i := range evs {
		evs[i].Raised = time.Now().Add(-10 * time.Minute)
		evs[i].Data["EventRaisedDateTime"] = evs[i].Raised.UTC().Format(time.RFC3339Nano)
	}
	w.deliver(t, evs)
	if got := w.dv.Writes("salesorders").Sub(before); got.Total() != 0 {
		t.Fatalf("wrote %+v for an order D365 never pushed", got)
	}
	var outcomes []string
	for e, err := range w.trail.List(t.Context(), "status-salesorder-"+number) {
		if err != nil {
			t.Fatal(err)
		}
		outcomes = append(outcomes, e.Outcome)
	}
	if len(outcomes) == 0 || outcomes[0] != "not-linked" {
		t.Fatalf("audit %v, want not-linked entries", outcomes)
	}
	if rs := w.takeRetries(); len(rs) != 0 {
		t.Fatalf("%d retries sent", len(rs))
	}
}

// SAP down: the event is sent again later (not failed, so no delivery is used up) and applied once SAP is back.
// An order SAP does not show is read again, never taken for deleted.
func TestAnOutageSendsTheWorkAgainLater(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	if _, err := w.sap.Deliver(number, map[string]string{"10": "2"}); err != nil {
		t.Fatal(err)
	}
	evs := w.take()
	w.sap.SetFaults(sapsim.Faults{Down: true})
	before := w.dv.Writes("salesorders")
	if err := w.handle(t, evs[0].CloudEvent("during-outage")); err != nil {
		t.Fatalf("an outage failed the message: %v", err)
	}
	rs := w.takeRetries()
	if len(rs) != 1 || !strings.Contains(string(rs[0].body), `"d365sapretry":1`) || !strings.Contains(string(rs[0].body), `"during-outage"`) || rs[0].delay < time.Second {
		t.Fatalf("sent again %d times: %+v", len(rs), rs)
	}
	if got := w.dv.Writes("salesorders").Sub(before); got.Total() != 0 {
		t.Fatalf("wrote %+v while SAP was down", got)
	}
	w.sap.SetFaults(sapsim.Faults{})
	if err := w.handle(t, rs[0].body); err != nil {
		t.Fatal(err)
	}
	if o := w.d365(t, id); str(o["d365sap_sapdeliverystatus"]) != "B" {
		t.Fatalf("after the outage: %v", o)
	}

	// A number SAP does not know, linked to a D365 order: read again, and the D365 order is not canceled.
	ghost := "4999999"
	if err := w.links.PutLink(t.Context(), ghost, id); err != nil {
		t.Fatal(err)
	}
	ev := sapsim.Event{Type: "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", Data: map[string]string{"SalesOrder": ghost}, Raised: time.Now()}
	if err := w.handle(t, ev.CloudEvent("ghost")); err != nil {
		t.Fatal(err)
	}
	if o := w.d365(t, id); str(o["statecode"]) != "0" {
		t.Fatalf("a 404 alone closed the order: %v", o)
	}
	if rs := w.takeRetries(); len(rs) != 1 {
		t.Fatalf("the missing order was not read again later: %d retries", len(rs))
	}
}

// A message that is no consumed CloudEvent is permanent (the dead letters keep it), with a reason naming it.
func TestMalformedMessagesArePermanent(t *testing.T) {
	w := newWorld(t)
	for name, body := range map[string]string{
		"not JSON":                   "garbage",
		"no CloudEvent":              `{"SalesOrder":"1"}`,
		"a type nobody consumes":     `{"specversion":"1.0","id":"1","source":"/s","type":"sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1","data":{"BusinessPartner":"1"}}`,
		"no number":                  `{"specversion":"1.0","id":"1","source":"/s","type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","data":{}}`,
		"a number with a quote":      `{"specversion":"1.0","id":"1","source":"/s","type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","data":{"SalesOrder":"1' or '1"}}`,
		"a retry count of no number": `{"specversion":"1.0","id":"1","source":"/s","type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","data":{"SalesOrder":"x y"},"d365sapretry":"many"}`,
	} {
		t.Run(name, func(t *testing.T) {
			err := w.svc.Handle(t.Context(), trigger.Message{ID: "m", Body: []byte(body)})
			if err == nil || problem.Retryable(err) {
				t.Fatalf("error %v, want a permanent one", err)
			}
		})
	}
}
