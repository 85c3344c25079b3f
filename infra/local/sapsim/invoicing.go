package sapsim

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strconv"
	"time"
)

// The billing lifecycle. Each operation that adds a document to an order's flow runs through change: the order is
// stamped changed and its statuses recomputed, as Bill always did (whether SAP stamps the sales order for a credit
// memo or a cancellation is UNVERIFIED). Revisions and clearing touch the billing document only.

// Bill creates one invoice (F2, category M) for everything of an order that its deliveries delivered and no
// invoice billed yet, an item per delivery item.
func (s *Server) Bill(order string) (string, error) {
	var number string
	err := s.change(order, func(so record, l *life, now time.Time) ([]Event, error) {
		var lines []billLine
		for _, d := range s.deliveriesOf(order) {
			lines = append(lines, unbilled(d, so, l)...)
		}
		if len(lines) == 0 {
			return nil, fmt.Errorf("billing order %s: %w", order, ErrNothingToBill)
		}
		n, ev := s.invoice(so, l, invoice, lines, now)
		number = n
		return []Event{ev}, nil
	})
	return number, err
}

// BillDelivery creates an invoice (F2, category M, delivery-related) for what one delivery delivered and no
// invoice billed yet: an order delivered in two deliveries billed one by one has two invoices.
func (s *Server) BillDelivery(delivery string) (string, error) {
	return s.BillWithType(delivery, "F2", "M")
}

// BillWithType bills a delivery with any billing type and SD document category, e.g. "F8" and "U" for a pro forma
// invoice. Only category M counts as billed (a pro forma invoice leaves the delivery to be billed); U is not
// relevant for accounting.
func (s *Server) BillWithType(delivery, billingType, category string) (string, error) {
	if billingType == "" || len(billingType) > 4 || category == "" || len(category) > 4 {
		return "", fmt.Errorf("billing delivery %s: type %q and category %q must be 1 to 4 characters", delivery, billingType, category)
	}
	order, ok := s.orderOfDelivery(delivery)
	if !ok {
		return "", fmt.Errorf("billing delivery %s: %w", delivery, ErrNoSuchDocument)
	}
	var number string
	err := s.change(order, func(so record, l *life, now time.Time) ([]Event, error) {
		d, _ := s.storedDelivery(delivery)
		lines := unbilled(d, so, l)
		if len(lines) == 0 {
			return nil, fmt.Errorf("billing delivery %s: %w", delivery, ErrNothingToBill)
		}
		n, ev := s.invoice(so, l, billKind{billingType, category, "L"}, lines, now)
		number = n
		return []Event{ev}, nil
	})
	return number, err
}

// invoice makes a delivery-related document; an M document counts its quantities as billed.
func (s *Server) invoice(so record, l *life, k billKind, lines []billLine, now time.Time) (string, Event) {
	if k.sdCategory == "M" {
		for _, ln := range lines {
			billed(l, ln, ln.qty)
		}
	}
	return s.newBilling(so, s.store.meta[fmt.Sprint(so["SalesOrder"])].pricing, k, lines, now)
}

// billed adds q to what an invoice billed of a delivery item and of its order item (q < 0 takes it back).
func billed(l *life, ln billLine, q *big.Rat) {
	id := fmt.Sprint(ln.item["SalesOrderItem"])
	key := ln.ref + "/" + ln.refItem
	l.billedOf[key] = new(big.Rat).Add(qty(l.billedOf, key), q)
	l.billed[id] = new(big.Rat).Add(qty(l.billed, id), q)
}

// unbilled are the lines of a delivery that no invoice billed yet.
func unbilled(d record, so record, l *life) []billLine {
	items, _ := so["to_Item"].([]record)
	dItems, _ := d["to_DeliveryDocumentItem"].([]record)
	var out []billLine
	for _, di := range dItems {
		ref, refItem := fmt.Sprint(di["DeliveryDocument"]), fmt.Sprint(di["DeliveryDocumentItem"])
		q := new(big.Rat).Sub(ratOf(fmt.Sprint(di["ActualDeliveryQuantity"])), qty(l.billedOf, ref+"/"+refItem))
		i := slices.IndexFunc(items, func(it record) bool { return it["SalesOrderItem"] == di["ReferenceSDDocumentItem"] })
		if q.Sign() <= 0 || i < 0 {
			continue
		}
		out = append(out, billLine{item: items[i], qty: q, ref: ref, refItem: refItem, refCategory: "J"})
	}
	return out
}

// CreditMemo creates a credit memo (G2, category O, order-related) for quantities of order items (item number →
// quantity), priced as the order items are. SD makes it from a credit memo request; the simulator refers its
// items to the order itself (ReferenceSDDocumentCategory C). Billed quantities do not change.
func (s *Server) CreditMemo(order string, items map[string]string) (string, error) {
	return s.memo(order, items, creditMemo)
}

// DebitMemo creates a debit memo (L2, category P, order-related), as CreditMemo does.
func (s *Server) DebitMemo(order string, items map[string]string) (string, error) {
	return s.memo(order, items, debitMemo)
}

func (s *Server) memo(order string, quantities map[string]string, k billKind) (string, error) {
	var number string
	err := s.change(order, func(so record, l *life, now time.Time) ([]Event, error) {
		items, _ := so["to_Item"].([]record)
		var lines []billLine
		for _, it := range items {
			id := fmt.Sprint(it["SalesOrderItem"])
			v, ok := quantities[id]
			if !ok {
				continue
			}
			if !decimalFits(v, 15, 3) || ratOf(v).Sign() <= 0 {
				return nil, fmt.Errorf("making a %s for item %s of order %s: %q is not a positive quantity", k.typ, id, order, v)
			}
			lines = append(lines, billLine{item: it, qty: ratOf(v), ref: order, refItem: id, refCategory: "C"})
		}
		if len(lines) != len(quantities) || len(lines) == 0 {
			return nil, fmt.Errorf("making a %s for order %s: items %v are not all items of the order", k.typ, order, slices.Sorted(maps.Keys(quantities)))
		}
		n, ev := s.newBilling(so, s.store.meta[order].pricing, k, lines, now)
		number = n
		return []Event{ev}, nil
	})
	return number, err
}

// CancelBilling cancels a document as VF11 does: a new document (S1, category N, for an invoice or a debit memo;
// S2, category S, for a credit memo) whose CancelledBillingDocument is the original and whose items mirror the
// original's, amounts included (positive, as SAP keeps them); the original becomes BillingDocumentIsCancelled and
// is stamped changed; what an invoice billed counts as unbilled again. Clearing (sap-finance.md): an uncleared
// original and its cancellation become blank (not relevant); a cleared one keeps its status and the cancellation
// is to be cleared (A). Raises Created for the cancellation and, with Options.BillingCancelRaisesChanged, Changed
// for the original (whether SAP does is UNVERIFIED).
func (s *Server) CancelBilling(number string) (string, error) {
	order, ok := s.orderOfBilling(number)
	if !ok {
		return "", fmt.Errorf("cancelling billing document %s: %w", number, ErrNoSuchDocument)
	}
	var cancellation string
	err := s.change(order, func(so record, l *life, now time.Time) ([]Event, error) {
		orig, _ := s.storedBilling(number)
		to, ok := cancellations[fmt.Sprint(orig["SDDocumentCategory"])]
		if prev, _ := orig["CancelledBillingDocument"].(string); !ok || prev != "" || orig["BillingDocumentIsCancelled"] == true {
			return nil, fmt.Errorf("cancelling billing document %s: %w", number, ErrNotCancellable)
		}
		c := cloneRecord(orig)
		cancellation = strconv.Itoa(90000000 + s.opts.BillingDocuments + len(s.store.billing))
		today := now.Truncate(24 * time.Hour)
		c["BillingDocument"], c["BillingDocumentType"], c["SDDocumentCategory"] = cancellation, to[0], to[1]
		c["CancelledBillingDocument"], c["BillingDocumentIsCancelled"] = number, false
		c["BillingDocumentDate"], c["CreationDate"], c["CreationTime"] = today, today, clockTime(now)
		items, _ := c["to_Item"].([]record)
		for _, it := range items {
			it["BillingDocument"], it["CreationDate"], it["CreationTime"] = cancellation, today, clockTime(now)
			rows, _ := it["to_PricingElement"].([]record)
			for _, r := range rows {
				r["BillingDocument"] = cancellation
			}
		}
		s.post(c, to[1], today)
		if orig["InvoiceClearingStatus"] == "A" {
			orig["InvoiceClearingStatus"], c["InvoiceClearingStatus"] = "", ""
		}
		if orig["SDDocumentCategory"] == "M" {
			s.unbill(so, l, orig)
		}
		orig["BillingDocumentIsCancelled"] = true
		touch(orig, now)
		s.storeBilling(c, now)
		flow(so, cancellation, to[1], now)
		evs := []Event{billingEvent("Created", c, now)}
		if s.opts.BillingCancelRaisesChanged {
			evs = append(evs, billingEvent("Changed", orig, now))
		}
		return evs, nil
	})
	return cancellation, err
}

// unbill takes back what an invoice billed of its delivery items.
func (s *Server) unbill(so record, l *life, doc record) {
	orderItems, _ := so["to_Item"].([]record)
	items, _ := doc["to_Item"].([]record)
	for _, it := range items {
		if it["ReferenceSDDocumentCategory"] != "J" {
			continue
		}
		i := slices.IndexFunc(orderItems, func(o record) bool { return o["SalesOrderItem"] == it["SalesDocumentItem"] })
		if i < 0 {
			continue
		}
		ln := billLine{item: orderItems[i], ref: fmt.Sprint(it["ReferenceSDDocument"]), refItem: fmt.Sprint(it["ReferenceSDDocumentItem"])}
		billed(l, ln, new(big.Rat).Neg(ratOf(fmt.Sprint(it["BillingQuantity"]))))
	}
}
