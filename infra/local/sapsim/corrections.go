package sapsim

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// ReviseBilling sets the net amount of one item of a billing document, as a manual price correction: a manual
// condition (RB00, class A, ConditionIsManuallyChanged) takes up the difference, so price and discounts still add
// up to the net; the item's tax and gross and the header's totals follow. The document is stamped changed and
// BillingDocument.Changed is raised. A cancelled document and a cancellation cannot be revised (ErrCancelled). SD
// lets prices change only before the document is posted to FI; the simulator allows it at any time, so a test can
// make an invoice change after the integration has read it.
func (s *Server) ReviseBilling(number, item, netAmount string) error {
	if !decimalFits(netAmount, 14, 2) || strings.HasPrefix(netAmount, "-") {
		return fmt.Errorf("revising billing document %s: %q is not an amount with at most 2 decimals", number, netAmount)
	}
	target := ratOf(netAmount)
	st := s.store
	st.mu.Lock()
	doc, ok := s.storedBilling(number)
	if !ok {
		st.mu.Unlock()
		return fmt.Errorf("revising billing document %s: %w", number, ErrNoSuchDocument)
	}
	if prev, _ := doc["CancelledBillingDocument"].(string); prev != "" || doc["BillingDocumentIsCancelled"] == true {
		st.mu.Unlock()
		return fmt.Errorf("revising billing document %s: %w", number, ErrCancelled)
	}
	items, _ := doc["to_Item"].([]record)
	i := slices.IndexFunc(items, func(it record) bool { return it["BillingDocumentItem"] == item })
	if i < 0 {
		st.mu.Unlock()
		return fmt.Errorf("revising item %s of billing document %s: %w", item, number, ErrNoSuchDocument)
	}
	it := items[i]
	currency := fmt.Sprint(it["TransactionCurrency"])
	rows, _ := it["to_PricingElement"].([]record)
	manual := slices.IndexFunc(rows, func(r record) bool { return r["ConditionType"] == manualType })
	amount := new(big.Rat).Sub(target, ratOf(fmt.Sprint(it["NetAmount"])))
	if manual >= 0 {
		amount.Add(amount, ratOf(fmt.Sprint(rows[manual]["ConditionAmount"])))
		rows = slices.Delete(rows, manual, manual+1)
	}
	if amount.Sign() != 0 {
		r := record{"BillingDocument": number, "BillingDocumentItem": item, "PricingProcedureStep": stepManual,
			"PricingProcedureCounter": "001", "ConditionType": manualType, "ConditionClass": "A",
			"ConditionCalculationType": "B", "ConditionRateValue": amount.FloatString(2), "ConditionCurrency": currency,
			"ConditionAmount": amount.FloatString(2), "TransactionCurrency": currency, "ConditionOrigin": "C",
			"ConditionIsManuallyChanged": true}
		at := slices.IndexFunc(rows, func(r record) bool { return fmt.Sprint(r["PricingProcedureStep"]) > stepManual })
		if at < 0 {
			at = len(rows)
		}
		rows = slices.Insert(rows, at, r)
	}
	tax := taxOf(target)
	for _, r := range rows {
		if r["ConditionClass"] == "D" {
			taxElement(r, target, tax)
		}
	}
	it["to_PricingElement"] = rows
	it["NetAmount"], it["TaxAmount"] = target.FloatString(2), tax.FloatString(2)
	it["GrossAmount"] = new(big.Rat).Add(target, tax).FloatString(2)
	totals(doc)
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	touch(doc, now)
	ev := billingEvent("Changed", doc, now)
	st.mu.Unlock()
	s.raise([]Event{ev})
	return nil
}

// ClearBilling sets InvoiceClearingStatus as FI does when a payment clears the receivable: "B" partially, "C"
// fully cleared, "A" again when the clearing is reset. It is refused for a document not relevant for clearing
// (blank: a pro forma invoice, an uncleared document cancelled, its cancellation). The document is stamped
// changed; no event is raised: FI clearing is no change of the billing document in SD, and whether S/4HANA raises
// any billing document event for it is UNVERIFIED.
func (s *Server) ClearBilling(number, status string) error {
	if status != "A" && status != "B" && status != "C" {
		return fmt.Errorf("clearing billing document %s: status %q is not A, B or C", number, status)
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	doc, ok := s.storedBilling(number)
	if !ok {
		return fmt.Errorf("clearing billing document %s: %w", number, ErrNoSuchDocument)
	}
	if doc["InvoiceClearingStatus"] == "" {
		return fmt.Errorf("clearing billing document %s: it is not relevant for clearing", number)
	}
	doc["InvoiceClearingStatus"] = status
	touch(doc, s.opts.Now().UTC().Truncate(time.Millisecond))
	return nil
}

// orderOfBilling is the sales order a stored billing document bills.
func (s *Server) orderOfBilling(number string) (string, bool) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	doc, ok := s.storedBilling(number)
	if !ok {
		return "", false
	}
	items, _ := doc["to_Item"].([]record)
	if len(items) == 0 {
		return "", false
	}
	order, _ := items[0]["SalesDocument"].(string)
	return order, order != ""
}

// storedDelivery is a delivery the lifecycle made; the store lock is held.
func (s *Server) storedDelivery(number string) (record, bool) {
	for _, d := range s.store.deliveries {
		if d["DeliveryDocument"] == number {
			return d, true
		}
	}
	return nil, false
}

func (s *Server) orderOfDelivery(number string) (string, bool) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	d, ok := s.storedDelivery(number)
	if !ok {
		return "", false
	}
	return orderOfDeliveryRecord(d), true
}

func orderOfDeliveryRecord(d record) string {
	items, _ := d["to_DeliveryDocumentItem"].([]record)
	if len(items) == 0 {
		return ""
	}
	order, _ := items[0]["ReferenceSDDocument"].(string)
	return order
}

// deliveriesOf are the stored deliveries of an order, oldest first; the store lock is held.
func (s *Server) deliveriesOf(order string) []record {
	var out []record
	for _, d := range s.store.deliveries {
		if orderOfDeliveryRecord(d) == order {
			out = append(out, d)
		}
	}
	return out
}
