package orderpush_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/uom"
)

func TestMapBuildsTheSAPPayload(t *testing.T) {
	m := loadShipped(t)
	o := inlineOrder()
	o.Lines = append(o.Lines, orderpush.OrderLine{ProductNumber: " TG13 ", Quantity: "0.1"}, orderpush.OrderLine{ProductNumber: "TG14", Quantity: "999999999999.999", Unit: "Box"})
	so, err := m.Map(t.Context(), o, upperID, &fakeUnits{})
	if err != nil {
		t.Fatal(err)
	}
	if so.SalesOrderType != "OR" || so.SalesOrganization != "1010" || so.DistributionChannel != "10" || so.OrganizationDivision != "00" {
		t.Errorf("org data %+v", so)
	}
	if so.SoldToParty != soldTo || so.PurchaseOrderByCustomer != "PO-4711" || so.TransactionCurrency != "EUR" || so.CustomerPaymentTerms != "0001" {
		t.Errorf("header %+v", so)
	}
	if so.Extensions[refField] != upperID || len(so.Texts) != 0 {
		t.Errorf("reference: extensions %v, texts %v", so.Extensions, so.Texts)
	}
	if got := so.RequestedDeliveryDate.Format("2006-01-02"); got != "2026-04-01" {
		t.Errorf("delivery date %s", got)
	}
	want := []struct{ item, material, qty, unit string }{
		{"10", "TG11", "2", "EA"}, {"20", "TG12", "1.005", "KG"}, {"30", "TG13", "0.1", ""}, {"40", "TG14", "999999999999.999", "BOX"},
	}
	if len(so.Items) != len(want) {
		t.Fatalf("%d items, want %d", len(so.Items), len(want))
	}
	for i, w := range want {
		it := so.Items[i]
		// The decimal keeps its text: no float ever rounds 1.005 or 0.1.
		if it.SalesOrderItem != w.item || it.Material != w.material || it.RequestedQuantity.String() != w.qty || it.RequestedQuantityUnit != w.unit {
			t.Errorf("item %d = {%s %s %s %s}, want %+v", i, it.SalesOrderItem, it.Material, it.RequestedQuantity, it.RequestedQuantityUnit, w)
		}
	}
}

func TestMapSortsLinesAndConvertsEachMaterialItsOwnWay(t *testing.T) {
	units := &fakeUnits{ToBaseFn: func(_ context.Context, product, unit, qty string) (uom.Result, error) {
		// A box of TG20 holds 12, a box of TG30 holds 6: there is no global factor.
		per := map[string]string{"TG20": "12", "TG30": "6"}[product]
		if unit != "BOX" || per == "" {
			return uom.Result{Quantity: qty, Unit: unit}, nil
		}
		q, _ := sap.ParseDecimal(qty)
		n, _ := sap.ParseDecimal(per)
		return uom.Result{Quantity: new(big.Rat).Mul(q.Rat(), n.Rat()).FloatString(0), Unit: "EA", Converted: true}, nil
	}}
	o := inlineOrder()
	o.Lines = []orderpush.OrderLine{
		{ProductNumber: "TG30", Quantity: "3", Unit: "Box", LineItemNumber: 3},
		{ProductNumber: "TG11", Quantity: "0.1", Unit: "Kilogram", LineItemNumber: 1, SequenceNumber: 2},
		{ProductNumber: "TG12", Quantity: "1.005", Unit: "Kilogram", LineItemNumber: 1, SequenceNumber: 1},
		{ProductNumber: "TG20", Quantity: "2", Unit: "Box", LineItemNumber: 2},
	}
	so, err := loadShipped(t).Map(t.Context(), o, upperID, units)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range so.Items {
		got = append(got, fmt.Sprintf("%s %s %s %s", it.SalesOrderItem, it.Material, it.RequestedQuantity, it.RequestedQuantityUnit))
	}
	want := []string{"10 TG12 1.005 KG", "20 TG11 0.1 KG", "30 TG20 24 EA", "40 TG30 18 EA"}
	if !slices.Equal(got, want) {
		t.Errorf("items %q\nwant  %q", got, want)
	}
	if !slices.Contains(units.calls, "TG20 2 BOX") || !slices.Contains(units.calls, "TG30 3 BOX") {
		t.Errorf("conversions asked %q: each with the material and the SAP unit", units.calls)
	}
}

func TestMapWithoutUnitsAsksSAPNothing(t *testing.T) {
	units := &fakeUnits{ToBaseFn: func(context.Context, string, string, string) (uom.Result, error) {
		return uom.Result{}, errors.New("must not be called")
	}}
	o := inlineOrder()
	so, err := loadShipped(t).Map(t.Context(), o, upperID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(units.calls) != 0 || so.Items[1].RequestedQuantity.String() != "1.005" {
		t.Errorf("calls %v, items %+v", units.calls, so.Items)
	}
}

func TestMapItemNumbersRunToTheLastLine(t *testing.T) {
	o := inlineOrder()
	o.Lines = nil
	for range orderpush.MaxLines {
		o.Lines = append(o.Lines, orderpush.OrderLine{ProductNumber: "TG11", Quantity: "1"})
	}
	so, err := loadShipped(t).Map(t.Context(), o, upperID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := so.Items[len(so.Items)-1].SalesOrderItem; got != "9990" {
		t.Errorf("last item %q, want 9990", got)
	}
}

func TestMapReportsEveryProblemAtOnce(t *testing.T) {
	m := loadShipped(t)
	m.Header.DefaultCurrency = ""
	o := inlineOrder()
	o.Currency = ""
	o.CustomerAccountNumber = "CUSTOMER-00042"
	o.PaymentTerms = "9"
	o.PurchaseOrderNumber = strings.Repeat("P", 36)
	o.Lines = []orderpush.OrderLine{
		{ProductNumber: "TG11", Quantity: "1", Unit: "Dozen"},
		{ProductNumber: strings.Repeat("M", 41), Quantity: "1.0005"},
		{ProductNumber: "TG12", Quantity: "1e3"},
		{ProductNumber: "TG13", Quantity: "1234567890123.5"},
		{ProductNumber: "TG14", Quantity: "1", Unit: "Box"},
		{ProductNumber: "TG15", Quantity: "1", Unit: "Piece"},
	}
	units := &fakeUnits{ToBaseFn: func(_ context.Context, product, unit, qty string) (uom.Result, error) {
		if product == "TG14" {
			return uom.Result{}, &uom.UnknownUnitError{Product: product, Unit: unit, Units: []string{"EA", "KG"}}
		}
		return uom.Result{}, &uom.NotExactError{Product: product, Quantity: qty, Unit: unit, BaseUnit: "KG", Exact: "1/3", Scale: 3}
	}}
	_, err := m.Map(t.Context(), o, upperID, units)
	if problem.KindOf(err) != problem.Invalid {
		t.Fatalf("err = %v, want invalid", err)
	}
	fs := fieldsOf(t, err)
	want := []string{"currency", "customerAccountNumber", "purchaseOrderNumber", "paymentTerms", "lines/0/unit",
		"lines/1/productNumber", "lines/1/quantity", "lines/2/quantity", "lines/3/quantity", "lines/4/unit", "lines/5/unit"}
	got := fieldNames(fs)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("fields %v\nwant   %v", got, want)
	}
	reasons := fmt.Sprint(fs)
	for _, r := range []string{"material TG14 has no unit BOX in SAP (it has EA, KG)", "which SAP's 3 decimals cannot hold exactly"} {
		if !strings.Contains(reasons, r) {
			t.Errorf("reasons lack %q: %s", r, reasons)
		}
	}
}

func TestMapSAPUnreachableReadingUnitsIsUnavailable(t *testing.T) {
	down := &fakeUnits{ToBaseFn: func(context.Context, string, string, string) (uom.Result, error) {
		return uom.Result{}, fmt.Errorf("reading units: %w", sap.ErrNotSent)
	}}
	o := inlineOrder()
	_, err := loadShipped(t).Map(t.Context(), o, upperID, down)
	if k := problem.KindOf(err); k != problem.Unavailable {
		t.Errorf("err = %v (%s), want unavailable", err, k)
	}
	if len(down.calls) != 1 {
		t.Errorf("asked SAP %d times after it was unreachable once", len(down.calls))
	}
	// What the order itself gets wrong is still reported: it needs fixing whether or not SAP answers.
	o.PaymentTerms = "9"
	if _, err := loadShipped(t).Map(t.Context(), o, upperID, down); problem.KindOf(err) != problem.Invalid {
		t.Errorf("err = %v, want invalid", err)
	}
}

func TestMapPurchaseOrderLength(t *testing.T) {
	m := loadShipped(t)
	// SAP counts a field's positions in UTF-16 code units: an emoji takes two.
	for _, tt := range []struct {
		name string
		po   string
		ok   bool
	}{
		{"35 letters", strings.Repeat("P", 35), true},
		{"36 letters", strings.Repeat("P", 36), false},
		{"35 umlauts", strings.Repeat("Ä", 35), true},
		{"17 emoji and a letter, 35 positions", strings.Repeat("\U0001F600", 17) + "P", true},
		{"18 emoji, 36 positions", strings.Repeat("\U0001F600", 18), false},
		{"35 emoji, 70 positions", strings.Repeat("\U0001F600", 35), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := inlineOrder()
			o.PurchaseOrderNumber = tt.po
			_, err := m.Map(t.Context(), o, upperID, nil)
			if (err == nil) != tt.ok {
				t.Errorf("Map with PO %q: err = %v", tt.po, err)
			}
		})
	}
}

func TestMapRules(t *testing.T) {
	b := strings.Replace(validMapping, `"defaultCurrency": "EUR"`, `"defaultCurrency": "EUR",
	  "rules": [
	    {"when": {"currency": "USD", "customerAccountNumber": "VIP"}, "set": {"salesOrganization": "1720", "distributionChannel": "20"}},
	    {"when": {"currency": "USD"}, "set": {"salesOrganization": "1710"}},
	    {"when": {"currency": "USD"}, "set": {"salesOrganization": "9999"}},
	    {"when": {"paymentTerms": "1"}, "set": {"salesOrderType": "TA"}}
	  ]`, 1)
	m, err := orderpush.ParseMapping([]byte(b), values(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, currency, customer, terms string
		defaultCurrency                 string
		org, channel, orderType         string
	}{
		{"no rule matches", "EUR", soldTo, "", "EUR", "1010", "10", "OR"},
		{"USD goes to 1710; the first match wins over the third", "USD", soldTo, "", "EUR", "1710", "10", "OR"},
		{"all of when must match", "USD", "VIP", "", "EUR", "1720", "20", "OR"},
		{"only the first match applies, not a later one too", "USD", soldTo, "1", "EUR", "1710", "10", "OR"},
		{"payment terms rule", "EUR", soldTo, "1", "EUR", "1010", "10", "TA"},
		{"the default currency takes part in rules", "", soldTo, "", "USD", "1710", "10", "OR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mm := *m
			mm.Header.DefaultCurrency = tt.defaultCurrency
			o := inlineOrder()
			o.Currency, o.CustomerAccountNumber, o.PaymentTerms = tt.currency, tt.customer, tt.terms
			so, err := mm.Map(t.Context(), o, upperID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if so.SalesOrganization != tt.org || so.DistributionChannel != tt.channel || so.SalesOrderType != tt.orderType {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", so.SalesOrganization, so.DistributionChannel, so.SalesOrderType, tt.org, tt.channel, tt.orderType)
			}
			wantCur := tt.currency
			if wantCur == "" {
				wantCur = tt.defaultCurrency
			}
			if so.TransactionCurrency != wantCur {
				t.Errorf("currency %q, want %q", so.TransactionCurrency, wantCur)
			}
			// A rule never changes the mapping itself.
			if m.Header.SalesOrganization != "1010" {
				t.Fatalf("the mapping changed: %+v", m.Header)
			}
		})
	}
}

func TestMapShippedRuleSendsUSDTo1710(t *testing.T) {
	o := inlineOrder()
	o.Currency = "USD"
	so, err := loadShipped(t).Map(t.Context(), o, upperID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if so.SalesOrganization != "1710" || so.TransactionCurrency != "USD" {
		t.Errorf("USD order: %s %s", so.SalesOrganization, so.TransactionCurrency)
	}
}

// Lines Dataverse left without a line item number go after the numbered ones, in the order they were listed; an
// inline order without numbers keeps its order.
func TestMapPutsUnnumberedLinesLast(t *testing.T) {
	tests := []struct {
		name    string
		numbers []int
		want    []string
	}{
		{"mixed", []int{0, 2, 0, 1}, []string{"P4", "P2", "P1", "P3"}},
		{"none numbered", []int{0, 0, 0, 0}, []string{"P1", "P2", "P3", "P4"}},
		{"all numbered", []int{4, 3, 2, 1}, []string{"P4", "P3", "P2", "P1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := inlineOrder()
			o.Lines = nil
			for i, n := range tt.numbers {
				o.Lines = append(o.Lines, orderpush.OrderLine{ProductNumber: fmt.Sprintf("P%d", i+1), Quantity: "1", LineItemNumber: n})
			}
			so, err := loadShipped(t).Map(t.Context(), o, upperID, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range so.Items {
				got = append(got, it.Material)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("materials %v, want %v", got, tt.want)
			}
		})
	}
}
