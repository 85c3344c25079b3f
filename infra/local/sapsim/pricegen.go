package sapsim

import (
	"fmt"
	"time"
)

// PriceVariety makes some generated price conditions as awkward as real ones. A field N > 0 selects every Nth
// product: product i (0-based) when i%N equals the field's offset (in field order: PerHundred 0, OtherCurrency 1,
// Percentage 2, StartsTomorrow 3, EndedYesterday 4, CustomerSpecific 5) modulo N; with N = 1 every product.
// Today, tomorrow and yesterday are days of the clock when New ran (UTC). Moving the clock a day on makes the
// price that starts tomorrow valid without any record changing: a delta read by LastChangeDateTime never sees it,
// only reading what is valid on the day does.
type PriceVariety struct {
	// PerHundred: the price is per 100 base units (ConditionQuantity 100), e.g. "12.50 EUR per 100 EA".
	PerHundred int `json:"perHundred,omitempty"`
	// OtherCurrency: the price is in USD, in a sales organisation whose customers pay EUR.
	OtherCurrency int `json:"otherCurrency,omitempty"`
	// Percentage: the price condition is a percentage (ConditionCalculationType A, ConditionRateValueUnit "%"),
	// as a condition type whose calculation type may be changed on the record allows.
	Percentage int `json:"percentage,omitempty"`
	// StartsTomorrow: a new record (+10%) starts tomorrow; the current one's validity now ends today.
	StartsTomorrow int `json:"startsTomorrow,omitempty"`
	// EndedYesterday: re-priced today (+5%): the old record's validity ended yesterday, a new one starts today.
	EndedYesterday int `json:"endedYesterday,omitempty"`
	// CustomerSpecific: besides the material price, a customer-specific one (table 305, or 005; -10%) for
	// CustomerID(i % Customers): two condition tables match the material.
	CustomerSpecific int `json:"customerSpecific,omitempty"`
}

func selects(n, off, i int) bool { return n > 0 && i%n == off%n }

// condState is a condition record as it stands: its fields, its validity periods, its stamps.
type condState struct {
	c       Condition
	rows    []period // ascending, disjoint
	created time.Time
	changed time.Time // LastChangeDateTime
}

type period struct{ from, to time.Time }

// Generated condition records: record i is product i's price (0 ≤ i < Products); then, for each extra kind of
// PriceVariety in this order, one record per product it selects.
type condKind int

const (
	condPrice condKind = iota
	condEndedYesterday
	condStartsTomorrow
	condCustomer
)

type extraKind struct {
	kind   condKind
	n, off int
}

func (g *generator) extraKinds() []extraKind {
	v := g.variety
	return []extraKind{{condEndedYesterday, v.EndedYesterday, 4}, {condStartsTomorrow, v.StartsTomorrow, 3},
		{condCustomer, v.CustomerSpecific, 5}}
}

// first and count of the products an extra kind selects.
func (k extraKind) first() int { return k.off % max(k.n, 1) }

func (k extraKind) count(products int) int {
	if k.n <= 0 || k.first() >= products {
		return 0
	}
	return (products-1-k.first())/k.n + 1
}

// condCount is the number of generated condition records.
func (g *generator) condCount() int {
	n := g.products
	for _, k := range g.extraKinds() {
		n += k.count(g.products)
	}
	return n
}

// decodeCondition says what generated record r is: its kind and product.
func (g *generator) decodeCondition(r int) (condKind, int, bool) {
	if r < 0 {
		return 0, 0, false
	}
	if r < g.products {
		return condPrice, r, true
	}
	r -= g.products
	for _, k := range g.extraKinds() {
		if c := k.count(g.products); r < c {
			return k.kind, k.first() + r*k.n, true
		}
		r -= k.count(g.products)
	}
	return 0, 0, false
}

// conditionsOf are the generated records of product i, ascending.
func (g *generator) conditionsOf(i int) []int {
	out := []int{i}
	base := g.products
	for _, k := range g.extraKinds() {
		if selects(k.n, k.off, i) && i < g.products {
			out = append(out, base+(i-k.first())/k.n)
		}
		base += k.count(g.products)
	}
	return out
}

func scaled(price, factor string) string {
	r := ratOf(price)
	return r.Mul(r, ratOf(factor)).FloatString(2)
}

// conditionState is generated record r.
func (g *generator) conditionState(r int) *condState {
	kind, i, ok := g.decodeCondition(r)
	if !ok {
		return nil
	}
	v := g.variety
	ctype, tMaterial, tCustomer := "PPR0", "304", "305"
	if g.classic {
		ctype, tMaterial, tCustomer = "PR00", "004", "005"
	}
	c := Condition{ConditionType: ctype, ConditionTable: tMaterial, Material: ProductID(i),
		SalesOrganization: SalesOrganization, DistributionChannel: DistributionChannel,
		RateValue: g.price(i), RateUnit: "EUR", CalculationType: "C", Currency: "EUR",
		PricingQuantity: "1", PricingUnit: g.baseUnit(i), ValidFrom: validFrom, ValidTo: validTo}
	if kind != condCustomer {
		if selects(v.PerHundred, 0, i) {
			c.PricingQuantity = "100"
		}
		if selects(v.OtherCurrency, 1, i) {
			c.RateUnit, c.Currency = "USD", "USD"
		}
	}
	today := g.today
	yesterday, tomorrow := today.AddDate(0, 0, -1), today.AddDate(0, 0, 1)
	ended, starts := selects(v.EndedYesterday, 4, i), selects(v.StartsTomorrow, 3, i)
	st := &condState{c: c, changed: g.productChanged(i)}
	row := period{validFrom, validTo}
	switch kind {
	case condPrice:
		if ended {
			row.to = yesterday
		} else if starts {
			row.to = today
		}
	case condEndedYesterday:
		st.c.RateValue = scaled(c.RateValue, "1.05")
		st.c.ValidFrom = today
		row = period{today, validTo}
		if starts {
			row.to = today
		}
		st.changed = today.Add(-14 * time.Hour)
	case condStartsTomorrow:
		st.c.RateValue = scaled(c.RateValue, "1.10")
		st.c.ValidFrom = tomorrow
		row = period{tomorrow, validTo}
		st.changed = today.Add(-13 * time.Hour)
	case condCustomer:
		st.c.ConditionTable = tCustomer
		st.c.Customer = CustomerID(i % g.customers)
		st.c.RateValue = scaled(c.RateValue, "0.9")
		st.changed = st.changed.Add(time.Hour)
	}
	if kind != condCustomer && selects(v.Percentage, 2, i) {
		st.c.RateValue = fmt.Sprintf("-%d.000", 1+g.mix(10, uint64(i))%9)
		st.c.RateUnit, st.c.CalculationType, st.c.Currency = "%", "A", ""
		st.c.PricingQuantity, st.c.PricingUnit = "0", ""
	}
	st.rows = []period{row}
	st.created = st.changed.Truncate(24 * time.Hour)
	return st
}

func (st *condState) record(id string) record {
	c := st.c
	return record{
		"ConditionRecord":            id,
		"ConditionSequentialNumber":  "01",
		"ConditionTable":             c.ConditionTable,
		"ConditionApplication":       "V",
		"ConditionType":              c.ConditionType,
		"ConditionValidityStartDate": c.ValidFrom,
		"ConditionValidityEndDate":   c.ValidTo,
		"CreatedByUser":              "CB9980000115",
		"CreationDate":               st.created,
		"ConditionCalculationType":   c.CalculationType,
		"ConditionRateValue":         c.RateValue,
		"ConditionRateValueUnit":     c.RateUnit,
		"ConditionCurrency":          c.Currency,
		"ConditionQuantity":          c.PricingQuantity,
		"ConditionQuantityUnit":      c.PricingUnit,
		"ConditionIsDeleted":         c.IsDeleted,
		"ConditionReleaseStatus":     c.ReleaseStatus,
		"LastChangeDateTime":         st.changed,
	}
}

func (st *condState) validity(id string, p period) record {
	c := st.c
	return record{
		"ConditionRecord":            id,
		"ConditionValidityEndDate":   p.to,
		"ConditionValidityStartDate": p.from,
		"ConditionApplication":       "V",
		"ConditionType":              c.ConditionType,
		"ConditionReleaseStatus":     c.ReleaseStatus,
		"Material":                   c.Material,
		"Customer":                   c.Customer,
		"SalesOrganization":          c.SalesOrganization,
		"DistributionChannel":        c.DistributionChannel,
	}
}

func (st *condState) validities(id string) []record {
	out := make([]record, len(st.rows))
	for k, p := range st.rows {
		out[k] = st.validity(id, p)
	}
	return out
}
