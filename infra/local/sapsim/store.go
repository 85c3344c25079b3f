package sapsim

import (
	"fmt"
	"maps"
	"math/big"
	"strconv"
	"sync"
	"time"
)

// store keeps what clients change: sales orders, partner updates and documents made by Fulfil.
type store struct {
	mu         sync.Mutex
	next       int
	orders     map[string]record
	order      []string
	bpChanges  map[string]record // business partner → changed properties
	deliveries []record
	billing    []record
	// copied counts orders copied by snapshots, so a test can see that a lookup copies only what can match.
	copied int
}

func newStore() *store {
	return &store{next: 1, orders: map[string]record{}, bpChanges: map[string]record{}}
}

func (st *store) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.orders)
}

// cloneRecord copies a record and its item rows, so readers never share maps with writers.
func cloneRecord(r record) record {
	c := maps.Clone(r)
	for k, v := range c {
		if rows, ok := v.([]record); ok {
			cp := make([]record, len(rows))
			for i, row := range rows {
				cp[i] = maps.Clone(row)
			}
			c[k] = cp
		}
	}
	return c
}

// snapshotOrders copies the stored orders that keep accepts (all when keep is nil). Filtering before copying keeps
// a lookup by reference cheap however many orders the simulator holds.
func (st *store) snapshotOrders(keep func(record) bool) []record {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []record
	for _, id := range st.order {
		if o := st.orders[id]; keep == nil || keep(o) {
			out = append(out, cloneRecord(o))
			st.copied++
		}
	}
	return out
}

// businessError is an SAP application message (message class/number) answered with 400.
type businessError struct {
	code, msg, target string
}

func (e *businessError) Error() string { return e.code + " " + e.msg }

// createSalesOrder checks the order like SD does, numbers it, prices it and stores it.
func (s *Server) createSalesOrder(in record, t *tx) (record, error) {
	for _, f := range []string{"SalesOrderType", "SalesOrganization", "DistributionChannel", "OrganizationDivision", "SoldToParty"} {
		if v, _ := in[f].(string); v == "" {
			return nil, &businessError{code: "V1/382", msg: fmt.Sprintf("Enter a value for %s", f), target: f}
		}
	}
	if typ := in["SalesOrderType"].(string); typ != "OR" && typ != "TA" {
		return nil, &businessError{code: "V1/010", msg: fmt.Sprintf("Sales document type %s is not defined", typ), target: "SalesOrderType"}
	}
	sold := in["SoldToParty"].(string)
	ci, ok := customerIndex(sold)
	if !ok || ci >= s.opts.Customers {
		return nil, &businessError{code: "V1/320", msg: fmt.Sprintf("Sold-to party %s does not exist", sold), target: "SoldToParty"}
	}
	if in["SalesOrganization"] != SalesOrganization || in["DistributionChannel"] != DistributionChannel || in["OrganizationDivision"] != Division {
		return nil, &businessError{code: "V1/302", msg: fmt.Sprintf("Sold-to party %s is not defined for sales area %v/%v/%v",
			sold, in["SalesOrganization"], in["DistributionChannel"], in["OrganizationDivision"]), target: "SoldToParty"}
	}
	if s.gen.customer(ci)["OrderIsBlockedForCustomer"] != "" {
		return nil, &businessError{code: "V1/458", msg: fmt.Sprintf("Sold-to party %s is blocked for orders", sold), target: "SoldToParty"}
	}
	texts, err := s.checkTexts(in)
	if err != nil {
		return nil, err
	}
	items, _ := in["to_Item"].([]record)
	if len(items) == 0 {
		return nil, &businessError{code: "V1/555", msg: "The sales document is not yet complete: enter at least one item", target: "to_Item"}
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	today := now.Truncate(24 * time.Hour)
	total := new(big.Rat)
	currency, _ := in["TransactionCurrency"].(string)
	if currency == "" {
		currency = "EUR"
	}
	var outItems []record
	for n, it := range items {
		mat, _ := it["Material"].(string)
		pi, ok := productIndex(mat)
		if !ok || pi >= s.opts.Products {
			return nil, &businessError{code: "V1/392", msg: fmt.Sprintf("Material %s does not exist", mat), target: fmt.Sprintf("to_Item(%d)/Material", n)}
		}
		qty, _ := it["RequestedQuantity"].(string)
		if qty == "" || ratOf(qty).Sign() <= 0 {
			return nil, &businessError{code: "V1/211", msg: fmt.Sprintf("Enter a positive quantity for material %s", mat), target: fmt.Sprintf("to_Item(%d)/RequestedQuantity", n)}
		}
		item := maps.Clone(it)
		if v, _ := item["SalesOrderItem"].(string); v == "" {
			item["SalesOrderItem"] = strconv.Itoa((n + 1) * 10)
		}
		setDefault(item, "RequestedQuantityUnit", s.gen.baseUnit(pi))
		// SD accepts an order unit only if the material master has a conversion for it. SAP's exact message for
		// a unit without one was not found: code and wording are the simulator's.
		unit := item["RequestedQuantityUnit"].(string)
		baseQty, ok := s.gen.toBase(pi, unit, ratOf(qty))
		if !ok {
			return nil, &businessError{code: "V1/093", target: fmt.Sprintf("to_Item(%d)/RequestedQuantityUnit", n),
				msg: fmt.Sprintf("Unit of measure %s is not defined for material %s", unit, mat)}
		}
		net := new(big.Rat).Mul(baseQty, ratOf(s.gen.price(pi)))
		total.Add(total, net)
		setDefault(item, "SalesOrderItemCategory", "TAN")
		setDefault(item, "ProductionPlant", s.opts.Plants[0])
		setDefault(item, "ShippingPoint", s.opts.Plants[0])
		setDefault(item, "SalesOrderItemText", fmt.Sprintf("Simulated product %d", pi+1))
		item["NetAmount"] = net.FloatString(2)
		item["TransactionCurrency"] = currency
		item["ConfdDelivQtyInOrderQtyUnit"] = qty
		item["SDProcessStatus"] = "A"
		item["DeliveryStatus"] = "A"
		item["OrderRelatedBillingStatus"] = ""
		item["PricingDate"] = today
		outItems = append(outItems, item)
	}
	so := maps.Clone(in)
	s.normalizeExtensions(so)
	so["to_Item"] = outItems
	so["to_Text"] = texts
	so["TransactionCurrency"] = currency
	so["TotalNetAmount"] = total.FloatString(2)
	so["CreationDate"] = today
	so["CreatedByUser"] = "SIMULATOR"
	so["LastChangeDateTime"] = now
	setDefault(so, "SalesOrderDate", today)
	setDefault(so, "PricingDate", today)
	setDefault(so, "RequestedDeliveryDate", today)
	setDefault(so, "CustomerPaymentTerms", "0004")
	for k, v := range map[string]string{"OverallSDProcessStatus": "A", "OverallTotalDeliveryStatus": "A",
		"OverallDeliveryStatus": "A", "OverallSDDocumentRejectionSts": "A", "TotalCreditCheckStatus": "A",
		"OverallOrdReltdBillgStatus": "", "TotalBlockStatus": ""} {
		so[k] = v
	}

	st := s.store
	st.mu.Lock()
	id := strconv.Itoa(st.next)
	st.next++
	so["SalesOrder"] = id
	for _, it := range outItems {
		it["SalesOrder"] = id
	}
	for _, tx := range texts {
		tx["SalesOrder"] = id
	}
	st.orders[id] = so
	st.order = append(st.order, id)
	out := cloneRecord(so)
	st.mu.Unlock()
	if t != nil {
		t.undo = append(t.undo, func() { st.deleteOrder(id) })
	}
	return out, nil
}

func setDefault(r record, k string, v any) {
	if cur, ok := r[k]; !ok || cur == nil || cur == "" {
		r[k] = v
	}
}

func (st *store) deleteOrder(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.orders, id)
	for i, o := range st.order {
		if o == id {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
}

// precondition is a failed or missing If-Match.
type precondition struct {
	status int
	msg    string
}

// updateSalesOrder applies a PATCH/MERGE after checking If-Match against the current ETag.
func (s *Server) updateSalesOrder(id string, patch record, ifMatch string, t *tx) error {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	cur, ok := st.orders[id]
	if !ok {
		return errNotFound
	}
	if ifMatch == "" {
		return &precondition{status: 428, msg: "Precondition required: send If-Match with the ETag"}
	}
	if ifMatch != "*" && ifMatch != etagOf(etASalesOrderType, cur) {
		return &precondition{status: 412, msg: "The data has been changed in the meantime (ETag mismatch)"}
	}
	if _, ok := patch["to_Item"]; ok {
		return &businessError{code: "/IWBEP/CM_MGW_RT/022", msg: "Deep update is not supported", target: "to_Item"}
	}
	before := cloneRecord(cur)
	s.normalizeExtensions(patch)
	for k, v := range patch {
		cur[k] = v
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	if prev, ok := before["LastChangeDateTime"].(time.Time); ok && !now.After(prev) {
		now = prev.Add(time.Millisecond)
	}
	cur["LastChangeDateTime"] = now
	cur["LastChangeDate"] = now.Truncate(24 * time.Hour)
	if t != nil {
		t.undo = append(t.undo, func() {
			st.mu.Lock()
			st.orders[id] = before
			st.mu.Unlock()
		})
	}
	return nil
}

func (p *precondition) Error() string { return p.msg }

// businessPartner returns a generated partner with any stored changes applied.
func (s *Server) businessPartner(i int) record {
	r := s.gen.businessPartner(i)
	s.store.mu.Lock()
	for k, v := range s.store.bpChanges[CustomerID(i)] {
		r[k] = v
	}
	s.store.mu.Unlock()
	return r
}

func (s *Server) updateBusinessPartner(id string, patch record, ifMatch string, t *tx) error {
	i, ok := customerIndex(id)
	if !ok || i >= s.opts.Customers {
		return errNotFound
	}
	cur := s.businessPartner(i)
	if ifMatch != "" && ifMatch != "*" && ifMatch != etagOf(etABusinessPartnerType, cur) {
		return &precondition{status: 412, msg: "The data has been changed in the meantime (ETag mismatch)"}
	}
	now := s.opts.Now().UTC()
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	before, had := st.bpChanges[id]
	ch := maps.Clone(before)
	if ch == nil {
		ch = record{}
	}
	for k, v := range patch {
		ch[k] = v
	}
	if name, ok := patch["OrganizationBPName1"]; ok {
		ch["BusinessPartnerFullName"] = name
	}
	secs := now.Sub(now.Truncate(24*time.Hour)) / time.Second
	ch["LastChangeDate"] = now.Truncate(24 * time.Hour)
	ch["LastChangeTime"] = fmt.Sprintf("PT%02dH%02dM%02dS", secs/3600, secs/60%60, secs%60)
	etag := now.Format("20060102150405.000000000")
	if prev, _ := cur["ETag"].(string); prev == etag {
		etag += "1"
	}
	ch["ETag"] = etag
	st.bpChanges[id] = ch
	if t != nil {
		t.undo = append(t.undo, func() {
			st.mu.Lock()
			if had {
				st.bpChanges[id] = before
			} else {
				delete(st.bpChanges, id)
			}
			st.mu.Unlock()
		})
	}
	return nil
}

// Fulfil ships and bills a simulated sales order in full: it creates an outbound delivery and a billing document
// that reference the order and sets the order's statuses to completely processed.
func (s *Server) Fulfil(salesOrder string) (delivery, billing string, err error) {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	so, ok := st.orders[salesOrder]
	if !ok {
		return "", "", fmt.Errorf("fulfilling sales order %s: %w", salesOrder, errNotFound)
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	today := now.Truncate(24 * time.Hour)
	delivery = strconv.Itoa(80000000 + s.opts.Deliveries + len(st.deliveries))
	billing = strconv.Itoa(90000000 + s.opts.BillingDocuments + len(st.billing))
	items, _ := so["to_Item"].([]record)
	var dItems, bItems []record
	for n, it := range items {
		dItems = append(dItems, record{"DeliveryDocument": delivery, "DeliveryDocumentItem": fmt.Sprintf("%06d", (n+1)*10),
			"Material": it["Material"], "ActualDeliveryQuantity": it["RequestedQuantity"], "DeliveryQuantityUnit": it["RequestedQuantityUnit"],
			"Plant": it["ProductionPlant"], "ReferenceSDDocument": salesOrder, "ReferenceSDDocumentItem": it["SalesOrderItem"]})
		bItems = append(bItems, record{"BillingDocument": billing, "BillingDocumentItem": strconv.Itoa((n + 1) * 10),
			"Material": it["Material"], "BillingQuantity": it["RequestedQuantity"], "BillingQuantityUnit": it["RequestedQuantityUnit"],
			"NetAmount": it["NetAmount"], "TransactionCurrency": it["TransactionCurrency"], "SalesDocument": salesOrder,
			"SalesDocumentItem": it["SalesOrderItem"]})
		it["SDProcessStatus"], it["DeliveryStatus"], it["OrderRelatedBillingStatus"] = "C", "C", "C"
	}
	net := ratOf(fmt.Sprint(so["TotalNetAmount"]))
	tax := new(big.Rat).Mul(net, ratOf("0.19"))
	gross := new(big.Rat).Add(net, ratOf(tax.FloatString(2)))
	st.deliveries = append(st.deliveries, record{"DeliveryDocument": delivery, "DeliveryDocumentType": "LF",
		"SoldToParty": so["SoldToParty"], "ShipToParty": so["SoldToParty"], "SalesOrganization": so["SalesOrganization"],
		"OverallGoodsMovementStatus": "C", "OverallPickingStatus": "C", "OverallSDProcessStatus": "C",
		"ActualGoodsMovementDate": today, "DeliveryDate": today, "CreationDate": today, "LastChangeDate": today,
		"DeliveryVersion": "0001", "Shippinglocationtimezone": "CET", "Receivinglocationtimezone": "CET",
		"to_DeliveryDocumentItem": dItems})
	st.billing = append(st.billing, record{"BillingDocument": billing, "BillingDocumentType": "F2",
		"BillingDocumentCategory": "M", "SDDocumentCategory": "M", "BillingDocumentDate": today, "CreationDate": today,
		"LastChangeDateTime": now, "SalesOrganization": so["SalesOrganization"], "DistributionChannel": so["DistributionChannel"],
		"Division": so["OrganizationDivision"], "SoldToParty": so["SoldToParty"], "PayerParty": so["SoldToParty"],
		"PurchaseOrderByCustomer": so["PurchaseOrderByCustomer"], "TotalNetAmount": so["TotalNetAmount"],
		"TaxAmount": tax.FloatString(2), "TotalGrossAmount": gross.FloatString(2), "TransactionCurrency": so["TransactionCurrency"],
		"OverallBillingStatus": "C", "to_Item": bItems})
	for _, k := range []string{"OverallSDProcessStatus", "OverallTotalDeliveryStatus", "OverallDeliveryStatus", "OverallOrdReltdBillgStatus"} {
		so[k] = "C"
	}
	prev, _ := so["LastChangeDateTime"].(time.Time)
	if !now.After(prev) {
		now = prev.Add(time.Millisecond)
	}
	so["LastChangeDateTime"] = now
	so["LastChangeDate"] = today
	return delivery, billing, nil
}
