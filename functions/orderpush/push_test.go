package orderpush_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/uom"
)

const refField = "YY1_D365OrderID_SDH"

func TestAFreshPushCreatesOneOrderAndRecordsIt(t *testing.T) {
	h := newHarness(t)
	// SAP answers with its internal, zero-padded number; everything we keep uses the normalised one.
	h.sap.CreateSalesOrderFn = func(_ context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
		so := h.sap.commit(o)
		so.SalesOrder = "000000" + so.SalesOrder
		return so, nil
	}
	code, hdr, body := h.post(t, inlineOrder(), "")
	if code != 201 || body["sapSalesOrder"] != "4711" || body["state"] != string(orderpush.StateWrittenBack) || hdr.Get("Location") != "/api/orders/"+orderID {
		t.Fatalf("answer %d %v %v", code, hdr, body)
	}
	creates := h.sap.creates()
	if len(creates) != 1 {
		t.Fatalf("%d creates", len(creates))
	}
	if c := creates[0]; c.Extensions[refField] != upperID || c.PurchaseOrderByCustomer != "PO-4711" || c.SoldToParty != soldTo {
		t.Errorf("the create carries %v, PO %q, sold-to %q; want the upper-case order id, the customer's PO and sold-to", c.Extensions, c.PurchaseOrderByCustomer, c.SoldToParty)
	}
	link, ok, err := h.svc.Ledger.FindLink(t.Context(), "4711")
	if err != nil || !ok || link.Key != orderID {
		t.Errorf("link of 4711: %+v %v %v", link, ok, err)
	}
	wb := h.dv.written()
	if len(wb) != 1 || wb[0][sapNumberColumn] != "4711" || wb[0]["submitstatusdescription"] != "Created in SAP as sales order 4711" ||
		wb[0]["submitdate"] != t0.Format(time.RFC3339) || wb[0]["lastbackofficesubmit"] != t0.Format(time.RFC3339) {
		t.Errorf("write-back %v", wb)
	}
	e := h.entry(t, orderID)
	if e.State != ledger.Completed || e.Result != "4711" || !e.Reported || e.Unresolved() || e.Sends != 1 || e.Ref != upperID {
		t.Errorf("entry %+v", e)
	}
	rows := h.auditRows(t, orderID)
	if len(rows) != 1 || !strings.HasPrefix(rows[0].RowKey, audit.RowKeyPrefix) {
		t.Fatalf("audit rows %v", rows)
	}
	a := h.audits(t, orderID)[0]
	if a.Outcome != "created" || a.RemoteID != "4711" || a.Trigger != "http" || a.Kind != orderpush.Kind || a.Archive == "" {
		t.Errorf("audit %+v", a)
	}
	doc := h.arch.doc(a.Archive)
	payload, _ := doc["sapPayload"].(map[string]any)
	answer, _ := doc["sapAnswer"].(map[string]any)
	if payload["PurchaseOrderByCustomer"] != "PO-4711" || answer["SalesOrder"] != "0000004711" || doc["reference"] != upperID {
		t.Errorf("archive %s holds %v", a.Archive, doc)
	}
	if m := h.queue.messages(); len(m) != 1 || !isSafetyNet(m[0]) || m[0].TTL != -1 || m[0].Queue != queueName {
		t.Errorf("queued %+v, want only the safety net, never expiring", m)
	}
}

func TestAReplayAnswersTheSameNumberWithoutCreating(t *testing.T) {
	h := newHarness(t)
	if code, _, _ := h.post(t, inlineOrder(), ""); code != 201 {
		t.Fatalf("first push %d", code)
	}
	code, _, body := h.post(t, inlineOrder(), "")
	if code != 200 || body["sapSalesOrder"] != "4711" || body["state"] != string(orderpush.StateWrittenBack) {
		t.Errorf("replay %d %v", code, body)
	}
	// The order changed in a way that no longer maps: SAP has it all the same, so it is still a replay.
	o := inlineOrder()
	o.Lines[0].Unit = "Dozen"
	if res, err := h.push(t, o); err != nil || res.SAPSalesOrder != "4711" || res.Created {
		t.Errorf("replay of a changed order: %+v %v", res, err)
	}
	if n := len(h.sap.creates()); n != 1 {
		t.Errorf("%d creates", n)
	}
}

func TestAReplayFinishesAnOwedWriteBack(t *testing.T) {
	h := newHarness(t)
	h.dv.UpdateFn = dvDown
	res, err := h.push(t, inlineOrder())
	if err != nil || !res.Created || !res.WriteBackPending || res.State != orderpush.StateCreated {
		t.Fatalf("push with Dynamics down: %+v %v", res, err)
	}
	if e := h.entry(t, orderID); e.State != ledger.Created || e.Reported {
		t.Fatalf("entry %+v", e)
	}
	if m := h.handovers(); len(m) != 1 || m[0].Msg.Action != orderpush.ActionWriteBack {
		t.Errorf("queued %+v, want a write-back", m)
	}
	h.dv.UpdateFn = nil
	res, err = h.push(t, inlineOrder())
	if err != nil || res.Created || res.SAPSalesOrder != "4711" || res.State != orderpush.StateWrittenBack || res.WriteBackPending {
		t.Errorf("replay %+v %v", res, err)
	}
	if e := h.entry(t, orderID); e.State != ledger.Completed || !e.Reported {
		t.Errorf("entry %+v", e)
	}
	if wb := h.dv.written(); len(wb) != 2 || wb[1][sapNumberColumn] != "4711" {
		t.Errorf("write-backs %v", wb)
	}
	if n := len(h.sap.creates()); n != 1 {
		t.Errorf("%d creates", n)
	}
}

// Customers reuse purchase order numbers: the lookup after a lost answer goes by the order's own reference, so it
// never takes the other order's SAP number for its own.
func TestTwoOrdersWithOnePOAndSoldToGetTwoNumbers(t *testing.T) {
	h := newHarness(t)
	h.sap.CreateSalesOrderFn = h.sap.commitThen(&sap.Error{StatusCode: 504, Message: "Gateway Timeout"})
	a, errA := h.push(t, orderFor(orderID))
	b, errB := h.push(t, orderFor(otherID))
	if errA != nil || errB != nil || !a.Created || !b.Created {
		t.Fatalf("pushes: %+v %v / %+v %v", a, errA, b, errB)
	}
	if a.SAPSalesOrder != "4711" || b.SAPSalesOrder != "4712" {
		t.Errorf("numbers %q and %q, want 4711 and 4712", a.SAPSalesOrder, b.SAPSalesOrder)
	}
	if n := len(h.sap.orders()); n != 2 {
		t.Errorf("SAP holds %d orders", n)
	}
	for number, id := range map[string]string{"4711": orderID, "4712": otherID} {
		if l, ok, _ := h.svc.Ledger.FindLink(t.Context(), number); !ok || l.Key != id {
			t.Errorf("link of %s: %+v", number, l)
		}
	}
}

func TestAnAsyncPushCreatesOnlyFromTheQueue(t *testing.T) {
	h := newHarness(t)
	code, hdr, body := h.post(t, inlineOrder(), "respond-async")
	if code != 202 || body["state"] != string(orderpush.StateAccepted) || hdr.Get("Location") == "" || hdr.Get("Retry-After") == "" {
		t.Fatalf("async push %d %v %v", code, hdr, body)
	}
	m := h.queue.messages()
	if len(m) != 1 || m[0].Msg != (orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionPush}) || m[0].Delay != 0 {
		t.Fatalf("queued %+v", m)
	}
	if n := len(h.sap.creates()); n != 0 {
		t.Fatalf("an async push created %d orders before the queue ran", n)
	}
	if e := h.entry(t, orderID); e.State != ledger.Accepted || e.Unresolved() {
		t.Errorf("entry %+v", e)
	}
	if err := h.resume(t, orderID, orderpush.ActionPush); err != nil {
		t.Fatal(err)
	}
	if e := h.entry(t, orderID); e.State != ledger.Completed || e.Result != "4711" || len(h.sap.creates()) != 1 {
		t.Errorf("after the queue: %+v, %d creates", e, len(h.sap.creates()))
	}
}

func TestTooLittleTimeLeftQueuesWithoutCreating(t *testing.T) {
	h := newHarness(t, func(s *orderpush.Service) {
		s.SyncTimeout, s.CreateTimeout = 300*time.Millisecond, 250*time.Millisecond
	})
	// Reading the units takes what the wait would have needed for the create.
	h.units.ToBaseFn = func(_ context.Context, _, unit, qty string) (uom.Result, error) {
		time.Sleep(100 * time.Millisecond)
		return uom.Result{Quantity: qty, Unit: unit}, nil
	}
	code, _, body := h.post(t, inlineOrder(), "")
	if code != 202 || body["state"] != string(orderpush.StateAccepted) {
		t.Fatalf("push %d %v", code, body)
	}
	if n := len(h.sap.creates()); n != 0 {
		t.Errorf("%d creates started without the time to finish", n)
	}
	e := h.entry(t, orderID)
	if e.State != ledger.Accepted || e.Unresolved() || e.Kind != problem.Timeout.String() {
		t.Errorf("entry %+v: queued, with nothing unresolved", e)
	}
	if m := h.handovers(); len(m) != 1 || m[0].Msg.Action != orderpush.ActionPush {
		t.Errorf("queued %+v", m)
	}
}

func TestMappingProblemsAre400AndRecordNothing(t *testing.T) {
	tests := []struct {
		name   string
		change func(o *orderpush.Order)
		field  string
	}{
		{"a unit with no SAP code", func(o *orderpush.Order) { o.Lines[1].Unit = "Dozen" }, "lines/1/unit"},
		{"payment terms with no SAP key", func(o *orderpush.Order) { o.PaymentTerms = "9" }, "paymentTerms"},
		{"a PO longer than SAP's", func(o *orderpush.Order) { o.PurchaseOrderNumber = strings.Repeat("P", 36) }, "purchaseOrderNumber"},
		{"a sold-to longer than SAP's", func(o *orderpush.Order) { o.CustomerAccountNumber = "CUSTOMER-00042" }, "customerAccountNumber"},
		{"a quantity SAP cannot hold", func(o *orderpush.Order) { o.Lines[0].Quantity = "1.0005" }, "lines/0/quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			o := inlineOrder()
			tt.change(o)
			code, _, body := h.post(t, o, "")
			if code != 400 || body["type"] != problem.TypeBase+"invalid" {
				t.Fatalf("push %d %v", code, body)
			}
			if errs, _ := body["errors"].([]any); len(errs) != 1 || errs[0].(map[string]any)["field"] != tt.field {
				t.Errorf("errors %v, want one on %s", body["errors"], tt.field)
			}
			if h.hasEntry(t, orderID) || len(h.sap.Calls()) != 0 || len(h.queue.messages()) != 0 || len(h.dv.written()) != 0 || len(h.units.calls) != 0 {
				t.Errorf("a push the mapping refuses left traces: SAP %v, queue %v, Dynamics %v, units %v", h.sap.Calls(), h.queue.messages(), h.dv.written(), h.units.calls)
			}
		})
	}
}

// The create carries each line in its material's base unit, converted by SAP's own factors, in D365 line order.
func TestAPushSendsLinesInD365OrderInTheirBaseUnits(t *testing.T) {
	h := newHarness(t)
	h.units.ToBaseFn = func(_ context.Context, product, unit, qty string) (uom.Result, error) {
		if product == "TG20" && unit == "BOX" && qty == "1.5" {
			return uom.Result{Quantity: "18", Unit: "EA", Converted: true}, nil
		}
		return uom.Result{Quantity: qty, Unit: unit}, nil
	}
	o := inlineOrder()
	o.Lines = []orderpush.OrderLine{
		{ProductNumber: "TG20", Quantity: "1.5", Unit: "Box", LineItemNumber: 2},
		{ProductNumber: "TG12", Quantity: "0.1", Unit: "Kilogram", LineItemNumber: 1, SequenceNumber: 2},
		{ProductNumber: "TG11", Quantity: "2", Unit: "Each", LineItemNumber: 1, SequenceNumber: 1},
	}
	if _, err := h.push(t, o); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range h.sap.creates()[0].Items {
		got = append(got, it.SalesOrderItem+" "+it.Material+" "+it.RequestedQuantity.String()+" "+it.RequestedQuantityUnit)
	}
	if want := []string{"10 TG11 2 EA", "20 TG12 0.1 KG", "30 TG20 18 EA"}; !slices.Equal(got, want) {
		t.Errorf("items %q, want %q", got, want)
	}
	// What the queue would resume from is the order as pushed, not as converted.
	if e := h.entry(t, orderID); !strings.Contains(e.Payload, `"unit":"Box"`) || !strings.Contains(e.Payload, `"quantity":1.5,`) {
		t.Errorf("stored payload %s", e.Payload)
	}
}
