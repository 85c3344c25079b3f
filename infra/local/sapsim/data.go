package sapsim

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// generator derives master data from the seed and a row index, so rows are made on demand and never stored.
type generator struct {
	seed      uint64
	products  int
	plants    []string
	customers int
	deliv     int
	billing   int
	base      time.Time // first change timestamp of generated data
	today     time.Time // the clock's day when the simulator started: "valid today" of generated prices

	stockVariety bool
	variety      PriceVariety
	classic      bool
}

func newGenerator(o Options) *generator {
	return &generator{seed: o.Seed, products: o.Products, plants: o.Plants, customers: o.Customers,
		deliv: o.Deliveries, billing: o.BillingDocuments, base: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		today: day(o.Now()), stockVariety: o.StockVariety, variety: o.PriceVariety, classic: o.ClassicPricing}
}

// mix is SplitMix64 over (seed, kind, i): a cheap, well-spread hash for reproducible values.
func (g *generator) mix(kind, i uint64) uint64 {
	z := g.seed + kind*0x9E3779B97F4A7C15 + i*0xBF58476D1CE4E5B9 + 0x94D049BB133111EB
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// ProductID is the number of the i-th generated product (0-based): "SIM0000001", ...
func ProductID(i int) string { return fmt.Sprintf("SIM%07d", i+1) }

func productIndex(id string) (int, bool) {
	n, ok := strings.CutPrefix(id, "SIM")
	if !ok || len(n) != 7 {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 1 {
		return 0, false
	}
	return v - 1, true
}

// CustomerID is the number of the i-th generated customer and business partner: "10100001", ...
func CustomerID(i int) string { return strconv.Itoa(10100001 + i) }

func customerIndex(id string) (int, bool) {
	v, err := strconv.Atoi(id)
	if err != nil || v < 10100001 || strconv.Itoa(v) != id {
		return 0, false
	}
	return v - 10100001, true
}

// BlockedCustomerIndex is a generated customer with an order block (every 25th, starting with the 25th).
const BlockedCustomerIndex = 24

// SalesArea of every generated customer.
const (
	SalesOrganization   = "1010"
	DistributionChannel = "10"
	Division            = "00"
)

var baseUnits = []string{"EA", "PC", "KG"}

func (g *generator) productChanged(i int) time.Time {
	// Strictly increasing with i (37 s apart, under 30 s of jitter), so a "changed since" filter is a range.
	return g.base.Add(time.Duration(i)*37*time.Second + time.Duration(g.mix(1, uint64(i))%30_000)*time.Millisecond)
}

// productsChangedAfter is the first index whose change time is after t.
func (g *generator) productsChangedAfter(t time.Time, inclusive bool) int {
	lo, hi := 0, g.products
	for lo < hi {
		mid := (lo + hi) / 2
		c := g.productChanged(mid)
		if c.After(t) || inclusive && c.Equal(t) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func (g *generator) product(i int) record {
	h := g.mix(2, uint64(i))
	ptype := "FERT"
	if h%5 == 0 {
		ptype = "HAWA"
	}
	return record{
		"Product":             ProductID(i),
		"ProductType":         ptype,
		"CreationDate":        g.base.Add(-time.Duration(h%400) * 24 * time.Hour).Truncate(24 * time.Hour),
		"CreatedByUser":       "CB9980000115",
		"LastChangeDateTime":  g.productChanged(i),
		"LastChangeDate":      g.productChanged(i).Truncate(24 * time.Hour),
		"IsMarkedForDeletion": g.productMarked(i),
		"ProductGroup":        fmt.Sprintf("L00%d", h%8),
		"BaseUnit":            g.baseUnit(i),
		"Division":            Division,
		"GrossWeight":         fmt.Sprintf("%d.%03d", h%20, h%1000),
		"WeightUnit":          "KG",
	}
}

func (g *generator) baseUnit(i int) string {
	return baseUnits[g.mix(3, uint64(i))%uint64(len(baseUnits))]
}

func (g *generator) productDescriptions(i int) []record {
	return []record{{"Product": ProductID(i), "Language": "EN", "ProductDescription": fmt.Sprintf("Simulated product %d", i+1)}}
}

// stockQty is the unrestricted stock of product i in plant p, with three decimals.
func (g *generator) stockQty(i, p int) string {
	h := g.mix(4, uint64(i*len(g.plants)+p))
	return fmt.Sprintf("%d.%03d", h%5000, (h>>20)%1000)
}

// price is the PPR0 price of product i per one base unit, with two decimals.
func (g *generator) price(i int) string {
	h := g.mix(5, uint64(i))
	return fmt.Sprintf("%d.%02d", 1+h%999, (h>>16)%100)
}

var (
	validFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	validTo   = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

func conditionRecordID(i int) string { return fmt.Sprintf("%010d", i+1) }

func (g *generator) businessPartner(i int) record {
	changed := g.base.Add(time.Duration(i) * 24 * time.Hour)
	secs := g.mix(6, uint64(i)) % 86400
	name := fmt.Sprintf("Simulated Customer %d", i+1)
	return record{
		"BusinessPartner":          CustomerID(i),
		"Customer":                 CustomerID(i),
		"BusinessPartnerCategory":  "2",
		"BusinessPartnerFullName":  name,
		"OrganizationBPName1":      name,
		"SearchTerm1":              fmt.Sprintf("SIMCUST%d", i+1),
		"BusinessPartnerIsBlocked": false,
		"LastChangeDate":           changed,
		"LastChangeTime":           fmt.Sprintf("PT%02dH%02dM%02dS", secs/3600, secs/60%60, secs%60),
		"ETag":                     changed.Add(time.Duration(secs) * time.Second).Format("20060102150405"),
	}
}

func (g *generator) customer(i int) record {
	block := ""
	if i%25 == BlockedCustomerIndex {
		block = "01"
	}
	return record{
		"Customer":                  CustomerID(i),
		"CustomerName":              fmt.Sprintf("Simulated Customer %d", i+1),
		"CustomerAccountGroup":      "CUST",
		"OrderIsBlockedForCustomer": block,
		"CreationDate":              g.base,
	}
}

func (g *generator) salesArea(i int) record {
	return record{
		"Customer":                CustomerID(i),
		"SalesOrganization":       SalesOrganization,
		"DistributionChannel":     DistributionChannel,
		"Division":                Division,
		"Currency":                "EUR",
		"CustomerPaymentTerms":    "0004",
		"IncotermsClassification": "EXW",
		"IncotermsLocation1":      "Walldorf",
		"ShippingCondition":       "01",
		"CustomerPriceGroup":      "01",
	}
}

func deliveryID(i int) string { return strconv.Itoa(80000000 + i) }
func billingID(i int) string  { return strconv.Itoa(90000000 + i) }

func (g *generator) delivery(i int) record {
	cust := CustomerID(i % g.customers)
	day := g.base.Add(time.Duration(i) * 24 * time.Hour)
	prod := int(g.mix(7, uint64(i)) % uint64(g.products))
	return record{
		"DeliveryDocument":           deliveryID(i),
		"DeliveryDocumentType":       "LF",
		"SoldToParty":                cust,
		"ShipToParty":                cust,
		"SalesOrganization":          SalesOrganization,
		"ShippingPoint":              g.plants[0],
		"OverallGoodsMovementStatus": "C",
		"OverallPickingStatus":       "C",
		"OverallSDProcessStatus":     "C",
		"ActualGoodsMovementDate":    day,
		"DeliveryDate":               day,
		"CreationDate":               day,
		"LastChangeDate":             day,
		"DeliveryVersion":            "0002",
		"Shippinglocationtimezone":   "CET",
		"Receivinglocationtimezone":  "CET",
		"to_DeliveryDocumentItem": []record{{
			"DeliveryDocument": deliveryID(i), "DeliveryDocumentItem": "000010", "Material": ProductID(prod),
			"ActualDeliveryQuantity": "1.000", "DeliveryQuantityUnit": g.baseUnit(prod), "Plant": g.plants[0],
			"ReferenceSDDocument": "", "ReferenceSDDocumentItem": "",
		}},
	}
}

// billingDocument is generated invoice i: one item of one base unit of a product at its price, paid (cleared)
// except every fourth, with no sales order behind it.
func (g *generator) billingDocument(i int) record {
	cust := CustomerID(i % g.customers)
	day := g.base.Add(time.Duration(i) * 24 * time.Hour)
	prod := int(g.mix(8, uint64(i)) % uint64(g.products))
	ctype := "PPR0"
	if g.classic {
		ctype = "PR00"
	}
	price := itemPricing{price: &priceCondition{ctype: ctype, record: conditionRecordID(prod), rate: g.price(prod), per: "1",
		unit: g.baseUnit(prod), currency: "EUR", perOrderUnit: big.NewRat(1, 1)}}
	rows, net, tax := price.pricingElements(billingID(i), "10", big.NewRat(1, 1), "EUR")
	clearing := "C"
	if i%4 == 3 {
		clearing = "A"
	}
	doc := record{
		"BillingDocument":            billingID(i),
		"BillingDocumentType":        "F2",
		"BillingDocumentCategory":    "L",
		"SDDocumentCategory":         "M",
		"BillingDocumentDate":        day,
		"CreationDate":               day,
		"CreationTime":               "PT09H00M00S",
		"LastChangeDate":             day,
		"LastChangeDateTime":         day.Add(9 * time.Hour),
		"SalesOrganization":          SalesOrganization,
		"DistributionChannel":        DistributionChannel,
		"Division":                   Division,
		"SoldToParty":                cust,
		"PayerParty":                 cust,
		"TransactionCurrency":        "EUR",
		"CustomerPaymentTerms":       "0004",
		"Country":                    "DE",
		"OverallBillingStatus":       "C",
		"OverallSDProcessStatus":     "C",
		"BillingDocumentIsCancelled": false,
		"CompanyCode":                CompanyCode,
		"FiscalYear":                 strconv.Itoa(day.Year()),
		"AccountingDocument":         fmt.Sprintf("93%08d", i+1),
		"DocumentReferenceID":        billingID(i),
		"AccountingTransferStatus":   "C",
		"AccountingPostingStatus":    "C",
		"InvoiceClearingStatus":      clearing,
		"to_Item": []record{{
			"BillingDocument": billingID(i), "BillingDocumentItem": "10", "Material": ProductID(prod),
			"BillingDocumentItemText": fmt.Sprintf("Simulated product %d", prod+1), "BillingQuantity": "1.000",
			"BillingQuantityUnit": g.baseUnit(prod), "NetAmount": net.FloatString(2), "TaxAmount": tax.FloatString(2),
			"GrossAmount": new(big.Rat).Add(net, tax).FloatString(2), "TransactionCurrency": "EUR",
			"CreationDate": day, "PricingDate": day, "to_PricingElement": rows,
		}},
	}
	totals(doc)
	return doc
}
