package sapsim

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
)

// TestLateConditionCommit: a new price and the cut it makes to the old one commit together, later than the
// stamp they carry; meanwhile the old record is locked.
func TestLateConditionCommit(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 5})
	mat := ProductID(2)
	read := func() string {
		return priceLines(e.prices(sap.PriceQuery{Material: mat}))
	}
	before := read()
	id, err := e.sim.AddCondition(Condition{ConditionType: "PPR0", Material: mat, SalesOrganization: SalesOrganization,
		DistributionChannel: DistributionChannel, RateValue: "7", RateUnit: "EUR", ValidFrom: tomorrow},
		&ChangeOptions{CommitDelay: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := read(); got != before {
		t.Fatalf("visible before the commit: %s", got)
	}
	if status, _ := e.entity(pricePath + "A_SlsPrcgConditionRecord('" + id + "')"); status != 404 {
		t.Fatalf("key read of the uncommitted record: %d", status)
	}
	if err := e.sim.ChangeCondition(conditionRecordID(2), func(c *Condition) { c.RateValue = "1" }, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("changing the record being cut: %v", err)
	}
	if err := e.sim.ChangeCondition(id, func(c *Condition) { c.RateValue = "1" }, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("changing the uncommitted record: %v", err)
	}
	stamped := e.clock.Now()
	e.clock.Advance(90 * time.Second)
	got := e.prices(sap.PriceQuery{Material: mat})
	if len(got) != 2 || !got[0].ConditionValidityEndDate.Equal(today) || got[1].ConditionRecord != id ||
		!got[1].Record.LastChangeDateTime.Equal(stamped) {
		t.Fatalf("after the commit: %s", priceLines(got))
	}
}

func TestConditionChangeRefused(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 5})
	ok := Condition{ConditionType: "PPR0", Material: ProductID(1), SalesOrganization: SalesOrganization,
		DistributionChannel: DistributionChannel, RateValue: "1", RateUnit: "EUR"}
	with := func(f func(*Condition)) Condition { c := ok; f(&c); return c }
	adds := []struct {
		name string
		c    Condition
		want error
	}{
		{"unknown material", with(func(c *Condition) { c.Material = "NOPE" }), ErrNoSuchObject},
		{"no rate unit", with(func(c *Condition) { c.RateUnit = "" }), nil},
		{"no condition type", with(func(c *Condition) { c.ConditionType = "" }), nil},
		{"rate with 4 decimals", with(func(c *Condition) { c.RateValue = "1.2345" }), nil},
		{"pricing quantity with decimals", with(func(c *Condition) { c.PricingQuantity = "0.5" }), nil},
		{"validity ending before it starts", with(func(c *Condition) { c.ValidFrom, c.ValidTo = tomorrow, yesterday }), nil},
		{"sales organisation of 5", with(func(c *Condition) { c.SalesOrganization = "10100" }), nil},
	}
	for _, tc := range adds {
		t.Run("add: "+tc.name, func(t *testing.T) {
			if _, err := e.sim.AddCondition(tc.c, nil); err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	changes := []struct {
		name, record string
		change       func(*Condition)
		want         error
	}{
		{"unknown record", "0000099999", func(*Condition) {}, ErrNoSuchObject},
		{"no record number", "x", func(*Condition) {}, ErrNoSuchObject},
		{"its material", conditionRecordID(1), func(c *Condition) { c.Material = ProductID(2) }, nil},
		{"its customer", conditionRecordID(1), func(c *Condition) { c.Customer = CustomerID(0) }, nil},
		{"its condition table", conditionRecordID(1), func(c *Condition) { c.ConditionTable = "305" }, nil},
	}
	for _, tc := range changes {
		t.Run("change: "+tc.name, func(t *testing.T) {
			if err := e.sim.ChangeCondition(tc.record, tc.change, nil); err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if got := e.prices(sap.PriceQuery{}); len(got) != 5 || got[1].Record.LastChangeDateTime.Equal(start) {
		t.Fatalf("a refused change was kept: %s", priceLines(got))
	}
}

// TestOrdersPricedByTheValidCondition: a sales order is priced by the record valid today for its sold-to party
// and currency, per pricing unit: changes to prices show in the orders SAP creates.
func TestOrdersPricedByTheValidCondition(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 6})
	g := e.sim.gen
	ctx := context.Background()
	set := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	key := Condition{ConditionType: "PPR0", SalesOrganization: SalesOrganization, DistributionChannel: DistributionChannel}
	set(e.sim.ChangeCondition(conditionRecordID(1), func(c *Condition) { c.RateValue = "4.20" }, nil))
	blocked := key
	blocked.Material, blocked.RateValue, blocked.RateUnit, blocked.ReleaseStatus = ProductID(1), "1", "EUR", "A"
	_, err := e.sim.AddCondition(blocked, nil)
	set(err)
	per100 := key
	per100.Material, per100.RateValue, per100.RateUnit, per100.PricingQuantity = ProductID(2), "12.50", "EUR", "100"
	_, err = e.sim.AddCondition(per100, nil)
	set(err)
	special := key
	special.Material, special.Customer, special.RateValue, special.RateUnit = ProductID(3), CustomerID(0), "5", "EUR"
	_, err = e.sim.AddCondition(special, nil)
	set(err)
	set(e.sim.DeleteCondition(conditionRecordID(4), nil))
	tomorrowOnly := key
	tomorrowOnly.Material, tomorrowOnly.RateValue, tomorrowOnly.RateUnit, tomorrowOnly.ValidFrom = ProductID(5), "9", "EUR", tomorrow
	_, err = e.sim.AddCondition(tomorrowOnly, nil)
	set(err)

	cases := []struct {
		name    string
		product int
		soldTo  string
		qty     string
		want    string
	}{
		{"a changed rate, not the blocked one", 1, CustomerID(1), "3", "12.60"},
		{"per 100 units", 2, CustomerID(1), "10", "1.25"},
		{"the customer's own price", 3, CustomerID(0), "2", "10.00"},
		{"another customer pays the material price", 3, CustomerID(1), "2", ratOf(scaled(g.price(3), "2")).FloatString(2)},
		{"a deleted price leaves the pricing incomplete", 4, CustomerID(1), "1", "0.00"},
		{"a price starting tomorrow does not count today", 5, CustomerID(1), "1", g.price(5)},
	}
	for n, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			so, err := e.c.CreateSalesOrder(ctx, sap.SalesOrderCreate{SalesOrderType: "OR", SalesOrganization: SalesOrganization,
				DistributionChannel: DistributionChannel, OrganizationDivision: Division, SoldToParty: tc.soldTo,
				PurchaseOrderByCustomer: fmt.Sprint("PO-", n), Items: []sap.SalesOrderItemCreate{
					{Material: ProductID(tc.product), RequestedQuantity: sap.MustDecimal(tc.qty)}}})
			if err != nil {
				t.Fatal(err)
			}
			if so.TotalNetAmount.Rat().Cmp(ratOf(tc.want)) != 0 {
				t.Fatalf("total %s, want %s", so.TotalNetAmount, tc.want)
			}
		})
	}
}

// TestClassicPricing: an ECC-style system prices with PR00 in tables 004 and 005.
func TestClassicPricing(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 4, ClassicPricing: true, PriceVariety: PriceVariety{CustomerSpecific: 2}})
	got := e.prices(sap.PriceQuery{ConditionType: "PR00", Material: ProductID(1), ValidOn: today})
	if len(got) != 2 || got[0].Record.ConditionTable != "004" || got[1].Record.ConditionTable != "005" || got[1].Customer == "" {
		t.Fatalf("%s", priceLines(got))
	}
	if got := e.prices(sap.PriceQuery{ConditionType: "PPR0"}); len(got) != 0 {
		t.Fatalf("PPR0 in a classic system: %s", priceLines(got))
	}
}
