package sapsim

import (
	"encoding/json"
	"errors"
	"maps"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPartialDeliveriesBilledOneByOne: an order delivered in two deliveries and billed delivery by delivery has two
// invoices, each billing what its delivery delivered, with prices per 100 and with three decimals and a discount,
// and every amount right to the cent as a client reads it.
func TestPartialDeliveriesBilledOneByOne(t *testing.T) {
	c, clock, rec := billingSim(t, Options{})
	s := c.srv
	order := enterOrder(t, s)
	d1, err := s.Deliver(order, map[string]string{"10": "3", "20": "100"})
	if err != nil {
		t.Fatal(err)
	}
	d2, err := s.Deliver(order, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec.take()
	b1, err := s.BillDelivery(d1)
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Minute)
	b2, err := s.BillDelivery(d2)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); !slices.Equal(got, []string{"Created " + b1, "Created " + b2}) {
		t.Fatalf("events %v", got)
	}
	for _, tc := range []struct {
		doc, delivery string
		billed        map[string]string // order item → quantity
		inexact       bool              // 3 × 12.345 needs rounding: net / quantity is not the price
	}{
		{b1, d1, map[string]string{"10": "3.000", "20": "100.000"}, true},
		{b2, d2, map[string]string{"10": "4.000", "20": "150.000", "30": "3.000"}, false},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			b := c.getBilling(tc.doc)
			checkInvariants(t, b)
			if b.BillingDocumentType != "F2" || b.SDDocumentCategory != "M" || b.BillingDocumentCategory != "L" ||
				b.SoldToParty != CustomerID(0) || b.PayerParty != CustomerID(0) || b.TransactionCurrency != "EUR" ||
				b.CustomerPaymentTerms != "0004" || b.SalesOrganization != SalesOrganization || b.BillingDocumentIsCancelled ||
				b.CompanyCode != CompanyCode || b.FiscalYear != "2025" || b.AccountingDocument == "" ||
				b.AccountingTransferStatus != "C" || b.AccountingPostingStatus != "C" || b.InvoiceClearingStatus != "A" {
				t.Fatalf("header %+v", b)
			}
			got := map[string]string{}
			for _, it := range b.Items.Results {
				if it.ReferenceSDDocument != tc.delivery || it.ReferenceSDDocumentCategory != "J" || it.SalesDocument != order ||
					it.ReferenceSDDocumentItem == "" || it.BillingDocumentItemText == "" {
					t.Fatalf("item %+v", it)
				}
				got[it.SalesDocumentItem] = it.BillingQuantity
				if it.Material == ProductID(1) && !slices.ContainsFunc(it.Elements.Results, func(e wireElement) bool {
					return e.ConditionType == "K007" && e.ConditionClass == "A" && e.ConditionRateValue == "-3" &&
						rat(t, e.ConditionAmount, true).Sign() < 0
				}) {
					t.Fatalf("no discount on %+v", it)
				}
				if it.Material == ProductID(0) && tc.inexact {
					unit := new(big.Rat).Quo(rat(t, it.NetAmount, true), rat(t, it.BillingQuantity, false))
					if unit.Cmp(ratOf("12.345")) == 0 {
						t.Fatalf("net / quantity is the price exactly (%s): the case proves nothing", unit.FloatString(5))
					}
				}
			}
			if !maps.Equal(got, tc.billed) {
				t.Fatalf("billed %v, want %v", got, tc.billed)
			}
		})
	}
	for _, again := range []func() (string, error){func() (string, error) { return s.BillDelivery(d1) }, func() (string, error) { return s.Bill(order) }} {
		if n, err := again(); !errors.Is(err, ErrNothingToBill) {
			t.Fatalf("billing again gave %q, %v", n, err)
		}
	}
	so := c.orderFlow(order)
	if so.OverallOrdReltdBillgStatus != "C" || !slices.Equal(so.flow(), []string{"J " + d1, "J " + d2, "M " + b1, "M " + b2}) {
		t.Fatalf("order billing status %q, flow %v", so.OverallOrdReltdBillgStatus, so.flow())
	}
}

// TestBillCombinesAnOrdersDeliveries: Bill bills every delivery of the order at once, an item per delivery item.
func TestBillCombinesAnOrdersDeliveries(t *testing.T) {
	c, _, _ := billingSim(t, Options{})
	s := c.srv
	order := enterOrder(t, s)
	d1, _ := s.Deliver(order, map[string]string{"20": "99.5"})
	d2, _ := s.Deliver(order, nil)
	b, err := s.Bill(order)
	if err != nil {
		t.Fatal(err)
	}
	doc := c.getBilling(b)
	checkInvariants(t, doc)
	var refs []string
	for _, it := range doc.Items.Results {
		refs = append(refs, it.ReferenceSDDocument+"/"+it.SalesDocumentItem+"/"+it.BillingQuantity)
	}
	want := []string{d1 + "/20/99.500", d2 + "/10/7.000", d2 + "/20/150.500", d2 + "/30/3.000"}
	if !slices.Equal(refs, want) {
		t.Fatalf("items %v, want %v", refs, want)
	}
}

// TestBillingExpandsAndNavigates: the reads a client makes of a document, its items and their pricing elements.
func TestBillingExpandsAndNavigates(t *testing.T) {
	c, _, _ := billingSim(t, Options{})
	order := enterOrder(t, c.srv)
	if _, err := c.srv.Deliver(order, nil); err != nil {
		t.Fatal(err)
	}
	b, err := c.srv.Bill(order)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       []string // in the body
		not        string
	}{
		{"nested expand", "A_BillingDocument('" + b + "')?$expand=to_Item/to_PricingElement",
			[]string{`"ConditionType":"PPR0"`, `"ConditionType":"TTX1"`, `"ConditionClass":"D"`}, `BillingDocumentItem='10')/to_PricingElement"`},
		{"both paths listed", "A_BillingDocument('" + b + "')?$expand=to_Item,to_Item/to_PricingElement",
			[]string{`"ConditionType":"K007"`}, `BillingDocumentItem='10')/to_PricingElement"`},
		{"items only", "A_BillingDocument('" + b + "')?$expand=to_Item", []string{`"BillingDocumentItem":"30"`, `BillingDocumentItem='10')/to_PricingElement"`}, `"ConditionType"`},
		{"items of the header", "A_BillingDocument('" + b + "')/to_Item", []string{`"BillingDocumentItem":"10"`}, ""},
		{"elements of an item", "A_BillingDocumentItem(BillingDocument='" + b + "',BillingDocumentItem='20')/to_PricingElement",
			[]string{`"ConditionType":"K007"`, `"ConditionQuantity":"100"`}, `"BillingDocumentItem":"10"`},
		{"element set", "A_BillingDocumentItemPrcgElmnt?$filter=" + url.QueryEscape("BillingDocument eq '"+b+"' and ConditionClass eq 'B'"),
			[]string{`"ConditionRateValue":"12.345"`, `"ConditionRateValue":"1234.50"`}, `"TTX1"`},
		{"collection, nested expand", "A_BillingDocument?$filter=" + url.QueryEscape("BillingDocument eq '"+b+"'") + "&$expand=to_Item/to_PricingElement",
			[]string{`"ConditionType":"PPR0"`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.do("GET", bdPath+tc.path, "", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(body), w) {
					t.Fatalf("%s not in %.300s", w, body)
				}
			}
			if tc.not != "" && strings.Contains(string(body), tc.not) {
				t.Fatalf("%s in %.300s", tc.not, body)
			}
		})
	}
	t.Run("generated documents keep the invariants", func(t *testing.T) {
		for _, n := range []string{"90000000", "90000007", "90000019"} {
			checkInvariants(t, c.getBilling(n))
		}
	})
}

// orderWithFlow is what a client reads of an order's billing state.
type orderWithFlow struct {
	OverallOrdReltdBillgStatus string
	LastChangeDateTime         string
	Flow                       struct {
		Results []struct{ SubsequentDocument, SubsequentDocumentCategory string }
	} `json:"to_SubsequentProcFlowDoc"`
}

func (o orderWithFlow) flow() []string {
	var out []string
	for _, f := range o.Flow.Results {
		out = append(out, f.SubsequentDocumentCategory+" "+f.SubsequentDocument)
	}
	return out
}

func (c *simClient) orderFlow(order string) orderWithFlow {
	c.t.Helper()
	resp, body := c.do("GET", soPath+"A_SalesOrder('"+order+"')?$expand=to_SubsequentProcFlowDoc", "", nil)
	var out struct{ D orderWithFlow }
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 {
		c.t.Fatalf("reading order %s: %d %v %s", order, resp.StatusCode, err, body)
	}
	return out.D
}
