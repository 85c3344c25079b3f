package sapsim

import (
	"fmt"
	"maps"
	"math/big"
	"strconv"
	"time"
)

// businessError is an SAP application message (message class/number) answered with 400.
type businessError struct {
	code, msg, target string
}

func (e *businessError) Error() string { return e.code + " " + e.msg }

// origin says who created an order: the API (the integration) or a clerk, EDI and the like.
type origin struct {
	user        string // CreatedByUser
	handEntered bool
}

var viaAPI = origin{user: "SIMULATOR"}

// createSalesOrder checks an order posted to the API like SD does, numbers it, prices it and stores it.
func (s *Server) createSalesOrder(in record, t *tx) (record, error) {
	return s.commitOrder(in, t, viaAPI)
}

// commitOrder checks, prices, numbers and stores an order from either origin.
func (s *Server) commitOrder(in record, t *tx, from origin) (record, error) {
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
	v := s.view()
	pricing := map[string]itemPricing{}
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
		setDefault(item, "RequestedQuantityUnit", v.baseUnit(pi))
		// SD accepts an order unit only if the material master has a conversion for it. SAP's exact message for
		// a unit without one was not found: code and wording are the simulator's.
		unit := item["RequestedQuantityUnit"].(string)
		if _, ok := v.toBase(pi, unit, ratOf(qty)); !ok {
			return nil, &businessError{code: "V1/093", target: fmt.Sprintf("to_Item(%d)/RequestedQuantityUnit", n),
				msg: fmt.Sprintf("Unit of measure %s is not defined for material %s", unit, mat)}
		}
		// The price and discounts valid today in the order's currency; without a price SD leaves the item's
		// pricing incomplete. The header's net is the sum of the items' (each rounded to the cent), as in SD.
		p := v.itemPricing(pi, unit, sold, currency, today)
		net := round2(p.at(ratOf(qty)).net)
		pricing[item["SalesOrderItem"].(string)] = p
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
	so["CreatedByUser"] = from.user
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

	id, out := s.store.insert(so, orderMeta{committed: now, handEntered: from.handEntered, pricing: pricing})
	if t != nil {
		t.undo = append(t.undo, func() { s.store.deleteOrder(id) })
	}
	return out, nil
}

func setDefault(r record, k string, v any) {
	if cur, ok := r[k]; !ok || cur == nil || cur == "" {
		r[k] = v
	}
}
