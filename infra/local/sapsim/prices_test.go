package sapsim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
)

// priceLine shows a condition as a reader must understand it: table, customer, rate per quantity, calculation
// type, validity, deletion.
func priceLine(pc sap.PriceCondition) string {
	r := pc.Record
	s := fmt.Sprintf("%s %s", r.ConditionType, r.ConditionTable)
	if pc.Customer != "" {
		s += " for " + pc.Customer
	}
	s += fmt.Sprintf(" %s %s/%s %s %s %s..%s", r.ConditionRateValue, r.ConditionRateValueUnit, r.ConditionQuantity,
		r.ConditionQuantityUnit, r.ConditionCalculationType, pc.ConditionValidityStartDate.Format(time.DateOnly),
		pc.ConditionValidityEndDate.Format(time.DateOnly))
	if r.ConditionCurrency != r.ConditionRateValueUnit {
		s += " in " + r.ConditionCurrency
	}
	if r.ConditionIsDeleted {
		s += " deleted"
	}
	if pc.ConditionReleaseStatus != "" {
		s += " status " + pc.ConditionReleaseStatus
	}
	return s
}

func priceLines(pcs []sap.PriceCondition) string {
	var out []string
	for _, pc := range pcs {
		out = append(out, priceLine(pc))
	}
	return strings.Join(out, "; ")
}

var (
	today     = start.Truncate(24 * time.Hour)
	yesterday = today.AddDate(0, 0, -1)
	tomorrow  = today.AddDate(0, 0, 1)
)

// TestPriceVariety: the opt-in awkward prices are what a reader of PPR0 at material level meets: a price per 100
// units, one in USD, a percentage, validities that start tomorrow or ended yesterday, and a customer-specific
// price beside the material price.
func TestPriceVariety(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 12, PriceVariety: PriceVariety{PerHundred: 6, OtherCurrency: 6,
		Percentage: 6, StartsTomorrow: 6, EndedYesterday: 6, CustomerSpecific: 6}})
	g := e.sim.gen
	price := func(i int, factor string) string { return ratOf(scaled(g.price(i), factor)).FloatString(2) }
	unit := func(i int) string { return g.baseUnit(i) }
	cases := []struct {
		name    string
		product int
		on      time.Time
		want    string
	}{
		{"per 100 units", 0, today, "PPR0 304 " + g.price(0) + " EUR/100 " + unit(0) + " C 2024-01-01..9999-12-31"},
		{"in another currency", 1, today, "PPR0 304 " + g.price(1) + " USD/1 " + unit(1) + " C 2024-01-01..9999-12-31"},
		{"a percentage", 2, today, "PPR0 304 " + g.conditionState(2).c.RateValue + " %/0  A 2024-01-01..9999-12-31 in "},
		{"before a new price starts tomorrow", 3, today, "PPR0 304 " + g.price(3) + " EUR/1 " + unit(3) + " C 2024-01-01.." + today.Format(time.DateOnly)},
		{"the new price tomorrow", 3, tomorrow, "PPR0 304 " + price(3, "1.10") + " EUR/1 " + unit(3) + " C " + tomorrow.Format(time.DateOnly) + "..9999-12-31"},
		{"re-priced today", 4, today, "PPR0 304 " + price(4, "1.05") + " EUR/1 " + unit(4) + " C " + today.Format(time.DateOnly) + "..9999-12-31"},
		{"the price that ended yesterday", 4, yesterday, "PPR0 304 " + g.price(4) + " EUR/1 " + unit(4) + " C 2024-01-01.." + yesterday.Format(time.DateOnly)},
		{"material and customer-specific price", 5, today, "PPR0 304 " + g.price(5) + " EUR/1 " + unit(5) + " C 2024-01-01..9999-12-31; " +
			"PPR0 305 for " + CustomerID(5) + " " + price(5, "0.9") + " EUR/1 " + unit(5) + " C 2024-01-01..9999-12-31"},
		{"every validity of a re-priced product", 4, time.Time{}, "PPR0 304 " + g.price(4) + " EUR/1 " + unit(4) + " C 2024-01-01.." + yesterday.Format(time.DateOnly) +
			"; PPR0 304 " + price(4, "1.05") + " EUR/1 " + unit(4) + " C " + today.Format(time.DateOnly) + "..9999-12-31"},
		{"the same traits every 6th product", 6, today, "PPR0 304 " + g.price(6) + " EUR/100 " + unit(6) + " C 2024-01-01..9999-12-31"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := priceLines(e.prices(sap.PriceQuery{ConditionType: "PPR0", Material: ProductID(tc.product),
				SalesOrganization: SalesOrganization, DistributionChannel: DistributionChannel, ValidOn: tc.on}))
			if got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	t.Run("every record is served once, paged", func(t *testing.T) {
		rows, count := e.readAll(pricePath + "A_SlsPrcgCndnRecdValidity?$inlinecount=allpages&$top=100")
		// 12 prices, and 2 each starting tomorrow, ended yesterday, customer-specific.
		if len(rows) != 18 || count != "18" {
			t.Fatalf("%d rows, count %s", len(rows), count)
		}
	})
}

// TestConditionChanges: added, changed and deleted condition records are served by every read, and a new
// record's validity cuts (or splits) the validity of the records with the same key, as in SAP.
func TestConditionChanges(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 10, PageSize: 3})
	g := e.sim.gen
	e.clock.Advance(time.Hour)
	now := e.clock.Now()
	material := func(i int) string { return ProductID(i) }
	base := Condition{ConditionType: "PPR0", SalesOrganization: SalesOrganization, DistributionChannel: DistributionChannel}
	add := func(i int, f func(*Condition)) string {
		t.Helper()
		c := base
		c.Material = material(i)
		f(&c)
		id, err := e.sim.AddCondition(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	per100 := add(1, func(c *Condition) {
		c.RateValue, c.RateUnit, c.PricingQuantity, c.PricingUnit = "12.50", "EUR", "100", "EA"
	})
	april := add(2, func(c *Condition) {
		c.RateValue, c.RateUnit = "3.10", "EUR"
		c.ValidFrom, c.ValidTo = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC)
	})
	pct := add(5, func(c *Condition) { c.RateValue, c.RateUnit, c.Customer = "-3", "%", CustomerID(1) })
	usd := add(6, func(c *Condition) { c.RateValue, c.RateUnit, c.ValidFrom = "20", "USD", tomorrow })
	blocked := add(7, func(c *Condition) { c.RateValue, c.RateUnit, c.ReleaseStatus = "55", "EUR", "A" })
	approved := add(8, func(c *Condition) { c.RateValue, c.RateUnit, c.ReleaseStatus = "66", "EUR", "A" })
	e.clock.Advance(time.Minute)
	if err := e.sim.ChangeCondition(conditionRecordID(3), func(c *Condition) { c.RateValue = "99.99" }, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.DeleteCondition(conditionRecordID(4), nil); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.ChangeCondition(approved, func(c *Condition) { c.ReleaseStatus = "" }, nil); err != nil {
		t.Fatal(err)
	}
	changedAt := e.clock.Now()

	price := func(i int) string { return g.price(i) }
	unit := func(i int) string { return g.baseUnit(i) }
	reads := []struct {
		name    string
		product int
		on      time.Time
		want    string
	}{
		{"a new price per 100 EA from today", 1, today, "PPR0 304 12.50 EUR/100 EA C 2025-03-04..9999-12-31"},
		{"the old price it cut short", 1, yesterday, "PPR0 304 " + price(1) + " EUR/1 " + unit(1) + " C 2024-01-01..2025-03-03"},
		{"a price for April only splits the old one", 2, time.Time{}, "PPR0 304 " + price(2) + " EUR/1 " + unit(2) + " C 2024-01-01..2025-03-31; " +
			"PPR0 304 " + price(2) + " EUR/1 " + unit(2) + " C 2025-05-01..9999-12-31; PPR0 304 3.10 EUR/1 " + unit(2) + " C 2025-04-01..2025-04-30"},
		{"in April", 2, time.Date(2025, 4, 15, 0, 0, 0, 0, time.UTC), "PPR0 304 3.10 EUR/1 " + unit(2) + " C 2025-04-01..2025-04-30"},
		{"a changed rate", 3, today, "PPR0 304 99.99 EUR/1 " + unit(3) + " C 2024-01-01..9999-12-31"},
		{"a deleted record", 4, today, "PPR0 304 " + price(4) + " EUR/1 " + unit(4) + " C 2024-01-01..9999-12-31 deleted"},
		{"a customer-specific percentage", 5, today, "PPR0 304 " + price(5) + " EUR/1 " + unit(5) + " C 2024-01-01..9999-12-31; " +
			"PPR0 305 for " + CustomerID(1) + " -3 %/0  A 2025-03-04..9999-12-31 in "},
		{"a price in USD from tomorrow", 6, tomorrow, "PPR0 304 20 USD/1 " + unit(6) + " C 2025-03-05..9999-12-31"},
		{"a blocked price beside the released one", 7, today, "PPR0 304 " + price(7) + " EUR/1 " + unit(7) + " C 2024-01-01..9999-12-31; " +
			"PPR0 304 55 EUR/1 " + unit(7) + " C 2025-03-04..9999-12-31 status A"},
		{"an approved price cuts the old one", 8, time.Time{}, "PPR0 304 " + price(8) + " EUR/1 " + unit(8) + " C 2024-01-01..2025-03-03; " +
			"PPR0 304 66 EUR/1 " + unit(8) + " C 2025-03-04..9999-12-31"},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			got := priceLines(e.prices(sap.PriceQuery{ConditionType: "PPR0", Material: material(tc.product), ValidOn: tc.on}))
			if got != tc.want {
				t.Fatalf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
	t.Run("stamps", func(t *testing.T) {
		stamps := map[string]time.Time{}
		for _, pc := range e.prices(sap.PriceQuery{}) {
			stamps[pc.ConditionRecord] = pc.Record.LastChangeDateTime.Time
		}
		for id, want := range map[string]time.Time{per100: now, april: now, pct: now, usd: now, blocked: now,
			approved: changedAt, conditionRecordID(3): changedAt, conditionRecordID(4): changedAt,
			conditionRecordID(1): g.productChanged(1), conditionRecordID(8): g.productChanged(8)} {
			if !stamps[id].Equal(want) {
				t.Errorf("record %s stamped %v, want %v", id, stamps[id], want)
			}
		}
	})
	t.Run("records changed since, on the record set", func(t *testing.T) {
		lit := "datetimeoffset'" + now.Add(-time.Second).Format(time.RFC3339) + "'"
		rows, count := e.readAll(pricePath + "A_SlsPrcgConditionRecord?$inlinecount=allpages&$filter=" + q("LastChangeDateTime gt "+lit))
		var ids []string
		for _, r := range rows {
			ids = append(ids, r["ConditionRecord"].(string))
		}
		want := []string{conditionRecordID(3), conditionRecordID(4), per100, april, pct, usd, blocked, approved}
		if strings.Join(ids, ",") != strings.Join(want, ",") || count != "8" {
			t.Fatalf("records %v (count %s), want %v", ids, count, want)
		}
	})
	t.Run("a split record expands to both periods", func(t *testing.T) {
		status, r := e.entity(pricePath + "A_SlsPrcgConditionRecord('" + conditionRecordID(2) + "')?$expand=to_SlsPrcgCndnRecdValidity")
		rows, _ := r["to_SlsPrcgCndnRecdValidity"].(map[string]any)["results"].([]any)
		if status != 200 || len(rows) != 2 {
			t.Fatalf("%d %v", status, r)
		}
	})
	t.Run("each period by its key", func(t *testing.T) {
		for _, end := range []string{"2025-03-31", "9999-12-31"} {
			status, r := e.entity(pricePath + "A_SlsPrcgCndnRecdValidity(ConditionRecord='" + conditionRecordID(2) +
				"',ConditionValidityEndDate=datetime'" + end + "T00:00:00')?$expand=to_SlsPrcgConditionRecord")
			if status != 200 || r["to_SlsPrcgConditionRecord"].(map[string]any)["ConditionRecord"] != conditionRecordID(2) {
				t.Fatalf("%s: %d %v", end, status, r)
			}
		}
		if status, _ := e.entity(pricePath + "A_SlsPrcgCndnRecdValidity(ConditionRecord='" + conditionRecordID(2) +
			"',ConditionValidityEndDate=datetime'9999-12-30T00:00:00')"); status != 404 {
			t.Fatalf("a period that is not there: %d", status)
		}
	})
	t.Run("an added record by its key", func(t *testing.T) {
		if status, r := e.entity(pricePath + "A_SlsPrcgConditionRecord('" + per100 + "')"); status != 200 || r["ConditionQuantity"] != "100" {
			t.Fatalf("%d %v", status, r)
		}
	})
	t.Run("every period, paged and counted", func(t *testing.T) {
		rows, count := e.readAll(pricePath + "A_SlsPrcgCndnRecdValidity?$inlinecount=allpages")
		// 10 generated, one of them split, and 6 added.
		if len(rows) != 17 || count != "17" || rows[16]["ConditionRecord"] != approved {
			t.Fatalf("%d rows, count %s, last %v", len(rows), count, rows[len(rows)-1])
		}
	})
}
