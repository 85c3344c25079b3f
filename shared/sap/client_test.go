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

// countingTransport records every request that reaches the network, for asserting retries and CSRF fetches.
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	seen []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	what := r.Method + " " + r.URL.Path
	if r.Header.Get("X-CSRF-Token") == "Fetch" {
		what = "FETCH " + r.URL.Path
	}
	c.seen = append(c.seen, what)
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *countingTransport) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.seen {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// The values the tests give the settings a client takes: the client has no defaults of its own, and these are
// not the app's (shared/config holds those). A test that depends on one names it.
const (
	testTimeout     = 5 * time.Second
	testMaxBytes    = 32 << 20
	testReadRetries = 3
)

// basicOptions is a complete Options for a basic-auth client of base, with the test values above.
func basicOptions(base, user, password string) Options {
	return Options{BaseURL: base, AuthMode: AuthBasic, Username: user, Password: password,
		Timeout: testTimeout, MaxResponseBytes: testMaxBytes, ReadRetries: testReadRetries}
}

type env struct {
	sim *sapsim.Server
	url string
	c   *Client
	net *countingTransport
}

func newEnv(t *testing.T, so sapsim.Options, mod func(*Options)) *env {
	t.Helper()
	if so.Username == "" && so.OAuthClientID == "" {
		so.Username, so.Password = "SIMUSER", "secret"
	}
	sim := sapsim.New(so)
	t.Cleanup(sim.Quiesce) // after the server has closed: cleanups run last first
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	ct := &countingTransport{next: ts.Client().Transport}
	o := basicOptions(ts.URL, "SIMUSER", "secret")
	o.HTTPClient = &http.Client{Transport: ct}
	o.RetryBaseDelay, o.RetryMaxDelay = time.Millisecond, 20*time.Millisecond
	if mod != nil {
		mod(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, url: ts.URL, c: c, net: ct}
}

func order(po, soldTo string) SalesOrderCreate {
	return SalesOrderCreate{
		SalesOrderType: "OR", SalesOrganization: "1010", DistributionChannel: "10", OrganizationDivision: "00",
		SoldToParty: soldTo, PurchaseOrderByCustomer: po, RequestedDeliveryDate: Date(2025, 6, 30),
		Items: []SalesOrderItemCreate{
			{Material: sapsim.ProductID(0), RequestedQuantity: MustDecimal("2.5"), RequestedQuantityUnit: "EA"},
			{Material: sapsim.ProductID(1), RequestedQuantity: MustDecimal("1")},
		},
	}
}

func TestCreateFindAndReadSalesOrder(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, func(o *Options) { o.SAPClient = "100" })
	ctx := context.Background()
	so, err := e.c.CreateSalesOrder(ctx, order("PO-4711", sapsim.CustomerID(0)))
	if err != nil {
		t.Fatal(err)
	}
	if so.SalesOrder != "1" || len(so.Items.Results) != 2 || so.Items.Results[1].SalesOrderItem != "20" ||
		so.TotalNetAmount.IsZero() || so.OverallSDProcessStatus != "A" || so.Metadata.ETag == "" {
		t.Fatalf("created %+v", so)
	}
	sum := so.Items.Results[0].NetAmount.Rat()
	sum.Add(sum, so.Items.Results[1].NetAmount.Rat())
	if sum.Cmp(so.TotalNetAmount.Rat()) != 0 {
		t.Fatalf("total %s is not the sum of the items", so.TotalNetAmount)
	}
	if !so.RequestedDeliveryDate.Equal(time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("requested delivery date %v", so.RequestedDeliveryDate)
	}
	if _, err := e.c.CreateSalesOrder(ctx, order("PO-4712", sapsim.CustomerID(0))); err != nil {
		t.Fatal(err)
	}
	found, err := e.c.FindSalesOrders(ctx, "PO-4711", sapsim.CustomerID(0))
	if err != nil || len(found) != 1 || found[0].SalesOrder != "1" || len(found[0].Items.Results) != 2 {
		t.Fatalf("find: %v %+v", err, found)
	}
	if none, err := e.c.FindSalesOrders(ctx, "PO-4711", sapsim.CustomerID(1)); err != nil || len(none) != 0 {
		t.Fatalf("find for another sold-to: %v %d", err, len(none))
	}
	if none, err := e.c.FindSalesOrders(ctx, "x' or SoldToParty ne '", sapsim.CustomerID(0)); err != nil || len(none) != 0 {
		t.Fatalf("an injection attempt matched: %v %d", err, len(none))
	}
	got, err := e.c.GetSalesOrder(ctx, "1")
	if err != nil || got.PurchaseOrderByCustomer != "PO-4711" || got.Items.Results[0].RequestedQuantity.Cmp(MustDecimal("2.5")) != 0 ||
		got.OverallTotalDeliveryStatus != "A" || got.OverallSDDocumentRejectionSts != "A" {
		t.Fatalf("get: %v %+v", err, got)
	}
	if _, err := e.c.GetSalesOrder(ctx, "404"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing order: %v", err)
	}
	// ETag / If-Match.
	po := "PO-4711-B"
	if err := e.c.UpdateSalesOrder(ctx, "1", got.Metadata.ETag, SalesOrderUpdate{PurchaseOrderByCustomer: &po}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.UpdateSalesOrder(ctx, "1", got.Metadata.ETag, SalesOrderUpdate{PurchaseOrderByCustomer: &po}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("stale etag: %v", err)
	}
	if e.net.count("FETCH") != 1 {
		t.Fatalf("%d CSRF fetches for four writes, want 1", e.net.count("FETCH"))
	}
}

func TestSAPBusinessErrorIsTyped(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, nil)
	_, err := e.c.CreateSalesOrder(context.Background(), order("PO-1", "99999999"))
	var se *Error
	if !errors.As(err, &se) || se.StatusCode != 400 || se.Code != "V1/320" || !se.BusinessError() || se.TransactionID == "" ||
		len(se.Details) == 0 || se.Temporary() {
		t.Fatalf("got %v (%+v)", err, se)
	}
	if e.net.count("POST") != 1 {
		t.Fatalf("%d POSTs, a business error must not be retried", e.net.count("POST"))
	}
}

func TestClientSideValidation(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, nil)
	o := order(strings.Repeat("P", 36), sapsim.CustomerID(0))
	o.Items[0].RequestedQuantity = MustDecimal("1.0005")
	_, err := e.c.CreateSalesOrder(context.Background(), o)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("got %v", err)
	}
	if n := len(e.net.seen); n != 0 {
		t.Fatalf("%d requests sent for an invalid payload", n)
	}
}

func TestCSRFExpiryIsTransparent(t *testing.T) {
	cases := []struct {
		name   string
		expire func(*sapsim.Server)
	}{
		{"session expired", func(s *sapsim.Server) { s.ExpireCSRFTokens() }},
		{"token rejected once", func(s *sapsim.Server) { s.SetFaults(sapsim.Faults{ExpireCSRFNextWrite: 1}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sapsim.Options{}, nil)
			ctx := context.Background()
			if _, err := e.c.CreateSalesOrder(ctx, order("PO-1", sapsim.CustomerID(0))); err != nil {
				t.Fatal(err)
			}
			tc.expire(e.sim)
			if _, err := e.c.CreateSalesOrder(ctx, order("PO-2", sapsim.CustomerID(0))); err != nil {
				t.Fatalf("write after expiry: %v", err)
			}
			if f, p := e.net.count("FETCH"), e.net.count("POST"); f != 2 || p != 3 {
				t.Fatalf("%d fetches and %d POSTs, want 2 and 3 (one replay)", f, p)
			}
			if n := e.sim.Stats().SalesOrders; n != 2 {
				t.Fatalf("%d orders, want 2", n)
			}
		})
	}
	t.Run("rejected twice gives up", func(t *testing.T) {
		e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{ExpireCSRFNextWrite: 2}}, nil)
		_, err := e.c.CreateSalesOrder(context.Background(), order("PO-1", sapsim.CustomerID(0)))
		if !errors.Is(err, ErrCSRFRequired) || errors.Is(err, ErrOutcomeUnknown) || e.net.count("POST") != 2 {
			t.Fatalf("err %v after %d POSTs", err, e.net.count("POST"))
		}
	})
}

func TestConcurrentWritersShareOneCSRFFetch(t *testing.T) {
	e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{LatencyMin: sapsim.Duration(20 * time.Millisecond), LatencyMax: sapsim.Duration(20 * time.Millisecond)}}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			_, err := e.c.CreateSalesOrder(context.Background(), order(fmt.Sprintf("PO-%d", i), sapsim.CustomerID(0)))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.net.count("FETCH"); n != 1 {
		t.Fatalf("%d CSRF fetches for 10 concurrent writers, want 1", n)
	}
	if n := e.sim.Stats().SalesOrders; n != 10 {
		t.Fatalf("%d orders", n)
	}
}

// A business error with a very long message (200 KB) keeps its code and its whole text: cutting the body would
// turn SAP's refusal into an unreadable answer that callers retry for ever.
func TestALongBusinessErrorKeepsItsCode(t *testing.T) {
	long := strings.Repeat("Open item 4711 overdue; ", 200_000/24)
	e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{RejectCreateNext: 1, RejectCode: "V1/888", RejectMessage: long}}, nil)
	_, err := e.c.CreateSalesOrder(context.Background(), order("PO-LONG", sapsim.CustomerID(0)))
	var se *Error
	if !errors.As(err, &se) || se.Code != "V1/888" || !se.BusinessError() || se.Message != long {
		t.Fatalf("got code %q, business %v, message of %d bytes (want %d): %v", se.Code, se != nil && se.BusinessError(), len(se.Message), len(long), err)
	}
	// The fault refused one create only, and stored nothing.
	if _, err := e.c.CreateSalesOrder(context.Background(), order("PO-LONG", sapsim.CustomerID(0))); err != nil {
		t.Fatalf("the create after the refused one: %v", err)
	}
}
