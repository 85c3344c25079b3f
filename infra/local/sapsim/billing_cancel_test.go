package sapsim

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestCancelBilling: a cancellation is a new document that mirrors the original, the original is marked and
// stamped, what an invoice billed is unbilled again, and the events and clearing statuses follow.
func TestCancelBilling(t *testing.T) {
	for _, tc := range []struct {
		name string
		// make returns the document to cancel, made on an order fully delivered (for a memo: and invoiced).
		make                   func(s *Server, order, delivery string) (string, error)
		raiseChanged           bool
		clearedBefore          string // ClearBilling before the cancellation ("" none)
		wantType, wantCategory string
		wantClearing           [2]string // original, cancellation
		unbills                bool
	}{
		{"invoice", func(s *Server, _, d string) (string, error) { return s.BillDelivery(d) }, false, "", "S1", "N", [2]string{"", ""}, true},
		{"invoice, Changed for the original", func(s *Server, _, d string) (string, error) { return s.BillDelivery(d) }, true, "", "S1", "N", [2]string{"", ""}, true},
		{"cleared invoice", func(s *Server, _, d string) (string, error) { return s.BillDelivery(d) }, false, "C", "S1", "N", [2]string{"C", "A"}, true},
		{"partly cleared invoice", func(s *Server, _, d string) (string, error) { return s.BillDelivery(d) }, false, "B", "S1", "N", [2]string{"B", "A"}, true},
		{"credit memo", func(s *Server, o, d string) (string, error) {
			return billedThen(s, d, func() (string, error) { return s.CreditMemo(o, map[string]string{"20": "10"}) })
		}, false, "", "S2", "S", [2]string{"", ""}, false},
		{"debit memo", func(s *Server, o, d string) (string, error) {
			return billedThen(s, d, func() (string, error) { return s.DebitMemo(o, map[string]string{"10": "1.5"}) })
		}, false, "", "S1", "N", [2]string{"", ""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, clock, rec := billingSim(t, Options{BillingCancelRaisesChanged: tc.raiseChanged})
			s := c.srv
			order := enterOrder(t, s)
			d, err := s.Deliver(order, nil)
			if err != nil {
				t.Fatal(err)
			}
			orig, err := tc.make(s, order, d)
			if err != nil {
				t.Fatal(err)
			}
			if tc.clearedBefore != "" {
				if err := s.ClearBilling(orig, tc.clearedBefore); err != nil {
					t.Fatal(err)
				}
			}
			before := c.getBilling(orig)
			rec.take()
			clock.advance(time.Hour)
			canc, err := s.CancelBilling(orig)
			if err != nil {
				t.Fatal(err)
			}
			wantEvents := []string{"Created " + canc}
			if tc.raiseChanged {
				wantEvents = append(wantEvents, "Changed "+orig)
			}
			if got := rec.take(); !slices.Equal(got, wantEvents) {
				t.Fatalf("events %v, want %v", got, wantEvents)
			}
			o, cb := c.getBilling(orig), c.getBilling(canc)
			checkInvariants(t, cb)
			if !o.BillingDocumentIsCancelled || !o.changed(t).After(before.changed(t)) || o.Metadata.ETag == before.Metadata.ETag ||
				o.InvoiceClearingStatus != tc.wantClearing[0] || o.AccountingTransferStatus != "C" {
				t.Fatalf("original after cancellation %+v", o)
			}
			if cb.BillingDocumentType != tc.wantType || cb.SDDocumentCategory != tc.wantCategory || cb.CancelledBillingDocument != orig ||
				cb.BillingDocumentIsCancelled || cb.InvoiceClearingStatus != tc.wantClearing[1] || cb.AccountingDocument == o.AccountingDocument ||
				cb.TotalNetAmount != o.TotalNetAmount || cb.TaxAmount != o.TaxAmount || cb.TotalGrossAmount != o.TotalGrossAmount ||
				len(cb.Items.Results) != len(o.Items.Results) {
				t.Fatalf("cancellation %+v of %+v", cb, o)
			}
			for i, it := range cb.Items.Results {
				oi := o.Items.Results[i]
				if it.BillingDocument != canc || it.BillingDocumentItem != oi.BillingDocumentItem || it.NetAmount != oi.NetAmount ||
					it.BillingQuantity != oi.BillingQuantity || it.ReferenceSDDocument != oi.ReferenceSDDocument ||
					len(it.Elements.Results) != len(oi.Elements.Results) || it.Elements.Results[0].BillingDocument != canc {
					t.Fatalf("cancellation item %+v mirrors %+v", it, oi)
				}
			}
			for _, again := range []string{orig, canc} {
				if n, err := s.CancelBilling(again); !errors.Is(err, ErrNotCancellable) {
					t.Fatalf("cancelling %s again gave %q, %v", again, n, err)
				}
			}
			if err := s.ReviseBilling(orig, "10", "1.00"); !errors.Is(err, ErrCancelled) {
				t.Fatalf("revising the cancelled original: %v", err)
			}
			if flow := c.orderFlow(order).flow(); flow[len(flow)-1] != tc.wantCategory+" "+canc {
				t.Fatalf("flow %v", flow)
			}
			again, err := s.BillDelivery(d)
			if tc.unbills != (err == nil) {
				t.Fatalf("billing the delivery again: %q, %v", again, err)
			}
		})
	}
}

// TestMemosAndOtherTypes: credit and debit memos are priced as the order items; a pro forma invoice (or any type a
// test names) is its own kind, counts as nothing billed, and is not relevant for accounting; the order's flow
// lists every document with its category.
func TestMemosAndOtherTypes(t *testing.T) {
	c, _, rec := billingSim(t, Options{})
	s := c.srv
	order := enterOrder(t, s)
	d, err := s.Deliver(order, nil)
	if err != nil {
		t.Fatal(err)
	}
	pro, err := s.BillWithType(d, "F8", "U")
	if err != nil {
		t.Fatal(err)
	}
	inv, err := s.BillDelivery(d)
	if err != nil {
		t.Fatalf("a pro forma invoice must leave the delivery to be billed: %v", err)
	}
	cm, err := s.CreditMemo(order, map[string]string{"10": "3", "20": "100"})
	if err != nil {
		t.Fatal(err)
	}
	dm, err := s.DebitMemo(order, map[string]string{"30": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, []string{"Created " + pro, "Created " + inv, "Created " + cm, "Created " + dm}) {
		t.Fatalf("events %v", got)
	}
	inB, cmB := c.getBilling(inv), c.getBilling(cm)
	for _, tc := range []struct {
		doc                              string
		typ, cat, billCat, transfer, clr string
	}{
		{pro, "F8", "U", "L", "D", ""},
		{inv, "F2", "M", "L", "C", "A"},
		{cm, "G2", "O", "A", "C", "A"},
		{dm, "L2", "P", "A", "C", "A"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			b := c.getBilling(tc.doc)
			checkInvariants(t, b)
			if b.BillingDocumentType != tc.typ || b.SDDocumentCategory != tc.cat || b.BillingDocumentCategory != tc.billCat ||
				b.AccountingTransferStatus != tc.transfer || b.InvoiceClearingStatus != tc.clr || rat(t, b.TotalNetAmount, true).Sign() <= 0 {
				t.Fatalf("%+v", b)
			}
		})
	}
	// The credit memo's items are priced as the invoice's for the same quantity of the same order item.
	if cmB.Items.Results[0].NetAmount != "37.04" || cmB.Items.Results[0].ReferenceSDDocumentCategory != "C" ||
		cmB.Items.Results[0].ReferenceSDDocument != order || cmB.Items.Results[1].SalesDocumentItem != "20" {
		t.Fatalf("credit memo items %+v (invoice %+v)", cmB.Items.Results, inB.Items.Results)
	}
	if _, err := s.CancelBilling(pro); !errors.Is(err, ErrNotCancellable) {
		t.Fatalf("cancelling a pro forma invoice: %v", err)
	}
	if err := s.ClearBilling(pro, "C"); err == nil {
		t.Fatal("a pro forma invoice cannot be cleared")
	}
	for _, bad := range []map[string]string{{"40": "1"}, {"10": "0"}, {"10": "-1"}, {}} {
		if n, err := s.CreditMemo(order, bad); err == nil {
			t.Fatalf("credit memo for %v made %s", bad, n)
		}
	}
	for _, bad := range [][2]string{{"", "M"}, {"F2", ""}, {"F2XXX", "M"}} {
		if n, err := s.BillWithType(d, bad[0], bad[1]); err == nil {
			t.Fatalf("billing type %q category %q made %s", bad[0], bad[1], n)
		}
	}
	if _, err := s.BillDelivery("80000000"); !errors.Is(err, ErrNoSuchDocument) {
		t.Fatalf("billing a generated delivery: %v", err)
	}
	want := []string{"J " + d, "U " + pro, "M " + inv, "O " + cm, "P " + dm}
	if got := c.orderFlow(order).flow(); !slices.Equal(got, want) {
		t.Fatalf("flow %v, want %v", got, want)
	}
}

// billedThen invoices a delivery, then makes a memo.
func billedThen(s *Server, delivery string, memo func() (string, error)) (string, error) {
	if _, err := s.BillDelivery(delivery); err != nil {
		return "", err
	}
	return memo()
}
