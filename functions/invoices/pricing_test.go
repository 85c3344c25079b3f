package invoices

import (
	"math/big"
	"testing"

	"github.com/d365sap/d365sap/shared/sap"
)

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// The price and discount chosen for an item must give back SAP's net value to the cent under D365's arithmetic
// (round(price × quantity) − discount), with the price inside the pricing precision and the discount never
// negative; the price condition is used when it can be.
func TestPriceItemGivesSAPsNetUnderD365Arithmetic(t *testing.T) {
	cond := func(typ, rate, per, unit string) sap.BillingPricingElement {
		return sap.BillingPricingElement{ConditionType: typ, ConditionClass: "B", ConditionRateValue: sap.MustDecimal(rate),
			ConditionQuantity: sap.MustDecimal(per), ConditionQuantityUnit: unit}
	}
	cases := []struct {
		name                  string
		net, qty              string
		places                int
		conds                 []sap.BillingPricingElement
		wantPrice, wantDiscnt string
	}{
		{name: "net divides evenly", net: "30.00", qty: "3", places: 2, wantPrice: "10", wantDiscnt: "0"},
		{name: "a third of a cent: price rounded up, the excess a discount", net: "10.00", qty: "3", places: 2, wantPrice: "3.34", wantDiscnt: "0.02"},
		{name: "more precision leaves a smaller discount", net: "10.00", qty: "3", places: 4, wantPrice: "3.3334", wantDiscnt: "0"},
		{name: "price condition with a discount below it", net: "90.00", qty: "10", places: 2, conds: []sap.BillingPricingElement{cond("PPR0", "10.00", "1", "EA")}, wantPrice: "10", wantDiscnt: "10"},
		{name: "12.50 per 100 at precision 2: 0.13 with the half cent a unit back as a discount", net: "12.50", qty: "100", places: 2, conds: []sap.BillingPricingElement{cond("PPR0", "12.50", "100", "EA")}, wantPrice: "0.13", wantDiscnt: "0.50"},
		{name: "12.50 per 100 at precision 3: the condition's 0.125", net: "12.50", qty: "100", places: 3, conds: []sap.BillingPricingElement{cond("PPR0", "12.50", "100", "EA")}, wantPrice: "0.125", wantDiscnt: "0"},
		{name: "price condition finer than the precision is not used", net: "123.45", qty: "10", places: 2, conds: []sap.BillingPricingElement{cond("PPR0", "12.345", "1", "EA")}, wantPrice: "12.35", wantDiscnt: "0.05"},
		{name: "a surcharge above the price is no discount", net: "110.00", qty: "10", places: 2, conds: []sap.BillingPricingElement{cond("PPR0", "10.00", "1", "EA")}, wantPrice: "11", wantDiscnt: "0"},
		{name: "condition in another unit is not used", net: "90.00", qty: "10", places: 2, conds: []sap.BillingPricingElement{cond("PPR0", "10.00", "1", "KG")}, wantPrice: "9", wantDiscnt: "0"},
		{name: "unmapped condition type is not used", net: "90.00", qty: "10", places: 2, conds: []sap.BillingPricingElement{cond("ZZZZ", "10.00", "1", "EA")}, wantPrice: "9", wantDiscnt: "0"},
		{name: "negative (a credit memo): price rounded toward zero's far side keeps the discount positive", net: "-10.00", qty: "3", places: 2, wantPrice: "-3.33", wantDiscnt: "0.01"},
		{name: "fractional quantity", net: "7.99", qty: "2.125", places: 2, wantPrice: "3.76", wantDiscnt: "0.00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			it := sap.BillingDocumentItem{BillingQuantityUnit: "EA"}
			it.PricingElements.Results = c.conds
			net, qty := rat(c.net), rat(c.qty)
			p := priceItem(it, net, qty, []string{"PPR0", "PR00"}, c.places)
			if !fits(p.PerUnit, c.places) {
				t.Errorf("price %s has more than %d decimals", p.PerUnit.FloatString(6), c.places)
			}
			if p.Discount.Sign() < 0 {
				t.Errorf("discount %s is negative", p.Discount.FloatString(2))
			}
			got := new(big.Rat).Sub(roundEven(new(big.Rat).Mul(p.PerUnit, qty), 2), p.Discount)
			if got.Cmp(net) != 0 {
				t.Errorf("round(%s × %s) − %s = %s, want SAP's net %s", p.PerUnit.FloatString(4), c.qty, p.Discount.FloatString(2), got.FloatString(2), c.net)
			}
			if c.wantPrice != "" && p.PerUnit.Cmp(rat(c.wantPrice)) != 0 {
				t.Errorf("price %s, want %s", p.PerUnit.FloatString(4), c.wantPrice)
			}
			if c.wantDiscnt != "" && p.Discount.Cmp(rat(c.wantDiscnt)) != 0 {
				t.Errorf("discount %s, want %s", p.Discount.FloatString(2), c.wantDiscnt)
			}
		})
	}
}

func TestRoundEvenRoundsHalfToEven(t *testing.T) {
	for in, want := range map[string]string{"0.125": "0.12", "0.135": "0.14", "-0.125": "-0.12", "2.675": "2.68", "1.004999": "1.00", "-0.135": "-0.14"} {
		if got := roundEven(rat(in), 2).FloatString(2); got != want {
			t.Errorf("roundEven(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"1.001": "1.01", "1.00": "1.00", "-1.009": "-1.00", "-1.001": "-1.00"} {
		if got := ceilTo(rat(in), 2).FloatString(2); got != want {
			t.Errorf("ceilTo(%s) = %s, want %s", in, got, want)
		}
	}
}
