package invoices

import (
	"math/big"
	"testing"

	"github.com/d365sap/d365sap/shared/sap"
)

// FuzzPriceItem: for any net value (cents), positive quantity, price condition and precision, the line's price
// fits the precision, its discount is not negative, and D365's round(price × quantity) − discount is SAP's net
// exactly.
func FuzzPriceItem(f *testing.F) {
	f.Add(int64(1000), "3", "10.00", "1", uint8(2))
	f.Add(int64(1250), "100", "12.50", "100", uint8(2))
	f.Add(int64(-1000), "3", "", "", uint8(4))
	f.Add(int64(799), "2.125", "3.99", "1", uint8(0))
	f.Add(int64(1), "0.001", "0", "0", uint8(2))
	f.Fuzz(func(t *testing.T, cents int64, qty, rate, per string, places uint8) {
		q, err := sap.ParseDecimal(qty)
		if err != nil || q.Rat().Sign() <= 0 || len(qty) > 16 {
			return
		}
		p := int(places % 5)
		it := sap.BillingDocumentItem{BillingQuantityUnit: "EA"}
		if r, err := sap.ParseDecimal(rate); err == nil && len(rate) < 20 {
			c := sap.BillingPricingElement{ConditionType: "PPR0", ConditionRateValue: r, ConditionQuantityUnit: "EA"}
			if d, err := sap.ParseDecimal(per); err == nil && len(per) < 10 {
				c.ConditionQuantity = d
			}
			it.PricingElements.Results = []sap.BillingPricingElement{c}
		}
		net := new(big.Rat).SetFrac(big.NewInt(cents), big.NewInt(100))
		got := priceItem(it, net, q.Rat(), []string{"PPR0"}, p)
		if !fits(got.PerUnit, p) {
			t.Fatalf("price %s has more than %d decimals", got.PerUnit.FloatString(8), p)
		}
		if got.Discount.Sign() < 0 {
			t.Fatalf("discount %s is negative", got.Discount.FloatString(4))
		}
		back := new(big.Rat).Sub(roundEven(new(big.Rat).Mul(got.PerUnit, q.Rat()), moneyPlaces), got.Discount)
		if back.Cmp(net) != 0 {
			t.Fatalf("round(%s × %s) − %s = %s, want %s", got.PerUnit.FloatString(6), qty, got.Discount.FloatString(4), back.FloatString(4), net.FloatString(2))
		}
	})
}
