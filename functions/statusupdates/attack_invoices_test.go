package statusupdates_test

// Attacks on the invoices through the status path, against both simulators and Azurite. A
// TestAttackInvoices<What> that fails shows a bug; a TestAttackInvoicesHeld<What> is withstood.

import (
	"fmt"
	"sync"
	"testing"
)

// SAP cancels an invoice that FI has cleared already (sap-finance.md: "A cancelled cleared document keeps C";
// the simulator does the same). The clearing reached D365 first (the poll, or any event of the document), so the
// invoice is paid; the cancellation then meets "paid is final" and D365 keeps showing a cancelled document as a
// paid invoice — though D365 lets a paid invoice be canceled, and the same events in the other order give
// canceled.
func TestAttackInvoicesClearedThenCancelledStaysPaid(t *testing.T) {
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
	if err := w.sap.ClearBilling(b, "C"); err != nil {
		t.Fatal(err)
	}
	if err := w.inv.Reconcile(t.Context(), b); err != nil { // what the billing poll brings
		t.Fatal(err)
	}
	if inv, _ := w.invoiceOf(t, b); fmt.Sprint(inv["statecode"]) != "2" {
		t.Fatalf("cleared: %v, want paid", inv["statecode"])
	}
	if _, err := w.sap.CancelBilling(b); err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	if inv, _ := w.invoiceOf(t, b); fmt.Sprint(inv["statecode"]) != "3" {
		t.Fatalf("SAP cancelled billing document %s; its D365 invoice is %v/%v, want canceled (3/100003)", b, inv["statecode"], inv["statuscode"])
	}
}

// Held: the original's Created and its cancellation's Created, each worked by four instances at once, in both
// orders: one invoice, canceled, and the cancellation document gets none.
func TestAttackInvoicesHeldCancellationRacingItsOriginal(t *testing.T) {
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
	cancellation, err := w.sap.CancelBilling(b)
	if err != nil {
		t.Fatal(err)
	}
	evs = append(evs, w.take()...)
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(evs))
	for range 4 {
		for i := range evs {
			e := evs[len(evs)-1-i]
			wg.Go(func() { errs <- w.handle(t, e.CloudEvent(w.newID())) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, r := range w.takeRetries() { // a racer may have been sent again: work those too
		if err := w.handle(t, r.body); err != nil {
			t.Error(err)
		}
	}
	inv, _ := w.invoiceOf(t, b)
	if fmt.Sprint(inv["statecode"]) != "3" {
		t.Fatalf("invoice of %s is %v, want canceled", b, inv["statecode"])
	}
	if rows := w.dv.Find("invoices", w.inv.Mapping.KeyColumn, cancellation); len(rows) != 0 {
		t.Fatalf("the cancellation %s got an invoice", cancellation)
	}
	w.sameAsSAP(t, b, 1)
}
