package sap

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

func TestStockStreamsEveryPage(t *testing.T) {
	e := newEnv(t, sapsim.Options{Products: 50, Plants: []string{"1010", "1020"}, PageSize: 7}, nil)
	ctx := context.Background()
	cases := []struct {
		name  string
		q     StockQuery
		rows  int
		pages int
	}{
		{"server paging", StockQuery{}, 100, 15},
		{"one material", StockQuery{Material: sapsim.ProductID(7)}, 2, 1},
		{"one plant", StockQuery{Plant: "1020"}, 50, 8},
		{"material and plant", StockQuery{Material: sapsim.ProductID(7), Plant: "1010"}, 1, 1},
		{"client paging below the server page", StockQuery{PageSize: 5}, 100, 21},
		{"top", StockQuery{Top: 10}, 10, 2},
		{"unknown material", StockQuery{Material: "NOPE"}, 0, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows := e.c.Stock(ctx, tc.q)
			seen := map[string]bool{}
			for r, err := range rows.All() {
				if err != nil {
					t.Fatal(err)
				}
				k := r.Material + "/" + r.Plant
				if seen[k] {
					t.Fatalf("%s twice", k)
				}
				seen[k] = true
				if r.Quantity.String() == "0" && r.MaterialBaseUnit == "" || (tc.q.Plant != "" && r.Plant != tc.q.Plant) {
					t.Fatalf("row %+v", r)
				}
			}
			if len(seen) != tc.rows || rows.Pages() != tc.pages {
				t.Fatalf("%d rows in %d pages, want %d in %d", len(seen), rows.Pages(), tc.rows, tc.pages)
			}
		})
	}
	t.Run("stop early", func(t *testing.T) {
		rows := e.c.Stock(ctx, StockQuery{})
		n := 0
		for _, err := range rows.All() {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
		if rows.Pages() != 1 {
			t.Fatalf("%d pages read to yield 3 rows", rows.Pages())
		}
	})
	t.Run("inline count", func(t *testing.T) {
		rows := newRows[StockRow](ctx, e.c, ServiceMaterial, "A_MatlStkInAcctMod", Query{InlineCount: true, Top: 1})
		for _, err := range rows.All() {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, ok := rows.Count(); !ok || n != 100 {
			t.Fatalf("count %d %v", n, ok)
		}
	})
}

func TestNextLinkStaysOnConfiguredHost(t *testing.T) {
	var mu sync.Mutex
	var hosts []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		n := len(hosts)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case n == 1:
			fmt.Fprint(w, `{"d":{"results":[{"Material":"A"}],"__next":"https://evil.example.com/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod?$skiptoken=1"}}`)
		case n == 2:
			if r.URL.Query().Get("$skiptoken") != "1" || r.URL.Query().Get("sap-client") != "200" {
				http.Error(w, "lost the query", 400)
				return
			}
			fmt.Fprint(w, `{"d":{"results":[{"Material":"B"}],"__next":"https://evil.example.com/sap/opu/odata/sap/OTHER_SRV/X"}}`)
		}
	}))
	defer ts.Close()
	o := basicOptions(ts.URL, "u", "p")
	o.SAPClient = "200"
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var lastErr error
	for r, err := range c.Stock(context.Background(), StockQuery{}).All() {
		if err != nil {
			lastErr = err
			break
		}
		got = append(got, r.Material)
	}
	if strings.Join(got, ",") != "A,B" || lastErr == nil || !strings.Contains(lastErr.Error(), "leaves service") {
		t.Fatalf("rows %v, err %v", got, lastErr)
	}
	for _, h := range hosts {
		if h != strings.TrimPrefix(ts.URL, "http://") {
			t.Fatalf("request sent to host %s", h)
		}
	}
}

func TestProductsPricesAndAvailability(t *testing.T) {
	e := newEnv(t, sapsim.Options{Products: 40, PageSize: 8}, nil)
	ctx := context.Background()
	var all []Product
	for p, err := range e.c.ProductsChangedSince(ctx, ProductQuery{Since: time.Time{}, WithDescriptions: true}).All() {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p)
	}
	if len(all) != 40 || len(all[0].Descriptions.Results) != 1 || all[0].Descriptions.Results[0].Language != "EN" {
		t.Fatalf("%d products, first %+v", len(all), all[0])
	}
	since := all[9].LastChangeDateTime.Time
	n := 0
	for p, err := range e.c.ProductsChangedSince(ctx, ProductQuery{Since: since}).All() {
		if err != nil {
			t.Fatal(err)
		}
		if !p.LastChangeDateTime.After(since) {
			t.Fatalf("product %s changed %v, not after %v", p.Product, p.LastChangeDateTime, since)
		}
		n++
	}
	if n != 30 {
		t.Fatalf("%d products changed since the 10th, want 30", n)
	}

	var prices []PriceCondition
	for pc, err := range e.c.PriceConditions(ctx, PriceQuery{ConditionType: "PPR0", Material: sapsim.ProductID(4),
		SalesOrganization: "1010", DistributionChannel: "10", ValidOn: time.Date(2025, 5, 1, 15, 0, 0, 0, time.UTC)}).All() {
		if err != nil {
			t.Fatal(err)
		}
		prices = append(prices, pc)
	}
	if len(prices) != 1 || prices[0].Record.ConditionRateValue.IsZero() || prices[0].Record.ConditionCurrency != "EUR" ||
		prices[0].Record.ConditionRecord != prices[0].ConditionRecord {
		t.Fatalf("prices %+v", prices)
	}
	for _, err := range e.c.PriceConditions(ctx, PriceQuery{Material: sapsim.ProductID(4), ValidOn: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}).All() {
		t.Fatalf("a price valid in 2020 was returned (err %v)", err)
	}

	// The price is what the simulator charges: an order of 3 costs 3 × the rate.
	o := order("PO-P", sapsim.CustomerID(0))
	o.Items = []SalesOrderItemCreate{{Material: sapsim.ProductID(4), RequestedQuantity: MustDecimal("3"), ProductionPlant: "1010"}}
	q := AvailabilityQuery{SupplyingPlant: "1010", Material: sapsim.ProductID(4), ATPCheckingRule: "A", At: time.Now()}
	before, err := e.c.DetermineAvailabilityAt(ctx, q)
	if err != nil || before.AvailableQuantityInBaseUnit.IsZero() || before.BaseUnit == "" {
		t.Fatalf("availability %+v %v", before, err)
	}
	so, err := e.c.CreateSalesOrder(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	want := prices[0].Record.ConditionRateValue.Rat()
	want.Mul(want, MustDecimal("3").Rat())
	if so.TotalNetAmount.Rat().Cmp(want) != 0 {
		t.Fatalf("total %s, want 3 × %s", so.TotalNetAmount, prices[0].Record.ConditionRateValue)
	}
	after, err := e.c.DetermineAvailabilityAt(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	diff := before.AvailableQuantityInBaseUnit.Rat()
	diff.Sub(diff, after.AvailableQuantityInBaseUnit.Rat())
	if diff.Cmp(MustDecimal("3").Rat()) != 0 && !after.AvailableQuantityInBaseUnit.IsZero() {
		t.Fatalf("availability went from %s to %s after ordering 3", before.AvailableQuantityInBaseUnit, after.AvailableQuantityInBaseUnit)
	}
	if _, err := e.c.DetermineAvailabilityAt(ctx, AvailabilityQuery{SupplyingPlant: "9999", Material: "X", ATPCheckingRule: "A", At: time.Now()}); err == nil {
		t.Fatal("availability of an unknown material succeeded")
	}
}

func TestBusinessPartners(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newEnv(t, sapsim.Options{Customers: 30, Now: func() time.Time { return time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC) }}, nil)
	ctx := context.Background()
	bp, err := e.c.GetBusinessPartner(ctx, sapsim.CustomerID(2))
	if err != nil {
		t.Fatal(err)
	}
	if bp.BusinessPartner != sapsim.CustomerID(2) || bp.CustomerData == nil || len(bp.CustomerData.SalesAreas.Results) != 1 ||
		bp.CustomerData.SalesAreas.Results[0].CustomerPaymentTerms != "0004" || bp.Metadata.ETag == "" || bp.LastChanged().IsZero() {
		t.Fatalf("partner %+v", bp)
	}
	cu, err := e.c.GetCustomer(ctx, sapsim.CustomerID(sapsim.BlockedCustomerIndex))
	if err != nil || cu.OrderIsBlockedForCustomer == "" || cu.SalesAreas.Results[0].SalesOrganization != "1010" {
		t.Fatalf("customer %+v %v", cu, err)
	}
	name := "Renamed GmbH"
	if err := e.c.UpdateBusinessPartner(ctx, bp.BusinessPartner, bp.Metadata.ETag, BusinessPartnerUpdate{OrganizationBPName1: &name}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.UpdateBusinessPartner(ctx, bp.BusinessPartner, bp.Metadata.ETag, BusinessPartnerUpdate{OrganizationBPName1: &name}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale etag: %v", err)
	}
	long := strings.Repeat("n", 41)
	var ve *ValidationError
	if err := e.c.UpdateBusinessPartner(ctx, bp.BusinessPartner, "", BusinessPartnerUpdate{OrganizationBPName1: &long}); !errors.As(err, &ve) {
		t.Fatalf("too long name: %v", err)
	}
	// Generated partners change one per day from 2024-01-01; the renamed one changed "now" (2025-02-03).
	since := start.Add(25*24*time.Hour + 12*time.Hour)
	var changed []string
	for b, err := range e.c.BusinessPartnersChangedSince(ctx, since, 4).All() {
		if err != nil {
			t.Fatal(err)
		}
		if !b.LastChanged().After(since) {
			t.Fatalf("%s changed %v", b.BusinessPartner, b.LastChanged())
		}
		changed = append(changed, b.BusinessPartner)
	}
	if !contains(changed, bp.BusinessPartner) || !contains(changed, sapsim.CustomerID(29)) || contains(changed, sapsim.CustomerID(10)) {
		t.Fatalf("changed since %v: %v", since, changed)
	}
	got, err := e.c.GetBusinessPartner(ctx, bp.BusinessPartner)
	if err != nil || got.OrganizationBPName1 != name {
		t.Fatalf("after update: %+v %v", got, err)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestDeliveryAndBillingOfAnOrder(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, nil)
	ctx := context.Background()
	so, err := e.c.CreateSalesOrder(ctx, order("PO-F", sapsim.CustomerID(0)))
	if err != nil {
		t.Fatal(err)
	}
	dn, bn, err := e.sim.Fulfil(so.SalesOrder)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.c.GetOutboundDelivery(ctx, dn)
	if err != nil || d.OverallGoodsMovementStatus != "C" || len(d.Items.Results) != 2 || d.Items.Results[0].ReferenceSDDocument != so.SalesOrder ||
		d.Items.Results[0].ActualDeliveryQuantity.Cmp(MustDecimal("2.5")) != 0 {
		t.Fatalf("delivery %+v %v", d, err)
	}
	b, err := e.c.GetBillingDocument(ctx, bn)
	if err != nil || b.TotalNetAmount.Cmp(so.TotalNetAmount) != 0 || len(b.Items.Results) != 2 || b.Items.Results[1].SalesDocument != so.SalesOrder {
		t.Fatalf("billing %+v %v", b, err)
	}
	gross := b.TotalNetAmount.Rat()
	gross.Add(gross, b.TaxAmount.Rat())
	if gross.Cmp(b.TotalGrossAmount.Rat()) != 0 {
		t.Fatalf("gross %s != net %s + tax %s", b.TotalGrossAmount, b.TotalNetAmount, b.TaxAmount)
	}
	after, err := e.c.GetSalesOrder(ctx, so.SalesOrder)
	if err != nil || after.OverallSDProcessStatus != "C" || after.OverallTotalDeliveryStatus != "C" || after.Items.Results[0].DeliveryStatus != "C" {
		t.Fatalf("order after fulfilment %+v %v", after, err)
	}
	if _, err := e.c.GetOutboundDelivery(ctx, "80000001"); err != nil {
		t.Fatalf("generated delivery: %v", err)
	}
	if _, err := e.c.GetBillingDocument(ctx, "1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown billing document: %v", err)
	}
}

func TestBatchChangesets(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, nil)
	ctx := context.Background()
	res, err := e.c.Batch(ctx, ServiceSalesOrder, []BatchPart{
		{Changeset: []BatchRequest{
			{Method: "POST", Path: "A_SalesOrder", Body: order("B-1", sapsim.CustomerID(0))},
			{Method: "POST", Path: "A_SalesOrder", Body: order("B-2", sapsim.CustomerID(0))},
		}},
		{Changeset: []BatchRequest{
			{Method: "POST", Path: "A_SalesOrder", Body: order("B-3", sapsim.CustomerID(0))},
			{Method: "POST", Path: "A_SalesOrder", Body: order("B-4", "99999999")},
		}},
		{Request: &BatchRequest{Method: "GET", Path: "A_SalesOrder?$filter=PurchaseOrderByCustomer%20eq%20'B-1'"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Failed() || len(res[0].Responses) != 2 || res[0].Responses[1].StatusCode != 201 {
		t.Fatalf("first changeset %+v", res)
	}
	if !res[1].Failed() || len(res[1].Responses) != 1 || res[1].Responses[0].Err.Code != "V1/320" {
		t.Fatalf("second changeset %+v", res[1])
	}
	if res[2].Failed() || !strings.Contains(string(res[2].Responses[0].Body), `"PurchaseOrderByCustomer":"B-1"`) {
		t.Fatalf("read part %+v", res[2])
	}
	if n := e.sim.Stats().SalesOrders; n != 2 {
		t.Fatalf("%d orders; the failed changeset must roll back", n)
	}
	if e.net.count("FETCH") != 1 {
		t.Fatal("$batch went without a CSRF token")
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	e := newEnv(t, sapsim.Options{OAuthClientID: "cid", OAuthClientSecret: "s3cret", OAuthTokenTTL: time.Hour,
		Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}, nil)
	c, err := New(Options{BaseURL: e.url, AuthMode: AuthOAuth2, OAuthTokenURL: e.url + "/oauth/token", OAuthClientID: "cid",
		OAuthClientSecret: "s3cret", OAuthScope: "API_SALES_ORDER_SRV", HTTPClient: &http.Client{Transport: e.net},
		Timeout: testTimeout, MaxResponseBytes: testMaxBytes, ReadRetries: testReadRetries})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 3 {
		if _, err := c.GetCustomer(ctx, sapsim.CustomerID(0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateSalesOrder(ctx, order("O-1", sapsim.CustomerID(0))); err != nil {
		t.Fatal(err)
	}
	if n := e.net.count("POST /oauth/token"); n != 1 {
		t.Fatalf("%d token requests, want 1 (cached)", n)
	}
	// The server expires the token: the client gets 401, drops its token, fetches a new one and retries once.
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if _, err := c.GetCustomer(ctx, sapsim.CustomerID(0)); err != nil {
		t.Fatal(err)
	}
	if n := e.net.count("POST /oauth/token"); n != 2 {
		t.Fatalf("%d token requests after expiry, want 2", n)
	}
	bad, _ := New(Options{BaseURL: e.url, AuthMode: AuthOAuth2, OAuthTokenURL: e.url + "/oauth/token", OAuthClientID: "cid",
		OAuthClientSecret: "wrong", HTTPClient: &http.Client{Transport: e.net},
		Timeout: testTimeout, MaxResponseBytes: testMaxBytes, ReadRetries: testReadRetries})
	if _, err := bad.GetCustomer(ctx, sapsim.CustomerID(0)); err == nil || !strings.Contains(err.Error(), "OAuth token") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestWrongCredentialsAndClient(t *testing.T) {
	e := newEnv(t, sapsim.Options{SAPClient: "100"}, nil)
	for name, mod := range map[string]func(*Options){
		"wrong password": func(o *Options) { o.Password = "nope" },
		"wrong client":   func(o *Options) { o.SAPClient = "200" },
	} {
		t.Run(name, func(t *testing.T) {
			o := basicOptions(e.url, "SIMUSER", "secret")
			o.HTTPClient = &http.Client{Transport: e.net}
			mod(&o)
			c, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetCustomer(context.Background(), sapsim.CustomerID(0)); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("err %v", err)
			}
		})
	}
}
