package sapsim

import (
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// What a client reads of API_BILLING_DOCUMENT_SRV, and the arithmetic it may rely on, checked from the JSON alone.

const bdPath = "/sap/opu/odata/sap/API_BILLING_DOCUMENT_SRV/"

type wireElement struct {
	ConditionType, ConditionClass, ConditionCalculationType      string
	ConditionRateValue, ConditionQuantity, ConditionQuantityUnit string
	ConditionBaseValue, ConditionAmount, PricingProcedureStep    string
	ConditionIsManuallyChanged                                   bool
	BillingDocument, BillingDocumentItem                         string
}

type wireItem struct {
	BillingDocument, BillingDocumentItem, Material, BillingDocumentItemText   string
	BillingQuantity, BillingQuantityUnit                                      string
	NetAmount, TaxAmount, GrossAmount, TransactionCurrency                    string
	SalesDocument, SalesDocumentItem                                          string
	ReferenceSDDocument, ReferenceSDDocumentItem, ReferenceSDDocumentCategory string
	Elements                                                                  struct {
		Results []wireElement `json:"results"`
	} `json:"to_PricingElement"`
}

type wireBilling struct {
	Metadata struct {
		ETag string `json:"etag"`
	} `json:"__metadata"`
	BillingDocument, BillingDocumentType, BillingDocumentCategory, SDDocumentCategory      string
	BillingDocumentDate, CreationDate, LastChangeDateTime                                  string
	SalesOrganization, DistributionChannel, Division, SoldToParty, PayerParty              string
	TotalNetAmount, TaxAmount, TotalGrossAmount, TransactionCurrency, CustomerPaymentTerms string
	BillingDocumentIsCancelled                                                             bool
	CancelledBillingDocument, OverallBillingStatus, AccountingPostingStatus                string
	AccountingTransferStatus, InvoiceClearingStatus, CompanyCode, FiscalYear               string
	AccountingDocument                                                                     string
	Items                                                                                  struct {
		Results []wireItem `json:"results"`
	} `json:"to_Item"`
}

// changed is LastChangeDateTime as a time.
func (b wireBilling) changed(t *testing.T) time.Time {
	t.Helper()
	ts, err := parseDateLiteral(b.LastChangeDateTime)
	if err != nil || !strings.HasSuffix(b.LastChangeDateTime, "+0000)/") {
		t.Fatalf("LastChangeDateTime %q is not an Edm.DateTimeOffset: %v", b.LastChangeDateTime, err)
	}
	return ts
}

// getBilling reads a document with its items and their pricing elements; status 200 or fatal.
func (c *simClient) getBilling(number string) wireBilling {
	c.t.Helper()
	resp, body := c.do("GET", bdPath+"A_BillingDocument('"+number+"')?$expand=to_Item/to_PricingElement", "", nil)
	if resp.StatusCode != 200 {
		c.t.Fatalf("reading billing document %s: %d %s", number, resp.StatusCode, body)
	}
	var out struct{ D wireBilling }
	if err := json.Unmarshal(body, &out); err != nil {
		c.t.Fatalf("decoding billing document %s: %v", number, err)
	}
	return out.D
}

// rat reads an Edm.Decimal as served; amounts must carry exactly two decimals.
func rat(t *testing.T, s string, amount bool) *big.Rat {
	t.Helper()
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("%q is not a decimal", s)
	}
	if _, frac, _ := strings.Cut(s, "."); amount && len(frac) != 2 {
		t.Fatalf("amount %q does not have two decimals", s)
	}
	return r
}

// cents rounds to two decimals, half away from zero, with integers only (not the simulator's code path).
func cents(r *big.Rat) *big.Rat {
	n := new(big.Int).Mul(r.Num(), big.NewInt(200))
	q := new(big.Int).Quo(n, r.Denom()) // truncated toward zero, in half-cents
	if q.Bit(0) == 1 {                  // at or past the half: away from zero
		if q.Sign() >= 0 {
			q.Add(q, big.NewInt(1))
		} else {
			q.Sub(q, big.NewInt(1))
		}
	}
	return new(big.Rat).SetFrac(q.Quo(q, big.NewInt(2)), big.NewInt(100))
}

// checkInvariants checks a document to the cent: per item, the price condition's value is rate × quantity /
// condition quantity, the net is it plus the discounts (and manual conditions), the tax is 19 % of the net and the
// tax condition says so, gross is net + tax; the header sums its items.
func checkInvariants(t *testing.T, b wireBilling) {
	t.Helper()
	net, tax := new(big.Rat), new(big.Rat)
	if len(b.Items.Results) == 0 {
		t.Fatalf("%s has no items", b.BillingDocument)
	}
	for _, it := range b.Items.Results {
		n, x := rat(t, it.NetAmount, true), rat(t, it.TaxAmount, true)
		sum := new(big.Rat)
		var taxEl *wireElement
		for k, e := range it.Elements.Results {
			switch e.ConditionClass {
			case "B":
				want := new(big.Rat).Mul(rat(t, e.ConditionRateValue, false), rat(t, it.BillingQuantity, false))
				want = cents(want.Quo(want, rat(t, e.ConditionQuantity, false)))
				if rat(t, e.ConditionAmount, true).Cmp(want) != 0 {
					t.Errorf("%s/%s %s: amount %s, want %s × %s / %s = %s", b.BillingDocument, it.BillingDocumentItem,
						e.ConditionType, e.ConditionAmount, e.ConditionRateValue, it.BillingQuantity, e.ConditionQuantity, want.FloatString(2))
				}
				sum.Add(sum, want)
			case "A":
				sum.Add(sum, rat(t, e.ConditionAmount, true))
			case "D":
				taxEl = &it.Elements.Results[k]
			}
		}
		if sum.Cmp(n) != 0 {
			t.Errorf("%s/%s: net %s, conditions add up to %s", b.BillingDocument, it.BillingDocumentItem, it.NetAmount, sum.FloatString(2))
		}
		wantTax := cents(new(big.Rat).Mul(n, big.NewRat(19, 100)))
		if x.Cmp(wantTax) != 0 || taxEl == nil || taxEl.ConditionType != "TTX1" || rat(t, taxEl.ConditionAmount, true).Cmp(x) != 0 ||
			rat(t, taxEl.ConditionBaseValue, true).Cmp(n) != 0 {
			t.Errorf("%s/%s: tax %s (condition %+v), want %s on %s", b.BillingDocument, it.BillingDocumentItem, it.TaxAmount, taxEl, wantTax.FloatString(2), it.NetAmount)
		}
		if g := new(big.Rat).Add(n, x); rat(t, it.GrossAmount, true).Cmp(g) != 0 {
			t.Errorf("%s/%s: gross %s != net + tax %s", b.BillingDocument, it.BillingDocumentItem, it.GrossAmount, g.FloatString(2))
		}
		net.Add(net, n)
		tax.Add(tax, x)
	}
	if rat(t, b.TotalNetAmount, true).Cmp(net) != 0 || rat(t, b.TaxAmount, true).Cmp(tax) != 0 ||
		rat(t, b.TotalGrossAmount, true).Cmp(new(big.Rat).Add(net, tax)) != 0 {
		t.Errorf("%s: header %s + %s = %s, items add up to %s + %s", b.BillingDocument, b.TotalNetAmount, b.TaxAmount,
			b.TotalGrossAmount, net.FloatString(2), tax.FloatString(2))
	}
}

// eventLog keeps the events a simulator raises.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (r *eventLog) add(e Event) {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.mu.Unlock()
}

// take returns the billing document events raised since the last take, as "op number".
func (r *eventLog) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if op, ok := strings.CutPrefix(e.Type, bdEvent); ok {
			out = append(out, strings.TrimSuffix(op, ".v1")+" "+e.Data["BillingDocument"])
		}
	}
	r.evs = nil
	return out
}

// billingSim is a simulator with a clock, an event eventLog and prices a naive unit price gets wrong: product 0 at
// 12.345 per base unit, product 1 at 1,234.50 per 100 with a 3 % discount (K007), product 2 at its generated price.
func billingSim(t *testing.T, o Options) (*simClient, *fakeClock, *eventLog) {
	t.Helper()
	clock, rec := newClock(), &eventLog{}
	o.Now = clock.Now
	if o.Events == nil {
		o.Events = rec.add
	}
	if o.Products == 0 {
		o.Products = 10
	}
	c := newSim(t, o)
	for _, cond := range []Condition{
		{ConditionType: "PPR0", Material: ProductID(0), RateValue: "12.345", RateUnit: "EUR"},
		{ConditionType: "PPR0", Material: ProductID(1), RateValue: "1234.50", RateUnit: "EUR", PricingQuantity: "100"},
		{ConditionType: "K007", Material: ProductID(1), RateValue: "-3", RateUnit: "%"},
	} {
		cond.SalesOrganization, cond.DistributionChannel = SalesOrganization, DistributionChannel
		if _, err := c.srv.AddCondition(cond, nil); err != nil {
			t.Fatal(err)
		}
	}
	return c, clock, rec
}

// enterOrder enters an order of 7 of product 0, 250 of product 1 and 3 of product 2 (items 10, 20, 30).
func enterOrder(t *testing.T, s *Server) string {
	t.Helper()
	n, err := s.EnterOrder(ManualOrder{PurchaseOrderByCustomer: "PO-BILL", SoldToParty: CustomerID(0), Items: []ManualItem{
		{Material: ProductID(0), Quantity: "7"}, {Material: ProductID(1), Quantity: "250"}, {Material: ProductID(2), Quantity: "3"}}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
