package sapsim

import (
	"math/big"
	"strconv"
)

// Pricing as SD does it, for an order item and for the billing items that copy its pricing: the price condition
// (PPR0, class B) per ConditionQuantity ConditionQuantityUnit, percentage discounts on the price's value (class A),
// then output tax on the net (TTX1, class D). Every condition value is rounded to the cent on its own, half away
// from zero (big.Rat's FloatString), so a net is never a unit price times a quantity.

// discountTypes are the condition types priced as percentage discounts on the price (AddCondition with RateUnit
// "%" and CalculationType "A", RateValue negative: "-3"). They never price an item as a price does.
var discountTypes = map[string]bool{"K007": true, "DRV1": true}

// TaxRate is the output tax rate (percent) of every simulated billing item, condition type TTX1.
const TaxRate = "19"

// manualType is the condition ReviseBilling adds to an item: an absolute discount or surcharge (class A,
// calculation type B) entered by hand.
const manualType = "RB00"

// Pricing procedure steps of the conditions, in the order SD applies them.
const (
	stepPrice    = "010"
	stepDiscount = "100"
	stepManual   = "110"
	stepTax      = "900"
)

// itemPricing is what SD found for an order item when the order was priced; billing copies it.
type itemPricing struct {
	price     *priceCondition // nil: no price was found, the item's pricing is incomplete
	discounts []discountCondition
	baseUnit  string   // the material's base unit
	inBase    *big.Rat // base units in one order unit
}

// baseQuantity is qty (in the order unit) in the base unit; zero when unknown.
func (p itemPricing) baseQuantity(qty *big.Rat) *big.Rat {
	if p.inBase == nil {
		return new(big.Rat)
	}
	return new(big.Rat).Mul(qty, p.inBase)
}

type priceCondition struct {
	ctype, record  string
	rate, per      string   // ConditionRateValue per ConditionQuantity
	unit, currency string   // ConditionQuantityUnit, ConditionCurrency
	perOrderUnit   *big.Rat // condition units in one order unit
}

type discountCondition struct {
	ctype, record, rate string // rate in percent, negative for a discount
}

func round2(r *big.Rat) *big.Rat { return ratOf(r.FloatString(2)) }

// priced is an item's pricing for one quantity.
type priced struct {
	base     *big.Rat   // the quantity in the condition unit
	price    *big.Rat   // the price condition's value
	discount []*big.Rat // each discount's value
	net      *big.Rat
}

// at prices qty (in the order unit).
func (p itemPricing) at(qty *big.Rat) priced {
	out := priced{base: new(big.Rat), price: new(big.Rat), net: new(big.Rat)}
	if p.price == nil {
		return out
	}
	out.base.Mul(qty, p.price.perOrderUnit)
	v := new(big.Rat).Mul(ratOf(p.price.rate), out.base)
	out.price = round2(v.Quo(v, ratOf(p.price.per)))
	out.net.Set(out.price)
	for _, d := range p.discounts {
		a := new(big.Rat).Mul(out.price, ratOf(d.rate))
		a = round2(a.Quo(a, big.NewRat(100, 1)))
		out.discount = append(out.discount, a)
		out.net.Add(out.net, a)
	}
	return out
}

// taxOf is the output tax on a net amount, rounded to the cent.
func taxOf(net *big.Rat) *big.Rat {
	t := new(big.Rat).Mul(net, ratOf(TaxRate))
	return round2(t.Quo(t, big.NewRat(100, 1)))
}

// pricingElements are A_BillingDocumentItemPrcgElmnt rows of a billing item that bills qty: price, discounts and
// tax, with the item's net and tax.
func (p itemPricing) pricingElements(doc, item string, qty *big.Rat, currency string) (rows []record, net, tax *big.Rat) {
	pr := p.at(qty)
	el := func(step, ctype, class, calc string) record {
		return record{"BillingDocument": doc, "BillingDocumentItem": item, "PricingProcedureStep": step,
			"PricingProcedureCounter": "001", "ConditionType": ctype, "ConditionClass": class,
			"ConditionCalculationType": calc, "TransactionCurrency": currency, "ConditionOrigin": "A"}
	}
	if c := p.price; c != nil {
		r := el(stepPrice, c.ctype, "B", "C")
		r["ConditionRecord"], r["ConditionRateValue"], r["ConditionCurrency"] = c.record, c.rate, c.currency
		r["ConditionQuantity"], r["ConditionQuantityUnit"] = c.per, c.unit
		r["ConditionBaseValue"], r["ConditionAmount"] = pr.base.FloatString(3), pr.price.FloatString(2)
		rows = append(rows, r)
	}
	for k, d := range p.discounts {
		r := el(stepDiscount, d.ctype, "A", "A")
		r["PricingProcedureCounter"] = counter(k + 1)
		r["ConditionRecord"], r["ConditionRateValue"] = d.record, d.rate
		r["ConditionBaseValue"], r["ConditionAmount"] = pr.price.FloatString(2), pr.discount[k].FloatString(2)
		rows = append(rows, r)
	}
	tax = taxOf(pr.net)
	rows = append(rows, taxElement(el(stepTax, "TTX1", "D", "A"), pr.net, tax))
	return rows, pr.net, tax
}

func taxElement(r record, net, tax *big.Rat) record {
	r["ConditionRateValue"], r["ConditionCategory"] = TaxRate, "D"
	r["ConditionBaseValue"], r["ConditionAmount"] = net.FloatString(2), tax.FloatString(2)
	return r
}

func counter(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}
