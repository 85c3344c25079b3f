package sapsim

import (
	"fmt"
	"math/big"
	"strconv"
	"time"
)

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
