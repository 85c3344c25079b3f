package dataverse_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/shared/dataverse"
)

// countingTransport counts requests by method and path; a seam for asserting on the wire.
type countingTransport struct {
	next  http.RoundTripper
	n     atomic.Int64
	onReq func(*http.Request)
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/api/data/") {
		c.n.Add(1)
	}
	if c.onReq != nil {
		c.onReq(r)
	}
	return c.next.RoundTrip(r)
}

type env struct {
	sim    *dvsim.Running
	client *dataverse.Client
	wire   *countingTransport
}

// testOptions is a complete Options for orgURL with the values the tests give the settings: the client has no
// defaults of its own, and these are not the app's (shared/config holds those). A test that depends on one sets it.
func testOptions(orgURL string, tokens dataverse.TokenSource) dataverse.Options {
	return dataverse.Options{URL: orgURL, Tokens: tokens, Timeout: 30 * time.Second,
		MaxConcurrency: dataverse.HardMaxConcurrency, InitialConcurrency: 4, MaxRetries: 8, PageSize: 5000}
}

// newEnv starts a simulator and a client of it with testOptions, changed by mod when it is not nil.
func newEnv(t *testing.T, so dvsim.Options, mod func(*dataverse.Options)) *env {
	t.Helper()
	if so.Clients == nil {
		so.Clients = map[string]string{"app-1": "s3cret"}
	}
	sim, err := dvsim.Start(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	wire := &countingTransport{next: http.DefaultTransport}
	co := testOptions(sim.URL, &dataverse.ClientSecretSource{AuthorityHost: sim.URL, TenantID: "tenant-1", ClientID: "app-1",
		ClientSecret: "s3cret", Scope: dataverse.Scope(sim.URL)})
	if mod != nil {
		mod(&co)
	}
	co.HTTPClient = &http.Client{Transport: wire}
	c, err := dataverse.New(co)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, client: c, wire: wire}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// The public cloud is DATAVERSE_AUTHORITY_HOST's default, never the token source's own: without a host it
// refuses rather than signing in somewhere the settings did not name.
func TestClientSecretSourceNeedsAnAuthorityHost(t *testing.T) {
	var sent atomic.Int64
	wire := &countingTransport{next: http.DefaultTransport, onReq: func(*http.Request) { sent.Add(1) }}
	src := &dataverse.ClientSecretSource{TenantID: "t1", ClientID: "app-1", ClientSecret: "s3cret", Scope: "https://org/.default",
		HTTPClient: &http.Client{Transport: wire, Timeout: time.Second}}
	if _, _, err := src.Token(ctx(t)); err == nil || !strings.Contains(err.Error(), "DATAVERSE_AUTHORITY_HOST") {
		t.Fatalf("Token() without an authority host: %v", err)
	}
	if sent.Load() != 0 {
		t.Fatal("a token request was sent")
	}
}

func TestClientSecretToken(t *testing.T) {
	sim, err := dvsim.Start(dvsim.Options{Clients: map[string]string{"app-1": "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	tests := []struct {
		name, client, secret, scope string
		wantCode                    string
	}{
		{"valid", "app-1", "s3cret", dataverse.Scope(sim.URL), ""},
		{"wrong secret", "app-1", "nope", dataverse.Scope(sim.URL), "invalid_client"},
		{"unknown client", "app-2", "s3cret", dataverse.Scope(sim.URL), "invalid_client"},
		{"bad scope", "app-1", "s3cret", sim.URL, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &dataverse.ClientSecretSource{AuthorityHost: sim.URL, TenantID: "t1", ClientID: tt.client,
				ClientSecret: tt.secret, Scope: tt.scope}
			tok, exp, err := src.Token(ctx(t))
			if tt.wantCode == "" {
				if err != nil || tok == "" || time.Until(exp) < 50*time.Minute {
					t.Fatalf("Token() = %q, %v, %v; want a token valid for about an hour", tok, exp, err)
				}
				return
			}
			var te *dataverse.TokenError
			if !errors.As(err, &te) || te.Code != tt.wantCode {
				t.Fatalf("Token() error = %v; want TokenError %s", err, tt.wantCode)
			}
			if strings.Contains(err.Error(), tt.secret) && tt.secret != "" {
				t.Fatalf("error %q leaks the secret", err)
			}
		})
	}
}

// fakeTokens is a func-field fake TokenSource.
type fakeTokens struct {
	TokenFunc func(context.Context) (string, time.Time, error)
}

func (f *fakeTokens) Token(ctx context.Context) (string, time.Time, error) { return f.TokenFunc(ctx) }

var _ dataverse.TokenSource = (*fakeTokens)(nil)

func TestCachedSourceRefreshesEarly(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	calls := 0
	fail := false
	src := &fakeTokens{TokenFunc: func(context.Context) (string, time.Time, error) {
		if fail {
			return "", time.Time{}, errors.New("entra down")
		}
		calls++
		return fmt.Sprintf("tok-%d", calls), now.Add(time.Hour), nil
	}}
	c := &dataverse.CachedSource{Source: src, RefreshBefore: 5 * time.Minute, Now: func() time.Time { return now }}
	steps := []struct {
		advance   time.Duration
		fail      bool
		wantToken string
		wantErr   bool
	}{
		{0, false, "tok-1", false},
		{30 * time.Minute, false, "tok-1", false}, // cached
		{26 * time.Minute, false, "tok-2", false}, // 4 minutes before expiry: refreshed early
		{56 * time.Minute, true, "tok-2", false},  // refresh fails but the token is still valid
		{5 * time.Minute, true, "", true},         // expired and the refresh fails
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		fail = s.fail
		tok, _, err := c.Token(context.Background())
		if (err != nil) != s.wantErr || tok != s.wantToken {
			t.Fatalf("step %d: Token() = %q, %v; want %q (error %v)", i, tok, err, s.wantToken, s.wantErr)
		}
	}
}

// New takes every setting's value from its caller: a value left at zero is refused, naming the setting, rather
// than replaced by a default of the client's own (shared/config holds the only ones). Zero retries is a value,
// "no retries".
func TestNewRefusesMissingSettings(t *testing.T) {
	complete := testOptions("https://org.crm.dynamics.com", &fakeTokens{})
	tests := []struct {
		name string
		edit func(*dataverse.Options)
		want []string // parts of the error; none when New must accept
	}{
		{"complete", nil, nil},
		{"no retries is a value", func(o *dataverse.Options) { o.MaxRetries = 0 }, nil},
		{"no timeout", func(o *dataverse.Options) { o.Timeout = 0 }, []string{"DATAVERSE_TIMEOUT"}},
		{"no concurrency", func(o *dataverse.Options) { o.MaxConcurrency = 0 }, []string{"DATAVERSE_MAX_CONCURRENCY"}},
		{"no initial concurrency", func(o *dataverse.Options) { o.InitialConcurrency = 0 }, []string{"DATAVERSE_INITIAL_CONCURRENCY"}},
		{"initial above the ceiling", func(o *dataverse.Options) { o.MaxConcurrency, o.InitialConcurrency = 4, 8 }, []string{"DATAVERSE_INITIAL_CONCURRENCY"}},
		{"no page size", func(o *dataverse.Options) { o.PageSize = 0 }, []string{"DATAVERSE_PAGE_SIZE"}},
		{"negative retries", func(o *dataverse.Options) { o.MaxRetries = -1 }, []string{"DATAVERSE_MAX_RETRIES"}},
		{"everything wrong", func(o *dataverse.Options) { *o = dataverse.Options{URL: "ftp://x", MaxConcurrency: 60, PageSize: 9000} },
			[]string{"URL", "Tokens", "DATAVERSE_TIMEOUT", "DATAVERSE_MAX_CONCURRENCY", "DATAVERSE_PAGE_SIZE"}},
		{"path in URL", func(o *dataverse.Options) { o.URL = "https://org.crm.dynamics.com/api" }, []string{"org root"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := complete
			if tt.edit != nil {
				tt.edit(&o)
			}
			_, err := dataverse.New(o)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("New() succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestCreateRetrieveExpand(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	seeded, err := e.sim.Seed(dvsim.SeedOptions{Accounts: 2, Products: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	w, err := e.client.Create(c, "salesorders", dataverse.Record{
		"name":                          "PO 4711",
		"customerid_account@odata.bind": "/accounts(accountnumber='0000100002')",
		"pricelevelid@odata.bind":       "/pricelevels(" + seeded.PriceLevel + ")",
		"order_details": []any{
			map[string]any{"productid@odata.bind": "/products(" + seeded.Products[0] + ")", "quantity": json.Number("10.5"),
				"priceperunit": json.Number("12.3456789012"), "ispriceoverridden": true},
			map[string]any{"isproductoverridden": true, "productdescription": "Freight", "quantity": json.Number("1")},
		},
	}, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if w.ID == "" || w.ETag == "" {
		t.Fatalf("Create returned %+v; want id and etag", w)
	}
	rec, err := e.client.Retrieve(c, "salesorders", dataverse.ID(w.ID), &dataverse.RetrieveOptions{
		Select: []string{"name", "statecode"},
		Expand: []string{"order_details($select=quantity,priceperunit,productdescription;$expand=productid($select=productnumber))",
			"customerid_account($select=accountnumber)"},
	})
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if rec.String("name") != "PO 4711" || rec.Number("statecode") != "0" {
		t.Errorf("order = %v", rec)
	}
	if _, ok := rec["submitstatus"]; ok {
		t.Errorf("$select ignored: %v", rec)
	}
	if got := rec.Record("customerid_account").String("accountnumber"); got != "0000100002" {
		t.Errorf("customer accountnumber = %q", got)
	}
	lines := rec.Records("order_details")
	if len(lines) != 2 {
		t.Fatalf("lines = %v", lines)
	}
	var found bool
	for _, l := range lines {
		if l.Number("priceperunit") == "12.3456789012" && l.Number("quantity") == "10.5" {
			found = true
			if l.Record("productid").String("productnumber") != "MAT-000001" {
				t.Errorf("line product = %v", l["productid"])
			}
		}
	}
	if !found {
		t.Errorf("exact decimal line not found: %v", lines)
	}
}

func TestFilterEscaping(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	for i, n := range []string{"O'Hara & Sons", "O", "Hara"} {
		if _, err := e.sim.Insert("accounts", map[string]any{"name": n, "accountnumber": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := dataverse.Filterf("name eq %s", "O'Hara & Sons")
	if err != nil {
		t.Fatal(err)
	}
	if f != "name eq 'O''Hara & Sons'" {
		t.Fatalf("Filterf = %q", f)
	}
	var names []string
	for r, err := range e.client.List(ctx(t), "accounts", &dataverse.Query{Select: []string{"name"}, Filter: f}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, r.String("name"))
	}
	if len(names) != 1 || names[0] != "O'Hara & Sons" {
		t.Fatalf("filtered names = %v", names)
	}
	if _, err := dataverse.Filterf("accountid eq %s", dataverse.GUID("not-a-guid")); err == nil {
		t.Error("Filterf accepted a bad GUID")
	}
}

func TestUpdateWithETag(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	id, err := e.sim.Insert("accounts", map[string]any{"name": "A", "accountnumber": "1"})
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	rec, err := e.client.Retrieve(c, "accounts", dataverse.ID(id), nil)
	if err != nil {
		t.Fatal(err)
	}
	old := rec.ETag()
	if _, err := e.client.Update(c, "accounts", dataverse.ID(id), dataverse.Record{"name": "B"}, &dataverse.UpdateOptions{ETag: old}); err != nil {
		t.Fatalf("first update: %v", err)
	}
	tests := []struct {
		name string
		key  dataverse.Key
		etag string
		want dataverse.Kind
	}{
		{"stale etag", dataverse.ID(id), old, dataverse.KindConcurrency},
		{"missing row", dataverse.ID("00000000-0000-0000-0000-0000000000ff"), "", dataverse.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.Update(c, "accounts", tt.key, dataverse.Record{"name": "C"}, &dataverse.UpdateOptions{ETag: tt.etag})
			var de *dataverse.Error
			if !errors.As(err, &de) || de.Kind != tt.want {
				t.Fatalf("Update error = %v; want kind %v", err, tt.want)
			}
		})
	}
	if e.sim.Count("accounts") != 1 {
		t.Error("an update created a row")
	}
	got, _ := e.sim.Get("accounts", id)
	if got["name"] != "B" {
		t.Errorf("name = %v; the stale update must not apply", got["name"])
	}
}

func TestUpsertModes(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	c := ctx(t)
	key := dataverse.AltKey("accountnumber", "10100001")
	steps := []struct {
		name        string
		mode        dataverse.UpsertMode
		rec         dataverse.Record
		wantKind    dataverse.Kind // KindOther means success
		wantCreated bool
		wantName    string
	}{
		{"update-only on a missing row", dataverse.UpdateOnly, dataverse.Record{"name": "x"}, dataverse.KindNotFound, false, ""},
		{"upsert creates", dataverse.Upsert, dataverse.Record{"name": "Contoso", "accountnumber": "10100001"}, dataverse.KindOther, true, "Contoso"},
		{"upsert updates", dataverse.Upsert, dataverse.Record{"name": "Contoso AG"}, dataverse.KindOther, false, "Contoso AG"},
		{"create-only on an existing row", dataverse.CreateOnly, dataverse.Record{"name": "dup"}, dataverse.KindDuplicate, false, "Contoso AG"},
		{"update-only on an existing row", dataverse.UpdateOnly, dataverse.Record{"name": "Contoso SE"}, dataverse.KindOther, false, "Contoso SE"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			w, err := e.client.Upsert(c, "accounts", key, s.rec, &dataverse.UpsertOptions{Mode: s.mode, Return: true})
			if s.wantKind != dataverse.KindOther {
				if !dataverse.IsKind(err, s.wantKind) {
					t.Fatalf("Upsert error = %v; want %v", err, s.wantKind)
				}
			} else if err != nil {
				t.Fatalf("Upsert: %v", err)
			} else if w.Created != s.wantCreated {
				t.Errorf("Created = %v; want %v", w.Created, s.wantCreated)
			}
			rows := e.sim.Find("accounts", "accountnumber", "10100001")
			if s.wantName == "" {
				if len(rows) != 0 {
					t.Fatalf("rows = %v; want none", rows)
				}
				return
			}
			if len(rows) != 1 || rows[0]["name"] != s.wantName {
				t.Fatalf("rows = %v; want one named %q", rows, s.wantName)
			}
		})
	}
}

func TestAltKeyRejectsUnsafeValues(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	for _, v := range []string{"10/1", "a+b", "50%", `a\b`, "x?y"} {
		t.Run(v, func(t *testing.T) {
			_, err := e.client.Upsert(ctx(t), "accounts", dataverse.AltKey("accountnumber", v), dataverse.Record{"name": "x"}, nil)
			if err == nil || !strings.Contains(err.Error(), "does not accept") {
				t.Fatalf("Upsert(%q) error = %v", v, err)
			}
		})
	}
	if n := e.wire.n.Load(); n != 0 {
		t.Errorf("%d requests sent for unusable keys", n)
	}
}

func TestPagingStreams(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, func(o *dataverse.Options) { o.PageSize = 10 })
	if _, err := e.sim.Seed(dvsim.SeedOptions{Accounts: 25}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		stopAfter int
		wantRows  int
		wantReqs  int64
	}{
		{"all pages", 0, 25, 3},
		{"stop early", 5, 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.wire.n.Load()
			seen := map[string]bool{}
			for r, err := range e.client.List(ctx(t), "accounts", &dataverse.Query{Select: []string{"accountnumber"}}) {
				if err != nil {
					t.Fatal(err)
				}
				seen[r.String("accountid")] = true
				if tt.stopAfter > 0 && len(seen) == tt.stopAfter {
					break
				}
			}
			if len(seen) != tt.wantRows {
				t.Errorf("rows = %d; want %d", len(seen), tt.wantRows)
			}
			if got := e.wire.n.Load() - before; got != tt.wantReqs {
				t.Errorf("requests = %d; want %d", got, tt.wantReqs)
			}
		})
	}
}

func TestFulfillSalesOrderAction(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	seeded, err := e.sim.Seed(dvsim.SeedOptions{Accounts: 1, Products: 1, Orders: 1, LinesPerOrder: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	id := seeded.Orders[0]
	_, err = e.client.Action(c, "salesorders/Microsoft.Dynamics.CRM.FulfillSalesOrder", map[string]any{
		"OrderClose": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.orderclose", "subject": "SAP delivery 80001234",
			"salesorderid@odata.bind": "/salesorders(" + id + ")"},
		"Status": 100001,
	}, nil)
	if err != nil {
		t.Fatalf("FulfillSalesOrder: %v", err)
	}
	got, _ := e.sim.Get("salesorders", id)
	if got["statecode"] != json.Number("3") || got["statuscode"] != json.Number("100001") {
		t.Errorf("order state = %v/%v; want 3/100001", got["statecode"], got["statuscode"])
	}
	// A fulfilled order is read-only.
	_, err = e.client.Update(c, "salesorders", dataverse.ID(id), dataverse.Record{"submitstatusdescription": "late"}, nil)
	if !dataverse.IsKind(err, dataverse.KindBadRequest) {
		t.Errorf("update of a fulfilled order: %v; want a bad request", err)
	}
}

func TestTypedErrors(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	c := ctx(t)
	tests := []struct {
		name     string
		call     func() error
		wantKind dataverse.Kind
		wantCode string
	}{
		{"unknown column", func() error {
			_, err := e.client.Create(c, "accounts", dataverse.Record{"name": "x", "sap_nope": "1"}, nil)
			return err
		}, dataverse.KindBadRequest, "0x80060888"},
		{"wrong type", func() error {
			_, err := e.client.Create(c, "accounts", dataverse.Record{"name": "x", "creditlimit": "12.50"}, nil)
			return err
		}, dataverse.KindBadRequest, "0x80040203"},
		{"too long for the column", func() error {
			_, err := e.client.Create(c, "accounts", dataverse.Record{"name": strings.Repeat("x", 161)}, nil)
			return err
		}, dataverse.KindBadRequest, "0x80044331"},
		{"retrieve missing", func() error {
			_, err := e.client.Retrieve(c, "accounts", dataverse.ID("00000000-0000-0000-0000-000000000001"), nil)
			return err
		}, dataverse.KindNotFound, dataverse.CodeObjectDoesNotExist},
		{"duplicate alternate key on create", func() error {
			if _, err := e.client.Create(c, "accounts", dataverse.Record{"name": "a", "accountnumber": "A1"}, nil); err != nil {
				return err
			}
			_, err := e.client.Create(c, "accounts", dataverse.Record{"name": "a", "accountnumber": "A1"}, nil)
			return err
		}, dataverse.KindDuplicate, dataverse.CodeDuplicateRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var de *dataverse.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *dataverse.Error", err)
			}
			if de.Kind != tt.wantKind || de.Code != tt.wantCode {
				t.Fatalf("kind/code = %v/%s; want %v/%s (%v)", de.Kind, de.Code, tt.wantKind, tt.wantCode, err)
			}
		})
	}
}

func TestBadTokenIsAuthError(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, func(o *dataverse.Options) {
		o.Tokens = &fakeTokens{TokenFunc: func(context.Context) (string, time.Time, error) {
			return "forged", time.Now().Add(time.Hour), nil
		}}
	})
	_, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID("00000000-0000-0000-0000-000000000001"), nil)
	if !dataverse.IsKind(err, dataverse.KindAuth) {
		t.Fatalf("error = %v; want an auth error", err)
	}
}

func ctxBG() context.Context { return context.Background() }

func TestAltKeyWithSpacesQuotesAndUnicode(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	for _, v := range []string{"A 1", "O'Hara", "Müller #2"} {
		t.Run(v, func(t *testing.T) {
			if _, err := e.client.Upsert(ctx(t), "accounts", dataverse.AltKey("accountnumber", v), dataverse.Record{"name": v}, nil); err != nil {
				t.Fatal(err)
			}
			rec, err := e.client.Retrieve(ctx(t), "accounts", dataverse.AltKey("accountnumber", v), &dataverse.RetrieveOptions{Select: []string{"name", "accountnumber"}})
			if err != nil || rec.String("accountnumber") != v || rec.String("name") != v {
				t.Fatalf("Retrieve = %v, %v", rec, err)
			}
		})
	}
}

func TestCreateReturnAndDelete(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	c := ctx(t)
	units := seedUnits(t, e)
	w, err := e.client.Create(c, "products", withUnits(dataverse.Record{"name": "P", "productnumber": "P-1", "price": json.Number("19.990")}, units),
		&dataverse.CreateOptions{Return: true, Select: []string{"productnumber", "price"}})
	if err != nil {
		t.Fatal(err)
	}
	if !w.Created || w.Record.Number("price") != "19.990" || w.Record.String("productid") != w.ID || w.ETag == "" {
		t.Fatalf("Create = %+v", w)
	}
	if _, err := e.client.Update(c, "products", dataverse.ID(w.ID), dataverse.Record{"name": "P2"}, nil); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		key  dataverse.Key
		etag string
		want dataverse.Kind // KindOther: success
	}{
		{"stale etag", dataverse.ID(w.ID), w.ETag, dataverse.KindConcurrency},
		{"by alternate key", dataverse.AltKey("productnumber", "P-1"), "", dataverse.KindOther},
		{"already gone", dataverse.ID(w.ID), "", dataverse.KindNotFound},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			err := e.client.Delete(c, "products", s.key, &dataverse.DeleteOptions{ETag: s.etag})
			if s.want == dataverse.KindOther {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !dataverse.IsKind(err, s.want) {
				t.Fatalf("Delete error = %v; want %v", err, s.want)
			}
		})
	}
	if e.sim.Count("products") != 0 {
		t.Error("product still there")
	}
	res, err := e.client.CreateMultiple(c, "products", products(5, 100, units), nil)
	if err != nil || res.Fallback || e.sim.Count("products") != 5 {
		t.Fatalf("CreateMultiple: %+v %v (rows %d)", res, err, e.sim.Count("products"))
	}
	for i, id := range res.IDs {
		row, ok := e.sim.Get("products", id)
		if !ok || row["productnumber"] != fmt.Sprintf("P-%05d", 100+i) {
			t.Errorf("id %d = %s: %v", i, id, row)
		}
	}
}
