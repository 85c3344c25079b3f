package sapsim

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
)

// masterEnv is a simulator with a clock the test moves, read through the integration's own SAP client (and raw
// requests for what the client does not ask).
type masterEnv struct {
	t     *testing.T
	sim   *Server
	clock *Clock
	c     *sap.Client
	raw   *simClient
}

var start = time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)

func newMasterEnv(t *testing.T, o Options) *masterEnv {
	t.Helper()
	clock := NewClock(start)
	o.Now = clock.Now
	o.Username, o.Password = "SIMUSER", "secret"
	s := New(o)
	t.Cleanup(s.Quiesce)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	c, err := sap.New(sap.Options{BaseURL: ts.URL, AuthMode: sap.AuthBasic, Username: "SIMUSER", Password: "secret",
		Timeout: 10 * time.Second, MaxResponseBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return &masterEnv{t: t, sim: s, clock: clock, c: c, raw: &simClient{t: t, base: ts.URL, srv: s}}
}

func (e *masterEnv) products(since time.Time, pageSize int) []sap.Product {
	e.t.Helper()
	var out []sap.Product
	for p, err := range e.c.ProductsChangedSince(context.Background(), sap.ProductQuery{Since: since, WithDescriptions: true, PageSize: pageSize}).All() {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func (e *masterEnv) stock(q sap.StockQuery) []sap.StockRow {
	e.t.Helper()
	var out []sap.StockRow
	for r, err := range e.c.Stock(context.Background(), q).All() {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func (e *masterEnv) prices(q sap.PriceQuery) []sap.PriceCondition {
	e.t.Helper()
	var out []sap.PriceCondition
	for r, err := range e.c.PriceConditions(context.Background(), q).All() {
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// page is one raw collection read: its rows, count and next link.
type page struct {
	Results []map[string]any `json:"results"`
	Count   string           `json:"__count"`
	Next    string           `json:"__next"`
}

// readAll follows __next from path and returns every row and the first page's count.
func (e *masterEnv) readAll(path string) ([]map[string]any, string) {
	e.t.Helper()
	var rows []map[string]any
	count := ""
	for first := true; path != ""; first = false {
		resp, body := e.raw.do("GET", path, "", nil)
		if resp.StatusCode != 200 {
			e.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		var p struct {
			D page `json:"d"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			e.t.Fatalf("GET %s: %v", path, err)
		}
		if first {
			count = p.D.Count
		}
		rows = append(rows, p.D.Results...)
		path = ""
		if p.D.Next != "" {
			u, err := url.Parse(p.D.Next)
			if err != nil {
				e.t.Fatal(err)
			}
			path = u.RequestURI()
		}
	}
	return rows, count
}

// entity reads one entity (or a navigation property of one).
func (e *masterEnv) entity(path string) (int, map[string]any) {
	e.t.Helper()
	resp, body := e.raw.do("GET", path, "", nil)
	var d struct {
		D map[string]any `json:"d"`
	}
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(body, &d); err != nil {
			e.t.Fatalf("GET %s: %v %s", path, err, body)
		}
	}
	return resp.StatusCode, d.D
}

func q(s string) string { return url.QueryEscape(s) }

const (
	stockPath = "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV/"
	pricePath = "/sap/opu/odata/sap/API_SLSPRICINGCONDITIONRECORD_SRV/"
)
