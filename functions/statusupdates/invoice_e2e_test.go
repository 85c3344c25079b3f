package statusupdates_test

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/sap"
)

// invoiceWorld is the status world with invoices on, and a D365 product for the order's first material (in a
// unit group holding the units the value maps name), so one line is a product and the other a write-in.
func invoiceWorld(t *testing.T) *world {
	w := newWorld(t)
	w.svc.Invoices = w.inv
	group, err := w.dv.Insert("uomschedules", map[string]any{"name": "Default Unit"})
	if err != nil {
		t.Fatal(err)
	}
	var base string
	for i, name := range []string{"Each", "Piece", "Kilogram", "Litre", "Box"} {
		rec := map[string]any{"name": name, "quantity": 1, "uomscheduleid@odata.bind": "/uomschedules(" + group + ")"}
		if i > 0 {
			rec["baseuom@odata.bind"] = "/uoms(" + base + ")"
		}
		id, err := w.dv.Insert("uoms", rec)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			base = id
		}
	}
	if _, err := w.dv.Insert("products", map[string]any{"name": "Product 0", "productnumber": sapsim.ProductID(0),
		"defaultuomscheduleid@odata.bind": "/uomschedules(" + group + ")", "defaultuomid@odata.bind": "/uoms(" + base + ")", "quantitydecimal": 2}); err != nil {
		t.Fatal(err)
	}
	return w
}

// invoiceOf is the D365 invoice of a billing document and its lines; it fails the test unless exactly one exists.
func (w *world) invoiceOf(t *testing.T, number string) (map[string]any, []map[string]any) {
	t.Helper()
	rows := w.dv.Find("invoices", w.inv.Mapping.KeyColumn, number)
	if len(rows) != 1 {
		t.Fatalf("billing document %s has %d D365 invoices, want 1", number, len(rows))
	}
	return rows[0], w.dv.Find("invoicedetails", "invoiceid", rows[0]["invoiceid"])
}

func rat(t *testing.T, v any) *big.Rat {
	t.Helper()
	s := strings.TrimSpace(fmt.Sprint(v))
	if v == nil || s == "" {
		s = "0"
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a decimal", s)
	}
	return r
}

// sameAsSAP checks an invoice against SAP's billing document to the cent: D365's totals equal SAP's header
// (turned by sign), and each line's amount before tax equals its item's net value, its tax the item's tax.
func (w *world) sameAsSAP(t *testing.T, number string, sign int64) {
	t.Helper()
	b, err := w.svc.SAP.GetBillingDocument(t.Context(), number)
	if err != nil {
		t.Fatal(err)
	}
	inv, lines := w.invoiceOf(t, number)
	sg := big.NewRat(sign, 1)
	for col, want := range map[string]sap.Decimal{"totallineitemamount": b.TotalNetAmount, "totaltax": b.TaxAmount, "totalamount": b.TotalGrossAmount} {
		if got := rat(t, inv[col]); got.Cmp(new(big.Rat).Mul(sg, want.Rat())) != 0 {
			t.Errorf("invoice of %s: %s = %s, SAP's %s × %d", number, col, got.FloatString(2), want, sign)
		}
	}
	if len(lines) != len(b.Items.Results) {
		t.Fatalf("invoice of %s has %d lines, SAP's document %d items", number, len(lines), len(b.Items.Results))
	}
	for _, it := range b.Items.Results {
		i := slices.IndexFunc(lines, func(l map[string]any) bool {
			return fmt.Sprint(l["lineitemnumber"]) == strings.TrimLeft(it.BillingDocumentItem, "0")
		})
		if i < 0 {
			t.Fatalf("invoice of %s has no line %s", number, it.BillingDocumentItem)
		}
		l := lines[i]
		net := new(big.Rat).Sub(rat(t, l["extendedamount"]), rat(t, l["tax"]))
		if net.Cmp(new(big.Rat).Mul(sg, it.NetAmount.Rat())) != 0 || rat(t, l["tax"]).Cmp(new(big.Rat).Mul(sg, it.TaxAmount.Rat())) != 0 {
			t.Errorf("line %s: net %s tax %s, SAP's item %s and %s (× %d)", it.BillingDocumentItem, net.FloatString(2), rat(t, l["tax"]).FloatString(2), it.NetAmount, it.TaxAmount, sign)
		}
		if rat(t, l["quantity"]).Cmp(it.BillingQuantity.Rat()) != 0 {
			t.Errorf("line %s: quantity %v, SAP's %s", it.BillingDocumentItem, l["quantity"], it.BillingQuantity)
		}
		if it.Material == sapsim.ProductID(0) && (l["_productid_value"] == nil || l["isproductoverridden"] == true) {
			t.Errorf("line %s of material %s (a D365 product) is a write-in: %v", it.BillingDocumentItem, it.Material, l)
		}
		if it.Material != sapsim.ProductID(0) && (l["isproductoverridden"] != true || !strings.Contains(fmt.Sprint(l["productdescription"]), it.Material)) {
			t.Errorf("line %s of material %s (not in D365) is not a write-in naming it: %v", it.BillingDocumentItem, it.Material, l)
		}
	}
}

// An order delivered and billed in two parts gives two D365 invoices, each equal to SAP's document to the cent,
// bound to the D365 order, its customer and price list; a cancellation then cancels exactly the invoice it names.
func TestTwoPartialBillsGiveTwoInvoicesAndACancellationCancelsItsOwn(t *testing.T) {
	w := invoiceWorld(t)
	number, id := w.order(t)
	d1, err := w.sap.Deliver(number, map[string]string{"10": "3", "20": "7"})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := w.sap.Deliver(number, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	b1, err := w.sap.BillDelivery(d1)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := w.sap.BillDelivery(d2)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	for _, b := range []string{b1, b2} {
		w.sameAsSAP(t, b, 1)
		inv, _ := w.invoiceOf(t, b)
		if inv["_salesorderid_value"] != id || inv["_customerid_value"] != w.customer || inv["_pricelevelid_value"] != w.priceList || fmt.Sprint(inv["statecode"]) != "0" {
			t.Errorf("invoice of %s: order %v customer %v price list %v state %v; want %s, %s, %s, active", b, inv["_salesorderid_value"],
				inv["_customerid_value"], inv["_pricelevelid_value"], inv["statecode"], id, w.customer, w.priceList)
		}
	}
	if n := w.dv.Count("invoices"); n != 2 {
		t.Fatalf("%d invoices, want 2", n)
	}
	cancellation, err := w.sap.CancelBilling(b1)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	if inv, _ := w.invoiceOf(t, b1); fmt.Sprint(inv["statecode"]) != "3" || fmt.Sprint(inv["statuscode"]) != "100003" {
		t.Errorf("the cancelled document's invoice is %v/%v, want canceled (3/100003)", inv["statecode"], inv["statuscode"])
	}
	if inv, _ := w.invoiceOf(t, b2); fmt.Sprint(inv["statecode"]) != "0" {
		t.Errorf("the other document's invoice is %v, want active", inv["statecode"])
	}
	if rows := w.dv.Find("invoices", w.inv.Mapping.KeyColumn, cancellation); len(rows) != 0 {
		t.Errorf("the cancellation document %s got an invoice of its own", cancellation)
	}
	if n := w.dv.Count("invoices"); n != 2 {
		t.Fatalf("%d invoices after the cancellation, want 2", n)
	}
}

// Every event again, reversed, twice over, and eight instances working the same event at once: still one
// invoice per document, and no write after the first.
func TestDuplicateReorderedAndConcurrentEventsMakeNoSecondInvoice(t *testing.T) {
	w := invoiceWorld(t)
	number, _ := w.order(t)
	d, err := w.sap.Deliver(number, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	b, err := w.sap.BillDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	evs := w.take()
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(evs))
	for range 8 {
		for _, e := range evs {
			wg.Go(func() { errs <- w.handle(t, e.CloudEvent(w.newID())) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	w.sameAsSAP(t, b, 1)
	after := w.dv.Writes("invoices").Total() + w.dv.Writes("invoicedetails").Total()
	rev := slices.Clone(evs)
	slices.Reverse(rev)
	w.deliver(t, append(rev, evs...))
	if got := w.dv.Writes("invoices").Total() + w.dv.Writes("invoicedetails").Total(); got != after {
		t.Errorf("redelivered events wrote %d more rows", got-after)
	}
	if w.inv.Stats.Created.Load() != 1 {
		t.Errorf("created %d invoices, want 1", w.inv.Stats.Created.Load())
	}
}

// A cancellation whose event comes before the original's: the original's invoice is created canceled, and the
// original's own event, late, changes nothing.
func TestCancellationBeforeTheOriginalCreatesItCanceled(t *testing.T) {
	w := invoiceWorld(t)
	number, _ := w.order(t)
	d, err := w.sap.Deliver(number, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	b, err := w.sap.BillDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	created := w.take()
	if _, err := w.sap.CancelBilling(b); err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	inv, _ := w.invoiceOf(t, b)
	if fmt.Sprint(inv["statecode"]) != "3" {
		t.Fatalf("invoice %v, want canceled", inv["statecode"])
	}
	w.sameAsSAP(t, b, 1)
	w.deliver(t, created)
	if inv, _ = w.invoiceOf(t, b); fmt.Sprint(inv["statecode"]) != "3" {
		t.Fatalf("after the late Created: %v", inv["statecode"])
	}
}

// A credit memo becomes an invoice of the negative amounts (the shipped mapping's negativeInvoice), equal to SAP's
// to the cent; a billing type the mapping names nowhere is skipped, audited, and not retried.
func TestCreditMemoIsANegativeInvoiceAndAnUnmappedTypeIsSkipped(t *testing.T) {
	w := invoiceWorld(t)
	number, _ := w.order(t)
	d, err := w.sap.Deliver(number, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	if _, err := w.sap.BillDelivery(d); err != nil {
		t.Fatal(err)
	}
	credit, err := w.sap.CreditMemo(number, map[string]string{"10": "2", "20": "1"})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	w.sameAsSAP(t, credit, -1)
	number2, _ := w.order(t)
	d2, err := w.sap.Deliver(number2, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	odd, err := w.sap.BillWithType(d2, "ZX1", "U")
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	if rows := w.dv.Find("invoices", w.inv.Mapping.KeyColumn, odd); len(rows) != 0 {
		t.Fatalf("unmapped type ZX1 got an invoice")
	}
	if len(w.takeRetries()) != 0 {
		t.Errorf("the unmapped document was sent again")
	}
	var entries []audit.Entry
	for e, err := range w.trail.List(t.Context(), "sap-billingdocument-"+odd) {
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 || entries[len(entries)-1].Outcome != "skipped" || !strings.Contains(entries[len(entries)-1].Detail, "ZX1") {
		t.Fatalf("audit of the unmapped document: %+v", entries)
	}
}

// A correction in SAP rewrites the invoice while it is active; once SAP clears it the invoice is paid, and a
// correction after that leaves it alone.
func TestCorrectionRewritesAnActiveInvoiceAndNeverAPaidOne(t *testing.T) {
	w := invoiceWorld(t)
	number, _ := w.order(t)
	d, err := w.sap.Deliver(number, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	b, err := w.sap.BillDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	if err := w.sap.ReviseBilling(b, "20", "77.77"); err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	w.sameAsSAP(t, b, 1)
	if w.inv.Stats.Corrected.Load() != 1 {
		t.Fatalf("corrected %d times, want 1", w.inv.Stats.Corrected.Load())
	}
	if err := w.sap.ClearBilling(b, "C"); err != nil {
		t.Fatal(err)
	}
	// Clearing raises no event: the poll, or any later event of the document, brings it.
	if err := w.inv.Reconcile(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	inv, _ := w.invoiceOf(t, b)
	if fmt.Sprint(inv["statecode"]) != "2" || fmt.Sprint(inv["statuscode"]) != "100001" {
		t.Fatalf("cleared in SAP, the invoice is %v/%v, want paid (2/100001)", inv["statecode"], inv["statuscode"])
	}
	total := inv["totalamount"]
	if err := w.sap.ReviseBilling(b, "20", "11.11"); err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	if inv, _ = w.invoiceOf(t, b); fmt.Sprint(inv["totalamount"]) != fmt.Sprint(total) || fmt.Sprint(inv["statecode"]) != "2" {
		t.Fatalf("a paid invoice was rewritten: total %v → %v, state %v", total, inv["totalamount"], inv["statecode"])
	}
	if w.inv.Stats.Closed.Load() == 0 {
		t.Errorf("the change after the payment was not recorded as left alone")
	}
}

// A Created event that comes before SAP's read side shows the document (read lag) is sent again, not dropped
// and not dead-lettered; its retry makes the invoice.
func TestBillingEventBeforeTheDocumentIsReadableIsTriedAgain(t *testing.T) {
	w := invoiceWorld(t)
	number, _ := w.order(t)
	d, err := w.sap.Deliver(number, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	w.sap.SetFaults(sapsim.Faults{BillingReadLag: sapsim.Duration(time.Second)})
	b, err := w.sap.BillDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	if n := w.dv.Count("invoices"); n != 0 {
		t.Fatalf("%d invoices of a document SAP does not show yet", n)
	}
	retries := w.takeRetries()
	if len(retries) == 0 {
		t.Fatal("the event of a document SAP does not show yet was not sent again")
	}
	time.Sleep(1100 * time.Millisecond)
	for _, r := range retries {
		if err := w.handle(t, r.body); err != nil {
			t.Fatal(err)
		}
	}
	w.sameAsSAP(t, b, 1)
}
