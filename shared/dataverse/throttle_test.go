package dataverse_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/shared/dataverse"
)

// inflightTransport records the most requests in flight at once.
type inflightTransport struct {
	next      http.RoundTripper
	cur, peak atomic.Int64
	cookies   atomic.Int64 // requests that carried an ARRAffinity cookie
}

func (t *inflightTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.Header.Get("Cookie"), "ARRAffinity") {
		t.cookies.Add(1)
	}
	n := t.cur.Add(1)
	defer t.cur.Add(-1)
	for {
		p := t.peak.Load()
		if n <= p || t.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return t.next.RoundTrip(r)
}

func newInflightEnv(t *testing.T, so dvsim.Options, mod func(*dataverse.Options)) (*env, *inflightTransport) {
	t.Helper()
	e := newEnv(t, so, mod)
	it := &inflightTransport{next: http.DefaultTransport}
	co := testOptions(e.sim.URL, &dataverse.ClientSecretSource{AuthorityHost: e.sim.URL, TenantID: "t", ClientID: "app-1",
		ClientSecret: "s3cret", Scope: dataverse.Scope(e.sim.URL)})
	if mod != nil {
		mod(&co)
	}
	co.HTTPClient = &http.Client{Transport: it}
	c, err := dataverse.New(co)
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	return e, it
}

func parallelReads(t *testing.T, e *env, n int, id string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
}

func TestConcurrencyBounds(t *testing.T) {
	tests := []struct {
		name     string
		dopHint  int
		max      int
		initial  int
		wantPeak int64
	}{
		{"grows up to x-ms-dop-hint", 3, 52, 2, 3},
		{"grows up to MaxConcurrency", 0, 5, 1, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so := dvsim.Options{Costs: dvsim.Costs{Read: 30 * time.Millisecond}, Limits: dvsim.RealLimits()}
			so.Limits.DOPHint = tt.dopHint
			e, it := newInflightEnv(t, so, func(o *dataverse.Options) { o.MaxConcurrency, o.InitialConcurrency = tt.max, tt.initial })
			id, err := e.sim.Insert("accounts", map[string]any{"name": "A"})
			if err != nil {
				t.Fatal(err)
			}
			// Warm up so the hint is known, then measure.
			if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil); err != nil {
				t.Fatal(err)
			}
			it.peak.Store(0)
			parallelReads(t, e, 60, id)
			if got := it.peak.Load(); got != tt.wantPeak {
				t.Errorf("peak in flight = %d; want %d", got, tt.wantPeak)
			}
			if st := e.client.Stats(); st.Concurrency > int(tt.wantPeak) {
				t.Errorf("concurrency limit = %d; above %d", st.Concurrency, tt.wantPeak)
			}
		})
	}
}

func TestObeysRetryAfter(t *testing.T) {
	so := dvsim.Options{Limits: dvsim.Limits{Window: time.Second, Requests: 5, ExecutionTime: time.Hour, Concurrent: 52,
		RetryAfterUnit: 50 * time.Millisecond}}
	e := newEnv(t, so, func(o *dataverse.Options) { o.InitialConcurrency, o.MaxConcurrency = 1, 1 })
	id, err := e.sim.Insert("accounts", map[string]any{"name": "A"})
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	for i := 0; i < 12; i++ {
		if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	// 12 requests at 5 a second need two full window slides.
	if d := time.Since(began); d < 2*time.Second {
		t.Errorf("12 reads took %v; the limit allows no less than 2s", d)
	}
	st := e.client.Stats()
	sim := e.sim.Stats()["app-1"]
	if st.Throttled == 0 || int(st.Throttled) != sim.Throttled["0x80072322"] {
		t.Errorf("client saw %d 429s, simulator sent %v", st.Throttled, sim.Throttled)
	}
	// Obeying Retry-After means one 429 per wait, not a stream of them (the simulator would lengthen the wait).
	if st.Throttled > 3 {
		t.Errorf("%d 429s; a client obeying Retry-After gets about one per window", st.Throttled)
	}
}

func TestConcurrency429Recovers(t *testing.T) {
	so := dvsim.Options{Costs: dvsim.Costs{Read: 40 * time.Millisecond},
		Limits: dvsim.Limits{Window: time.Minute, Requests: 10000, ExecutionTime: time.Hour, Concurrent: 3, RetryAfterUnit: 20 * time.Millisecond}}
	e := newEnv(t, so, func(o *dataverse.Options) { o.InitialConcurrency, o.MaxConcurrency = 8, 20 })
	id, err := e.sim.Insert("accounts", map[string]any{"name": "A"})
	if err != nil {
		t.Fatal(err)
	}
	parallelReads(t, e, 40, id)
	st := e.client.Stats()
	if st.Throttled == 0 {
		t.Fatal("expected concurrency 429s with 8 in flight against a limit of 3")
	}
	if st.Concurrency > 8 {
		t.Errorf("concurrency limit %d after 429s; want it reduced", st.Concurrency)
	}
}

func TestRetriesAndFaults(t *testing.T) {
	tests := []struct {
		name     string
		faults   dvsim.Faults
		call     func(*env) error
		wantErr  bool
		wantRows int
	}{
		{"503 on a read is retried", dvsim.Faults{Error503: 0.5}, func(e *env) error {
			for i := 0; i < 10; i++ {
				if _, err := e.client.Retrieve(ctxBG(), "accounts", dataverse.AltKey("accountnumber", "A1"), nil); err != nil {
					return err
				}
			}
			return nil
		}, false, 1},
		{"a reset upsert is retried once the connection is back", dvsim.Faults{Reset: 0.5}, func(e *env) error {
			for i := 0; i < 10; i++ {
				if _, err := e.client.Upsert(ctxBG(), "accounts", dataverse.AltKey("accountnumber", "A2"), dataverse.Record{"name": "x"}, nil); err != nil {
					return err
				}
			}
			return nil
		}, false, 2},
		{"commit-then-drop on an upsert: the retry is harmless", dvsim.Faults{CommitDrop: 0.5, Only: []string{"PATCH"}}, func(e *env) error {
			for i := 0; i < 10; i++ {
				if _, err := e.client.Upsert(ctxBG(), "accounts", dataverse.AltKey("accountnumber", "A3"), dataverse.Record{"name": "y"}, nil); err != nil {
					return err
				}
			}
			return nil
		}, false, 2},
		{"commit-then-drop on a create is not retried (it could duplicate)", dvsim.Faults{CommitDrop: 1, Only: []string{"POST"}}, func(e *env) error {
			_, err := e.client.Create(ctxBG(), "accounts", dataverse.Record{"name": "z"}, nil)
			return err
		}, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so := dvsim.Options{Limits: dvsim.RealLimits()}
			so.Limits.RetryAfterUnit = 10 * time.Millisecond
			e := newEnv(t, so, func(o *dataverse.Options) { o.MaxRetries = 20 })
			if _, err := e.sim.Insert("accounts", map[string]any{"name": "A", "accountnumber": "A1"}); err != nil {
				t.Fatal(err)
			}
			// Get the token before faults apply to the API.
			if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.AltKey("accountnumber", "A1"), nil); err != nil {
				t.Fatal(err)
			}
			e.sim.SetFaults(tt.faults)
			err := tt.call(e)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v; want error %v", err, tt.wantErr)
			}
			e.sim.SetFaults(dvsim.Faults{})
			if got := e.sim.Count("accounts"); got != tt.wantRows {
				t.Errorf("accounts = %d; want %d", got, tt.wantRows)
			}
			if len(e.sim.Injected()) == 0 {
				t.Error("no fault was injected")
			}
		})
	}
}

func TestExpiredTokenIsRefreshedAfter401(t *testing.T) {
	clk := struct {
		sync.Mutex
		off time.Duration
	}{}
	now := func() time.Time { clk.Lock(); defer clk.Unlock(); return time.Now().Add(clk.off) }
	e := newEnv(t, dvsim.Options{Now: now}, nil)
	id, err := e.sim.Insert("accounts", map[string]any{"name": "A"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil); err != nil {
		t.Fatal(err)
	}
	// The server's clock runs ahead: it sees the cached token as expired and answers 401.
	clk.Lock()
	clk.off = 2 * time.Hour
	clk.Unlock()
	if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil); err != nil {
		t.Fatalf("read after the token expired server-side: %v", err)
	}
}

func TestSessionAffinityCookieNeverSent(t *testing.T) {
	e, it := newInflightEnv(t, dvsim.Options{}, nil)
	id, err := e.sim.Insert("accounts", map[string]any{"name": "A"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := it.cookies.Load(); n != 0 {
		t.Errorf("%d requests sent ARRAffinity back", n)
	}
}

func TestThrottledErrorAfterRetriesRunOut(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, func(o *dataverse.Options) { o.MaxRetries = 0 })
	id, err := e.sim.Insert("accounts", map[string]any{"name": "A"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil); err != nil {
		t.Fatal(err)
	}
	e.sim.SetFaults(dvsim.Faults{Error429: 1})
	_, err = e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil)
	var de *dataverse.Error
	if !errors.As(err, &de) || de.Kind != dataverse.KindThrottled || de.RetryAfter <= 0 || !de.Retryable() {
		t.Fatalf("error = %#v; want a retryable throttled error with RetryAfter", err)
	}
}

func TestTimeoutIsPerAttempt(t *testing.T) {
	t.Run("a slow attempt times out", func(t *testing.T) {
		e := newEnv(t, dvsim.Options{}, func(o *dataverse.Options) { o.Timeout, o.MaxRetries = 100*time.Millisecond, 0 })
		if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.AltKey("accountnumber", "x"), nil); !dataverse.IsKind(err, dataverse.KindNotFound) {
			t.Fatalf("warm-up: %v", err)
		}
		e.sim.SetFaults(dvsim.Faults{LatencyMin: 300 * time.Millisecond, LatencyMax: 300 * time.Millisecond})
		_, err := e.client.Retrieve(ctx(t), "accounts", dataverse.AltKey("accountnumber", "x"), nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v; want a deadline", err)
		}
	})
	t.Run("waiting for Retry-After does not count", func(t *testing.T) {
		so := dvsim.Options{Limits: dvsim.Limits{Window: 600 * time.Millisecond, Requests: 2, ExecutionTime: time.Hour, Concurrent: 52,
			RetryAfterUnit: 10 * time.Millisecond}}
		e := newEnv(t, so, func(o *dataverse.Options) {
			o.Timeout, o.MaxConcurrency, o.InitialConcurrency = 200*time.Millisecond, 1, 1
		})
		for i := 0; i < 5; i++ {
			_, err := e.client.Retrieve(ctx(t), "accounts", dataverse.AltKey("accountnumber", "x"), nil)
			if !dataverse.IsKind(err, dataverse.KindNotFound) {
				t.Fatalf("read %d: %v", i, err)
			}
		}
		if e.client.Stats().Throttled == 0 {
			t.Error("no 429: the test did not wait for Retry-After")
		}
	})
}

// With several web servers, each with its own limits, dropping ARRAffinity spreads the load: a client that
// keeps the cookie is throttled by one server while this client is not.
func TestDroppingAffinitySpreadsOverWebServers(t *testing.T) {
	so := dvsim.Options{WebServers: 3, Limits: dvsim.Limits{Window: time.Minute, Requests: 4, ExecutionTime: time.Hour,
		Concurrent: 52, RetryAfterUnit: time.Second}}
	e := newEnv(t, so, func(o *dataverse.Options) { o.MaxRetries = 0 })
	id, err := e.sim.Insert("accounts", map[string]any{"name": "A"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		if _, err := e.client.Retrieve(ctx(t), "accounts", dataverse.ID(id), nil); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	st := e.sim.Stats()["app-1"]
	if len(st.RequestsByServer) != 3 || st.RequestsByServer[0] != 4 {
		t.Errorf("requests by server = %v; want 4 on each of 3", st.RequestsByServer)
	}

	// A sticky client: an http.Client with a cookie jar sends ARRAffinity back.
	jar, _ := cookiejar.New(nil)
	sticky := &http.Client{Jar: jar}
	tok := e.sim.IssueToken("sticky")
	throttled := 0
	for i := 0; i < 12; i++ {
		req, _ := http.NewRequest("GET", e.sim.URL+"/api/data/v9.2/WhoAmI", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := sticky.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled != 8 {
		t.Errorf("sticky client throttled %d times; want 8 (one server allows 4)", throttled)
	}
}
