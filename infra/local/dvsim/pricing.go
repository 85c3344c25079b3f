package dvsim

import (
	"encoding/json"
	"math/big"
	"sort"
)

// The system pricing of Dynamics 365 Sales for invoices, run in the transaction of the write that triggers it.
//
// Looked up:
//   - Column precisions and ranges: the invoice and invoicedetail table references (MicrosoftDocs/
//     dynamics-365-customer-engagement ce/developer/entities/invoice.md, invoicedetail.md). priceperunit has
//     PrecisionSource 1 (organization.pricingdecimalprecision); the other money columns PrecisionSource 2 (the
//     currency's, 2 here: currencies are not simulated). manualdiscountamount, discountamount and freightamount
//     have MinValue 0, so a negative discount is refused by the platform's range check; tax may be negative.
//     volumediscountamount is not valid for create or update.
//   - The formulas: fkbase.info "Quote and Quote Product fields" and Magnetism's "System Pricing Calculations for
//     Quotes and Orders" series (2018), which describe the same engine for opportunities, quotes, orders and
//     invoices: baseamount = quantity × (priceperunit − volumediscountamount) (the volume discount is per unit);
//     extendedamount = baseamount − manualdiscountamount + tax; totallineitemamount = Σ (extendedamount − tax);
//     totallineitemdiscountamount = Σ manualdiscountamount (volume discounts excluded); totaldiscountamount =
//     totallineitemdiscountamount + discountpercentage % of totallineitemamount + discountamount;
//     totalamountlessfreight = totallineitemamount − (totaldiscountamount − totallineitemdiscountamount);
//     totalamount = totalamountlessfreight + freightamount + totaltax. Tax is never calculated by the system.
//     This is the default "Line item" discount calculation method (the manual discount is not multiplied by the
//     quantity); the "Per unit" organization setting is not simulated.
//   - A line the price list cannot price gets a pricingerrorcode (the qooi_pricingerrorcode option set: 2 Missing
//     Price Level, 4 Missing Quantity, 5 Missing Unit Price, 6 Missing Product, 10 Missing UOM, 11 Product Not In
//     Price Level) and is priced 0 (a practitioner reports the extended amount going to zero), rather than the
//     write failing; the form's error on adding a product missing from the price list is a client check.
//
// UNVERIFIED: where the platform rounds (here each line's baseamount, and the percentage discount, to the cent);
// that a price or quantity with more decimals is rounded rather than refused (rounded, as catalog.go does for
// productpricelevel.amount; quantity keeps its Precision 5); which pricing error wins when several apply (the
// first in the order above); that volume discounts are always 0 (discount lists are not simulated).

// Pricing error codes (qooi_pricingerrorcode).
const (
	pricingNone             = 0
	pricingMissingPriceList = 2
	pricingMissingQuantity  = 4
	pricingMissingUnitPrice = 5
	pricingMissingProduct   = 6
	pricingMissingUnit      = 10
	pricingNotInPriceList   = 11
)

const moneyPlaces = 2 // the transaction currency's precision (currencyprecision 2, the common default)

// numberRule is a column's valid range (the table reference's MinValue and MaxValue) and the decimals it keeps:
// places < 0 means organization.pricingdecimalprecision.
type numberRule struct {
	min, max string
	places   int
}

var numberRules = map[string]map[string]numberRule{
	"invoice": {
		"discountamount":     {"0", "1000000000000", moneyPlaces},
		"freightamount":      {"0", "1000000000000", moneyPlaces},
		"discountpercentage": {"0", "100", 2},
	},
	"invoicedetail": {
		"quantity":             {"-100000000000", "100000000000", 5},
		"priceperunit":         {"-922337203685477", "922337203685477", -1},
		"manualdiscountamount": {"0", "1000000000000", moneyPlaces},
		"tax":                  {"-1000000000000", "1000000000000", moneyPlaces},
	},
}

// checkNumbers range-checks and rounds the numbers a client sent to entity's columns, in place.
func (s *Server) checkNumbers(entity string, values map[string]any) *apiError {
	rules := numberRules[entity]
	cols := make([]string, 0, len(rules))
	for col := range rules {
		cols = append(cols, col)
	}
	sort.Strings(cols) // the same error for the same body
	for _, col := range cols {
		rule := rules[col]
		n, ok := values[col].(json.Number)
		if !ok {
			continue
		}
		r, _ := ratOf(n)
		lo, _ := new(big.Rat).SetString(rule.min)
		hi, _ := new(big.Rat).SetString(rule.max)
		if r.Cmp(lo) < 0 || r.Cmp(hi) > 0 {
			// The platform's range check, as in catalog.go; the message text is UNVERIFIED.
			return errf(400, codeValidation, "A validation error occurred.  The value %s of '%s' on record of type '%s' is outside the valid range. Accepted Values: %s to %s",
				n, col, entity, rule.min, rule.max)
		}
		places := rule.places
		if places < 0 {
			places = s.opts.PricingDecimalPrecision
		}
		values[col] = roundRat(r, places)
	}
	return nil
}

// ratOf reads a stored number; ok is false for null.
func ratOf(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return new(big.Rat), false
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return new(big.Rat), false
	}
	return r, true
}

func money(r *big.Rat) json.Number { return roundRat(r, moneyPlaces) }

// priceLine computes a line's system columns from the invoice and the line's values (stored ones merged with
// the write). A line keeps the price it was given when the price is overridden, the line is a write-in, or the
// invoice's prices are locked; otherwise the price comes from the invoice's price list.
func (s *Server) priceLine(inv, line map[string]any) map[string]any {
	errCode := pricingNone
	fail := func(code int) {
		if errCode == pricingNone {
			errCode = code
		}
	}
	price, given := ratOf(line["priceperunit"])
	if line["isproductoverridden"] == true || line["ispriceoverridden"] == true || inv["ispricelocked"] == true {
		if !given {
			fail(pricingMissingUnitPrice)
		}
	} else {
		var code int
		price, code = s.listPrice(inv, line)
		fail(code)
	}
	qty, ok := ratOf(line["quantity"])
	if !ok {
		fail(pricingMissingQuantity)
	}
	volume := new(big.Rat) // discount lists are not simulated
	base, _ := ratOf(money(new(big.Rat).Mul(qty, new(big.Rat).Sub(price, volume))))
	manual, _ := ratOf(line["manualdiscountamount"])
	tax, _ := ratOf(line["tax"])
	ext := new(big.Rat).Add(new(big.Rat).Sub(base, manual), tax)
	return map[string]any{
		"priceperunit":         roundRat(price, s.opts.PricingDecimalPrecision),
		"volumediscountamount": money(volume),
		"baseamount":           money(base),
		"extendedamount":       money(ext),
		"pricingerrorcode":     jsonInt(errCode),
		"invoicestatecode":     inv["statecode"],
		"invoiceispricelocked": inv["ispricelocked"] == true,
	}
}

// listPrice is the amount of the price list item for the invoice's price list and the line's product and unit,
// or 0 and the pricing error that prevents it.
func (s *Server) listPrice(inv, line map[string]any) (*big.Rat, int) {
	list, _ := inv["pricelevelid"].(string)
	product, _ := line["productid"].(string)
	unit, _ := line["uomid"].(string)
	switch {
	case list == "":
		return new(big.Rat), pricingMissingPriceList
	case product == "":
		return new(big.Rat), pricingMissingProduct
	case unit == "":
		return new(big.Rat), pricingMissingUnit
	}
	for _, item := range s.store.tables["productpricelevels"].referring("productid", product) {
		if item.values["pricelevelid"] == list && item.values["uomid"] == unit {
			if amount, ok := ratOf(item.values["amount"]); ok {
				return amount, pricingNone
			}
		}
	}
	return new(big.Rat), pricingNotInPriceList
}

// invoiceTotals computes the header's totals from its discount and freight and the lines' stored amounts.
func (s *Server) invoiceTotals(inv *row) map[string]any {
	lineItems, lineDiscounts, taxes := new(big.Rat), new(big.Rat), new(big.Rat)
	for _, l := range s.store.tables["invoicedetails"].referring("invoiceid", inv.id) {
		base, _ := ratOf(l.values["baseamount"])
		manual, _ := ratOf(l.values["manualdiscountamount"])
		tax, _ := ratOf(l.values["tax"])
		lineItems.Add(lineItems, new(big.Rat).Sub(base, manual))
		lineDiscounts.Add(lineDiscounts, manual)
		taxes.Add(taxes, tax)
	}
	pct, _ := ratOf(inv.values["discountpercentage"])
	discount, _ := ratOf(inv.values["discountamount"])
	freight, _ := ratOf(inv.values["freightamount"])
	byPct, _ := ratOf(money(new(big.Rat).Quo(new(big.Rat).Mul(lineItems, pct), big.NewRat(100, 1))))
	header := new(big.Rat).Add(byPct, discount)
	lessFreight := new(big.Rat).Sub(lineItems, header)
	return map[string]any{
		"totallineitemamount":         money(lineItems),
		"totallineitemdiscountamount": money(lineDiscounts),
		"totaldiscountamount":         money(new(big.Rat).Add(header, lineDiscounts)),
		"totalamountlessfreight":      money(lessFreight),
		"totaltax":                    money(taxes),
		"totalamount":                 money(new(big.Rat).Add(new(big.Rat).Add(lessFreight, freight), taxes)),
	}
}
