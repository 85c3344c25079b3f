package sap

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

func TestReadRetries(t *testing.T) {
	cases := []struct {
		name     string
		faults   sapsim.Faults
		requests int
		wantErr  bool
	}{
		{"503 twice", sapsim.Faults{Fail503Next: 2}, 3, false},
		{"429 with Retry-After", sapsim.Faults{Fail429Next: 1, RetryAfterSeconds: 0}, 2, false},
		{"500 is not retried", sapsim.Faults{Fail500Next: 1}, 1, true},
		// A fresh connection per request: on a reused one, net/http itself replays a GET that met a closed conn.
		{"connection reset", sapsim.Faults{ResetNext: 1}, 2, false},
		{"down for good", sapsim.Faults{Down: true}, 1 + testReadRetries, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sapsim.Options{}, func(o *Options) {
				o.HTTPClient.Transport.(*countingTransport).next = &http.Transport{DisableKeepAlives: true}
			})
			if _, err := e.c.CreateSalesOrder(context.Background(), order("PO-1", sapsim.CustomerID(0))); err != nil {
				t.Fatal(err)
			}
			e.sim.SetFaults(tc.faults)
			_, err := e.c.GetSalesOrder(context.Background(), "1")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if n := e.net.count("GET /sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder"); n != tc.requests {
				t.Fatalf("%d GETs, want %d", n, tc.requests)
			}
		})
	}
}

func TestRetryAfterBeyondMaxIsNotWaited(t *testing.T) {
	e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{Fail429Next: 1, RetryAfterSeconds: 120}}, nil)
	start := time.Now()
	_, err := e.c.GetSalesOrder(context.Background(), "1")
	var se *Error
	if !errors.As(err, &se) || se.StatusCode != 429 || se.RetryAfter != 120*time.Second || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{Fail503Next: 1, RetryAfterSeconds: 1}}, func(o *Options) { o.RetryMaxDelay = 5 * time.Second })
	start := time.Now()
	if _, err := e.c.GetCustomer(context.Background(), sapsim.CustomerID(0)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %s, before Retry-After", d)
	}
}

func TestWritesAreNeverRetriedBlindly(t *testing.T) {
	cases := []struct {
		name    string
		faults  sapsim.Faults
		unknown bool // the write went out and no answer came back
	}{
		{"503", sapsim.Faults{Fail503Next: 1, WritesOnly: true}, false},
		{"429", sapsim.Faults{Fail429Next: 1, WritesOnly: true}, false},
		{"reset", sapsim.Faults{ResetNext: 1, WritesOnly: true}, true},
		{"SAP down", sapsim.Faults{Down: true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, sapsim.Options{}, nil)
			e.sim.SetFaults(tc.faults)
			_, err := e.c.CreateSalesOrder(context.Background(), order("PO-1", sapsim.CustomerID(0)))
			if err == nil {
				t.Fatal("the create succeeded despite the fault")
			}
			if errors.Is(err, ErrOutcomeUnknown) != tc.unknown {
				t.Fatalf("err %v: outcome unknown should be %v", err, tc.unknown)
			}
			// SAP down fails the CSRF fetch already, so no POST goes out at all.
			if n := e.net.count("POST"); n > 1 || n == 0 && !tc.faults.Down {
				t.Fatalf("%d POSTs; a write must be sent once", n)
			}
			if n := e.sim.Stats().SalesOrders; n != 0 {
				t.Fatalf("%d orders", n)
			}
		})
	}
}

// TestLostCreateAnswerThenLookup is the order push scenario: SAP commits the create but the answer is lost; the
// client reports an error without retrying, and the lookup by purchase order finds the one order.
func TestLostCreateAnswerThenLookup(t *testing.T) {
	e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{DropCreateNext: 1}}, nil)
	ctx := context.Background()
	_, err := e.c.CreateSalesOrder(ctx, order("PO-LOST", sapsim.CustomerID(3)))
	var se *Error
	if !errors.Is(err, ErrOutcomeUnknown) || errors.As(err, &se) {
		t.Fatalf("want an unknown outcome, got %v", err)
	}
	found, err := e.c.FindSalesOrders(ctx, "PO-LOST", sapsim.CustomerID(3))
	if err != nil || len(found) != 1 {
		t.Fatalf("lookup after a lost answer: %v, %d orders", err, len(found))
	}
	if e.net.count("POST") != 1 || e.sim.Stats().SalesOrders != 1 {
		t.Fatalf("%d POSTs, %d orders", e.net.count("POST"), e.sim.Stats().SalesOrders)
	}
}

func TestTimeoutsAndSizeLimit(t *testing.T) {
	t.Run("read timeout is retried, then reported", func(t *testing.T) {
		e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{LatencyMin: sapsim.Duration(300 * time.Millisecond), LatencyMax: sapsim.Duration(300 * time.Millisecond)}},
			func(o *Options) { o.Timeout = 50 * time.Millisecond; o.ReadRetries = 2 })
		_, err := e.c.GetCustomer(context.Background(), sapsim.CustomerID(0))
		if !errors.Is(err, errAttemptTimeout) {
			t.Fatalf("err %v", err)
		}
		if n := e.net.count("GET"); n != 3 {
			t.Fatalf("%d attempts, want 3", n)
		}
	})
	t.Run("caller's deadline stops retries", func(t *testing.T) {
		e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{Down: true}}, func(o *Options) { o.RetryBaseDelay = time.Second; o.RetryMaxDelay = time.Second })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := e.c.GetCustomer(ctx, sapsim.CustomerID(0)); err == nil || time.Since(start) > 900*time.Millisecond {
			t.Fatalf("err %v after %s", err, time.Since(start))
		}
	})
	t.Run("response too large", func(t *testing.T) {
		e := newEnv(t, sapsim.Options{Products: 100}, func(o *Options) { o.MaxResponseBytes = 2000 })
		var err error
		for _, err = range e.c.Stock(context.Background(), StockQuery{}).All() {
			if err != nil {
				break
			}
		}
		if !errors.Is(err, ErrResponseTooLarge) {
			t.Fatalf("err %v", err)
		}
	})
}

// TestStreamingThroughRandomFaults reads every page through random 503 and 429 answers and connection resets: the
// retries absorb them and no row is lost or repeated.
func TestStreamingThroughRandomFaults(t *testing.T) {
	e := newEnv(t, sapsim.Options{Products: 100, Plants: []string{"1010", "1020"}, PageSize: 10, Seed: 7,
		Faults: sapsim.Faults{Error503Rate: 0.25, Error429Rate: 0.1, ResetRate: 0.05, ReadsOnly: true}},
		func(o *Options) {
			o.ReadRetries = 8
			o.HTTPClient.Transport.(*countingTransport).next = &http.Transport{DisableKeepAlives: true}
		})
	seen := map[string]bool{}
	for r, err := range e.c.Stock(context.Background(), StockQuery{}).All() {
		if err != nil {
			t.Fatal(err)
		}
		k := r.Material + "/" + r.Plant
		if seen[k] {
			t.Fatalf("%s twice", k)
		}
		seen[k] = true
	}
	st := e.sim.Stats()
	if len(seen) != 200 || st.FaultsInjected == 0 {
		t.Fatalf("%d rows, %d faults injected", len(seen), st.FaultsInjected)
	}
	t.Logf("%d requests, %d faults absorbed", st.Requests, st.FaultsInjected)
}
