package sapsim

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// Billing documents (API_BILLING_DOCUMENT_SRV) as SD and FI leave them: invoices (F2, SD document category M),
// their cancellations (S1, N), credit memos (G2, O) and their cancellations (S2, S), debit memos (L2, P), pro
// forma invoices (F8, U) or any other type a test names. Every item copies the pricing of its order item
// (itemPricing) for the quantity it bills; its tax is 19 % of its net, rounded; the header sums its items. A
// document is posted to FI at once (AccountingTransferStatus C) and waits for a payment (InvoiceClearingStatus
// A); a pro forma invoice is not relevant for accounting (D, blank). Generated documents (Options.BillingDocuments,
// numbers from 90000000) are history and cannot be changed; the ones the lifecycle makes are numbered after them.

var (
	// ErrNoSuchDocument is a change to a billing document or delivery the simulator did not make.
	ErrNoSuchDocument = errors.New("sapsim: no such document")
	// ErrNothingToBill is a billing of a delivery (or order) whose delivered quantities are all billed.
	ErrNothingToBill = errors.New("sapsim: nothing is delivered and not billed")
	// ErrNotCancellable is a cancellation of a document that is cancelled already, is itself a cancellation, or
	// has a category SD does not cancel (a pro forma invoice).
	ErrNotCancellable = errors.New("sapsim: billing document cannot be cancelled")
	// ErrCancelled is a revision of a cancelled document or of a cancellation.
	ErrCancelled = errors.New("sapsim: billing document is cancelled")
)

// CompanyCode is the company code of sales organisation 1010, where every billing document is posted.
const CompanyCode = "1010"

// billKind is what a new billing document is: BillingDocumentType, SDDocumentCategory and
// BillingDocumentCategory (L delivery-related, A order-related).
type billKind struct{ typ, sdCategory, billingCategory string }

var (
	invoice    = billKind{"F2", "M", "L"}
	creditMemo = billKind{"G2", "O", "A"}
	debitMemo  = billKind{"L2", "P", "A"}
)

// cancellations maps the SD document category of a document SD cancels to the type and category of its
// cancellation: S1 cancels invoices and debit memos, S2 credit memos.
var cancellations = map[string][2]string{"M": {"S1", "N"}, "P": {"S1", "N"}, "O": {"S2", "S"}}

// billLine is one item of a new billing document: qty (in the order unit) of an order item, and the document it
// refers to (the delivery, category J, or for a memo the order, C).
type billLine struct {
	item                      record
	qty                       *big.Rat
	ref, refItem, refCategory string
}

// relevantForAccounting says whether FI gets the document: all but pro forma invoices.
func relevantForAccounting(sdCategory string) bool { return sdCategory != "U" }

// newBilling builds a billing document of so for lines, numbers and stores it, adds it to the order's flow and
// returns its Created event. The store lock is held.
func (s *Server) newBilling(so record, pricing map[string]itemPricing, k billKind, lines []billLine, now time.Time) (string, Event) {
	st := s.store
	number := strconv.Itoa(90000000 + s.opts.BillingDocuments + len(st.billing))
	today := now.Truncate(24 * time.Hour)
	currency := fmt.Sprint(so["TransactionCurrency"])
	var items []record
	for n, ln := range lines {
		id := fmt.Sprint(ln.item["SalesOrderItem"])
		item := strconv.Itoa((n + 1) * 10)
		p := pricing[id]
		rows, net, tax := p.pricingElements(number, item, ln.qty, currency)
		items = append(items, record{"BillingDocument": number, "BillingDocumentItem": item,
			"SalesDocumentItemCategory": ln.item["SalesOrderItemCategory"], "CreationDate": today, "CreationTime": clockTime(now),
			"Division": so["OrganizationDivision"], "Material": ln.item["Material"], "Plant": ln.item["ProductionPlant"],
			"BillingDocumentItemText": ln.item["SalesOrderItemText"], "BillingQuantity": ln.qty.FloatString(3),
			"BillingQuantityUnit": ln.item["RequestedQuantityUnit"], "BaseUnit": p.baseUnit,
			"BillingQuantityInBaseUnit": p.baseQuantity(ln.qty).FloatString(3), "NetAmount": net.FloatString(2),
			"TaxAmount": tax.FloatString(2), "GrossAmount": new(big.Rat).Add(net, tax).FloatString(2),
			"TransactionCurrency": currency, "PricingDate": so["PricingDate"], "ReferenceSDDocument": ln.ref,
			"ReferenceSDDocumentItem": ln.refItem, "ReferenceSDDocumentCategory": ln.refCategory,
			"SalesDocument": so["SalesOrder"], "SalesDocumentItem": id, "SalesSDDocumentCategory": "C",
			"to_PricingElement": rows})
	}
	doc := record{"BillingDocument": number, "BillingDocumentType": k.typ, "SDDocumentCategory": k.sdCategory,
		"BillingDocumentCategory": k.billingCategory, "BillingDocumentDate": today, "CreationDate": today,
		"CreationTime": clockTime(now), "SalesOrganization": so["SalesOrganization"],
		"DistributionChannel": so["DistributionChannel"], "Division": so["OrganizationDivision"],
		"SoldToParty": so["SoldToParty"], "PayerParty": so["SoldToParty"], "PurchaseOrderByCustomer": so["PurchaseOrderByCustomer"],
		"TransactionCurrency": currency, "CustomerPaymentTerms": so["CustomerPaymentTerms"], "Country": "DE",
		"BillingDocumentIsCancelled": false, "OverallBillingStatus": "C", "OverallSDProcessStatus": "C", "to_Item": items}
	s.post(doc, k.sdCategory, today)
	totals(doc)
	s.storeBilling(doc, now)
	flow(so, number, k.sdCategory, now)
	return number, billingEvent("Created", doc, now)
}

// post fills the FI side of a new document: posted (or not relevant), its accounting document, to be cleared.
func (s *Server) post(doc record, sdCategory string, day time.Time) {
	doc["CompanyCode"], doc["FiscalYear"] = CompanyCode, strconv.Itoa(day.Year())
	doc["DocumentReferenceID"] = doc["BillingDocument"]
	if !relevantForAccounting(sdCategory) {
		doc["AccountingTransferStatus"], doc["AccountingPostingStatus"], doc["InvoiceClearingStatus"] = "D", "", ""
		doc["AccountingDocument"] = ""
		return
	}
	doc["AccountingTransferStatus"], doc["AccountingPostingStatus"], doc["InvoiceClearingStatus"] = "C", "C", "A"
	doc["AccountingDocument"] = fmt.Sprintf("94%08d", len(s.store.billing)+1)
}

// totals sets the header amounts from the items: net and tax are the items' sums, gross their sum.
func totals(doc record) {
	net, tax := new(big.Rat), new(big.Rat)
	items, _ := doc["to_Item"].([]record)
	for _, it := range items {
		net.Add(net, ratOf(fmt.Sprint(it["NetAmount"])))
		tax.Add(tax, ratOf(fmt.Sprint(it["TaxAmount"])))
	}
	doc["TotalNetAmount"], doc["TaxAmount"] = net.FloatString(2), tax.FloatString(2)
	doc["TotalGrossAmount"] = new(big.Rat).Add(net, tax).FloatString(2)
}

// touch moves a document's LastChangeDateTime to now, or just past its last stamp when the clock has not moved.
func touch(doc record, now time.Time) {
	if prev, _ := doc["LastChangeDateTime"].(time.Time); !now.After(prev) {
		now = prev.Add(time.Millisecond)
	}
	doc["LastChangeDateTime"], doc["LastChangeDate"] = now, now.Truncate(24*time.Hour)
}

// storeBilling stores a new document stamped now; it commits at the clock's time (for BillingReadLag).
func (s *Server) storeBilling(doc record, now time.Time) {
	touch(doc, now)
	s.store.billing = append(s.store.billing, doc)
	s.store.billingAt = append(s.store.billingAt, s.opts.Now())
}

// storedBilling is the stored document numbered number; the store lock is held.
func (s *Server) storedBilling(number string) (record, bool) {
	i, err := strconv.Atoi(number)
	i -= 90000000 + s.opts.BillingDocuments
	if err != nil || i < 0 || i >= len(s.store.billing) {
		return nil, false
	}
	return s.store.billing[i], true
}

// billingEvent is a BillingDocument event of doc, with the data fields of the kit's constructed sample (UNVERIFIED:
// no copy of SAP's specification was found; sap-events.md).
func billingEvent(op string, doc record, now time.Time) Event {
	d := map[string]string{}
	for _, k := range []string{"BillingDocument", "BillingDocumentType", "SalesOrganization", "SDDocumentCategory"} {
		d[k] = fmt.Sprint(doc[k])
	}
	return Event{Type: bdEvent + op + ".v1", Data: d, Raised: now}
}

func clockTime(t time.Time) string {
	return fmt.Sprintf("PT%02dH%02dM%02dS", t.Hour(), t.Minute(), t.Second())
}

// billingSource serves A_BillingDocument: the generated documents, then the stored ones a read may see already
// (Faults.BillingReadLag hides a new one for a while after it committed).
func (s *Server) billingSource() *source {
	s.mu.Lock()
	lag := time.Duration(s.faults.BillingReadLag)
	s.mu.Unlock()
	now := s.opts.Now()
	st := s.store
	st.mu.Lock()
	var docs []record
	hidden := 0
	for i, d := range st.billing {
		if lag > 0 && now.Before(st.billingAt[i].Add(lag)) {
			hidden++
			continue
		}
		docs = append(docs, cloneRecord(d))
	}
	st.mu.Unlock()
	if hidden > 0 {
		s.mu.Lock()
		s.stats.BillingReadsMissingLagged++
		s.mu.Unlock()
	}
	generated := s.gen.billing
	at := make(map[string]int, len(docs))
	for i, d := range docs {
		at[fmt.Sprint(d["BillingDocument"])] = generated + i
	}
	return &source{et: etABillingDocumentType, n: generated + len(docs),
		at: func(i int) record {
			if i < generated {
				return s.gen.billingDocument(i)
			}
			return docs[i-generated]
		},
		find: func(k map[string]string) (int, bool) {
			if v, err := strconv.Atoi(k["BillingDocument"]); err == nil && v >= 90000000 && v < 90000000+generated {
				return v - 90000000, true
			}
			i, ok := at[k["BillingDocument"]]
			return i, ok
		}}
}
