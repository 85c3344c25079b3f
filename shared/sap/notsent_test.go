package sap

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// closedPort is an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// writesTo sends reads (the CSRF fetch) to the SAP under test and writes through another transport to host, so a
// write can fail in ways its CSRF fetch did not.
type writesTo struct {
	reads, writes http.RoundTripper
	scheme, host  string
}

func (w *writesTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if isRead(r.Method) {
		return w.reads.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = w.scheme, w.host
	return w.writes.RoundTrip(r)
}

// TestWhetherAFailedWriteReachedSAP pins which failures of a create carry ErrNotSent (safe to send again) and which
// ErrOutcomeUnknown (SAP may have the order): only a write that never had a connection, or never left the client,
// is provably not sent.
func TestWhetherAFailedWriteReachedSAP(t *testing.T) {
	sim := sapsim.New(sapsim.Options{Username: "SIMUSER", Password: "secret"})
	t.Cleanup(sim.Quiesce)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	untrusted := httptest.NewUnstartedServer(http.NotFoundHandler())
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is the point
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a closed connection only once the body is read
		select {                           // holds the create until the client gives up
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "500")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"d":{"SalesOrder":"4`))
	}))
	t.Cleanup(broken.Close)
	fetch503 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><body>Service Unavailable</body></html>"))
	}))
	t.Cleanup(fetch503.Close)
	dnsFails := &http.Transport{DialContext: func(_ context.Context, _, addr string) (net.Conn, error) {
		return nil, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
	}}
	host := func(s *httptest.Server) string { u, _ := url.Parse(s.URL); return u.Host }
	plain := ts.Client().Transport

	cases := []struct {
		name      string
		base      string
		transport http.RoundTripper
		faults    sapsim.Faults
		timeout   time.Duration
		notSent   bool
		unknown   bool
		status    int // of an *Error in the chain, 0 for none
	}{
		{"CSRF fetch refused", "http://" + closedPort(t), nil, sapsim.Faults{}, 0, true, false, 0},
		{"CSRF fetch answered 503", fetch503.URL, nil, sapsim.Faults{}, 0, true, false, 503},
		{"write refused", ts.URL, &writesTo{reads: plain, writes: http.DefaultTransport, scheme: "http", host: closedPort(t)}, sapsim.Faults{}, 0, true, false, 0},
		{"write DNS failure", ts.URL, &writesTo{reads: plain, writes: dnsFails, scheme: "http", host: "sap.invalid"}, sapsim.Faults{}, 0, true, false, 0},
		{"write TLS handshake failure", ts.URL, &writesTo{reads: plain, writes: &http.Transport{}, scheme: "https", host: host(untrusted)}, sapsim.Faults{}, 0, true, false, 0},
		{"reset after sending", ts.URL, nil, sapsim.Faults{ResetNext: 1, WritesOnly: true}, 0, false, true, 0},
		{"committed, answer dropped", ts.URL, nil, sapsim.Faults{DropCreateNext: 1}, 0, false, true, 0},
		{"timeout after sending", ts.URL, &writesTo{reads: plain, writes: http.DefaultTransport, scheme: "http", host: host(slow)}, sapsim.Faults{}, 200 * time.Millisecond, false, true, 0},
		{"body broke off", ts.URL, &writesTo{reads: plain, writes: http.DefaultTransport, scheme: "http", host: host(broken)}, sapsim.Faults{}, 0, false, true, 0},
		{"committed, then a gateway 504", ts.URL, nil, sapsim.Faults{CommitThenGatewayNext: 1}, 0, false, false, 504},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sim.SetFaults(tc.faults)
			defer sim.SetFaults(sapsim.Faults{})
			tr := tc.transport
			if tr == nil {
				tr = plain
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			o := basicOptions(tc.base, "SIMUSER", "secret")
			o.HTTPClient, o.Timeout, o.ReadRetries = &http.Client{Transport: tr}, timeout, 0
			c, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CreateSalesOrder(context.Background(), order("PO-SENT", sapsim.CustomerID(0)))
			if err == nil {
				t.Fatal("the create succeeded")
			}
			if errors.Is(err, ErrNotSent) != tc.notSent || errors.Is(err, ErrOutcomeUnknown) != tc.unknown {
				t.Fatalf("%v: not sent %v (want %v), outcome unknown %v (want %v)", err,
					errors.Is(err, ErrNotSent), tc.notSent, errors.Is(err, ErrOutcomeUnknown), tc.unknown)
			}
			var se *Error
			if got := errors.As(err, &se); got != (tc.status != 0) || got && se.StatusCode != tc.status {
				t.Fatalf("%v: *Error in the chain %v, want status %d", err, got, tc.status)
			}
		})
	}
	t.Run("a gateway page becomes a readable message", func(t *testing.T) {
		sim.SetFaults(sapsim.Faults{CommitThenGatewayNext: 1, GatewayStatus: 502})
		defer sim.SetFaults(sapsim.Faults{})
		o := basicOptions(ts.URL, "SIMUSER", "secret")
		o.HTTPClient = &http.Client{Transport: plain}
		c, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.CreateSalesOrder(context.Background(), order("PO-GW", sapsim.CustomerID(0)))
		var se *Error
		if !errors.As(err, &se) || se.StatusCode != 502 || !strings.HasPrefix(se.Message, "502 Bad Gateway") || strings.Contains(se.Message, "<") {
			t.Fatalf("%v (%+v)", err, se)
		}
		if found, err := c.FindSalesOrders(context.Background(), "PO-GW", sapsim.CustomerID(0)); err != nil || len(found) != 1 {
			t.Fatalf("the order behind the 502: %v, %d found", err, len(found))
		}
	})
}

func TestOAuthTokenFailureIsNotSent(t *testing.T) {
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer tokens.Close()
	c, err := New(Options{BaseURL: "http://" + closedPort(t), AuthMode: AuthOAuth2, OAuthTokenURL: tokens.URL,
		OAuthClientID: "id", OAuthClientSecret: "secret", Timeout: testTimeout, MaxResponseBytes: testMaxBytes, ReadRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateSalesOrder(context.Background(), order("PO-T", sapsim.CustomerID(0)))
	if !errors.Is(err, ErrNotSent) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("err %v", err)
	}
}
