package invoices

import (
	"math/big"

	"github.com/d365sap/d365sap/shared/sap"
)

// Money keeps two decimals in D365 (the currency's precision); prices keep the organization's pricing precision.
const moneyPlaces = 2

// price is how one SAP item lands on a D365 line so that D365's own arithmetic gives SAP's net value to the cent:
// D365 computes baseamount = round(priceperunit × quantity) and extendedamount = baseamount − manualdiscountamount
// + tax, and sums the lines into the invoice's totals.
type price struct {
	PerUnit, Discount *big.Rat
}

// priceItem finds the price per unit and discount of an item of net value net (already signed), quantity qty:
//   - the item's price condition (the mapping's condition types, in order), when its rate per unit fits the
//     pricing precision and leaves a discount that is not negative (a surcharge is not a D365 discount);
//   - otherwise net ÷ qty when that fits the precision (no discount);
//   - otherwise net ÷ qty rounded up to the precision, the cents that adds taken back as a discount. A price is
//     never rounded away silently: the line's net value is SAP's exactly.
func priceItem(it sap.BillingDocumentItem, net, qty *big.Rat, conditions []string, places int) price {
	if net.Sign() >= 0 {
		if up, ok := conditionPrice(it, conditions); ok && fits(up, places) {
			if d := new(big.Rat).Sub(roundEven(new(big.Rat).Mul(up, qty), moneyPlaces), net); d.Sign() >= 0 {
				return price{PerUnit: up, Discount: d}
			}
		}
	}
	per := new(big.Rat).Quo(net, qty)
	if fits(per, places) {
		return price{PerUnit: per, Discount: new(big.Rat)}
	}
	per = ceilTo(per, places)
	// per × qty ≥ net, and net is on the cent grid, so rounding per × qty cannot go below net: the discount is ≥ 0.
	return price{PerUnit: per, Discount: new(big.Rat).Sub(roundEven(new(big.Rat).Mul(per, qty), moneyPlaces), net)}
}

// conditionPrice is the rate per billing unit of the item's first active price condition the mapping names.
func conditionPrice(it sap.BillingDocumentItem, conditions []string) (*big.Rat, bool) {
	for _, want := range conditions {
		for _, c := range it.PricingElements.Results {
			if c.ConditionType != want || c.ConditionInactiveReason != "" || c.ConditionIsForStatistics {
				continue
			}
			if c.ConditionQuantityUnit != "" && c.ConditionQuantityUnit != it.BillingQuantityUnit {
				continue // a rate per another unit would need the material's conversion
			}
			per := c.ConditionQuantity.Rat()
			if per.Sign() == 0 {
				per.SetInt64(1)
			}
			if per.Sign() < 0 {
				continue
			}
			return new(big.Rat).Quo(c.ConditionRateValue.Rat(), per), true
		}
	}
	return nil, false
}

func pow10(places int) *big.Rat {
	return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil))
}

// fits says whether r has at most places decimals.
func fits(r *big.Rat, places int) bool {
	return new(big.Rat).Mul(r, pow10(places)).IsInt()
}

// ceilTo rounds r up (toward +∞) to places decimals.
func ceilTo(r *big.Rat, places int) *big.Rat {
	s := new(big.Rat).Mul(r, pow10(places))
	q, m := new(big.Int).DivMod(s.Num(), s.Denom(), new(big.Int)) // Euclidean: q = floor for a positive denominator
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return new(big.Rat).Quo(new(big.Rat).SetInt(q), pow10(places))
}

// roundEven rounds r to places decimals, half to even, as D365 rounds money (.NET's decimal rounding; the mode
// is what the Dataverse simulator models, UNVERIFIED against a live org — a half-cent product is rare, and the
// read-back after each write would show a difference).
func roundEven(r *big.Rat, places int) *big.Rat {
	s := new(big.Rat).Mul(r, pow10(places))
	q, m := new(big.Int).QuoRem(s.Num(), s.Denom(), new(big.Int))
	if c := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(s.Denom()); c > 0 || c == 0 && q.Bit(0) == 1 {
		q.Add(q, big.NewInt(int64(s.Num().Sign())))
	}
	return new(big.Rat).Quo(new(big.Rat).SetInt(q), pow10(places))
}
