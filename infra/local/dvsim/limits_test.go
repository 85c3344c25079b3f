package dvsim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock shared by the limiter and the token check.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func start(t *testing.T, o Options) *Running {
	t.Helper()
	r, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

type result struct {
	status     int
	code       string
	retryAfter string
	header     http.Header
}

func call(t *testing.T, r *Running, token, method, path, body string) result {
	t.Helper()
	req, err := http.NewRequest(method, r.URL+apiPrefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(b, &eb)
	return result{status: resp.StatusCode, code: eb.Error.Code, retryAfter: resp.Header.Get("Retry-After"), header: resp.Header}
}

func TestRequestLimitPerUser(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := start(t, Options{Now: clk.Now, Limits: Limits{Window: 300 * time.Second, Requests: 3, Concurrent: 52, RetryAfterUnit: time.Second}})
	a, b := r.IssueToken("user-a"), r.IssueToken("user-b")
	for i := 0; i < 3; i++ {
		clk.Add(10 * time.Second)
		if got := call(t, r, a, "GET", "WhoAmI", ""); got.status != 200 {
			t.Fatalf("request %d: %d", i, got.status)
		}
	}
	got := call(t, r, a, "GET", "WhoAmI", "")
	if got.status != 429 || got.code != codeTooManyRequests {
		t.Fatalf("4th request = %d %s; want 429 %s", got.status, got.code, codeTooManyRequests)
	}
	// The first request (at +10 s) leaves the window at +310 s; now is +30 s.
	if got.retryAfter != "280" {
		t.Errorf("Retry-After = %q; want 280", got.retryAfter)
	}
	if got := call(t, r, b, "GET", "WhoAmI", ""); got.status != 200 {
		t.Errorf("another user is throttled too: %d", got.status)
	}
	// Pushing while throttled makes the wait longer.
	if got := call(t, r, a, "GET", "WhoAmI", ""); got.retryAfter != "281" {
		t.Errorf("Retry-After after pushing = %q; want 281", got.retryAfter)
	}
	clk.Add(282 * time.Second)
	if got := call(t, r, a, "GET", "WhoAmI", ""); got.status != 200 {
		t.Errorf("after the window slid: %d", got.status)
	}
	st := r.Stats()["user-a"]
	if st.Requests != 4 || st.Throttled[codeTooManyRequests] != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestExecutionTimeLimit(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := start(t, Options{Now: clk.Now, Costs: Costs{Write: 10 * time.Millisecond},
		Limits: Limits{Window: 60 * time.Second, Requests: 1000, ExecutionTime: 25 * time.Millisecond, Concurrent: 52, RetryAfterUnit: time.Second}})
	tok := r.IssueToken("u")
	// Evaluated after the fact: the third request starts at 20 ms used and is admitted, overshooting to 30 ms.
	for i := 0; i < 3; i++ {
		got := call(t, r, tok, "POST", "accounts", `{"name":"a`+strconv.Itoa(i)+`"}`)
		if got.status != 204 {
			t.Fatalf("create %d: %d %s", i, got.status, got.code)
		}
		clk.Add(time.Second)
	}
	got := call(t, r, tok, "POST", "accounts", `{"name":"x"}`)
	if got.status != 429 || got.code != codeExecutionTime {
		t.Fatalf("4th create = %d %s; want 429 %s", got.status, got.code, codeExecutionTime)
	}
	// Dropping the first 10 ms (charged at +0 s) brings the sum under 25 ms: at +60 s; now is +3 s.
	if got.retryAfter != "57" {
		t.Errorf("Retry-After = %q; want 57", got.retryAfter)
	}
	if r.Count("accounts") != 3 {
		t.Errorf("a throttled request was executed")
	}
}

func TestConcurrencyLimitIsImmediate(t *testing.T) {
	r := start(t, Options{Costs: Costs{Read: 400 * time.Millisecond},
		Limits: Limits{Window: time.Minute, Requests: 1000, ExecutionTime: time.Hour, Concurrent: 2, DOPHint: 2, RetryAfterUnit: time.Second}})
	tok := r.IssueToken("u")
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := call(t, r, tok, "GET", "accounts", ""); got.status != 200 {
				t.Errorf("slow read: %d", got.status)
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	began := time.Now()
	got := call(t, r, tok, "GET", "WhoAmI", "")
	if got.status != 429 || got.code != codeConcurrent {
		t.Errorf("third concurrent request = %d %s; want 429 %s", got.status, got.code, codeConcurrent)
	}
	if time.Since(began) > 200*time.Millisecond {
		t.Errorf("the concurrency 429 took %v; it must be immediate", time.Since(began))
	}
	if got.header.Get("x-ms-dop-hint") != "2" {
		t.Errorf("x-ms-dop-hint = %q", got.header.Get("x-ms-dop-hint"))
	}
	wg.Wait()
}

func TestBearerTokenChecked(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	r := start(t, Options{Now: clk.Now})
	valid := r.IssueToken("u")
	tests := []struct {
		name, token string
		advance     time.Duration
		want        int
	}{
		{"missing", "", 0, 401},
		{"unknown", "forged", 0, 401},
		{"valid", valid, 0, 200},
		{"expired", valid, 2 * time.Hour, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(tt.advance)
			got := call(t, r, tt.token, "GET", "WhoAmI", "")
			if got.status != tt.want {
				t.Fatalf("status = %d; want %d", got.status, tt.want)
			}
			if got.status == 401 && !strings.HasPrefix(got.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("no WWW-Authenticate challenge")
			}
		})
	}
}

func TestResponseHeaders(t *testing.T) {
	r := start(t, Options{})
	got := call(t, r, r.IssueToken("u"), "GET", "WhoAmI", "")
	for _, h := range []string{"x-ms-dop-hint", "x-ms-ratelimit-burst-remaining-xrm-requests", "x-ms-ratelimit-time-remaining-xrm-requests"} {
		if got.header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}
	if !strings.HasPrefix(got.header.Get("Set-Cookie"), "ARRAffinity=") {
		t.Errorf("Set-Cookie = %q; want an ARRAffinity cookie", got.header.Get("Set-Cookie"))
	}
}

func TestScaledLimitsKeepRatios(t *testing.T) {
	l := RealLimits().Scaled(30 * time.Second)
	if l.Requests != 600 || l.ExecutionTime != 120*time.Second || l.Concurrent != 52 || l.RetryAfterUnit != 100*time.Millisecond {
		t.Fatalf("scaled = %+v", l)
	}
	if got := formatRetryAfter(250*time.Millisecond, 100*time.Millisecond); got != "0.3" {
		t.Errorf("formatRetryAfter = %q; want 0.3", got)
	}
	if got := formatRetryAfter(1200*time.Millisecond, time.Second); got != "2" {
		t.Errorf("formatRetryAfter = %q; want 2", got)
	}
}

func TestFaultInjection(t *testing.T) {
	tests := []struct {
		name       string
		f          Faults
		wantStatus int
		wantReset  bool
		wantRows   int
	}{
		{"500", Faults{Error500: 1}, 500, false, 0},
		{"503", Faults{Error503: 1}, 503, false, 0},
		{"429", Faults{Error429: 1}, 429, false, 0},
		{"reset before processing", Faults{Reset: 1}, 0, true, 0},
		{"commit then drop", Faults{CommitDrop: 1}, 0, true, 1},
		{"only other methods", Faults{Error500: 1, Only: []string{"PATCH"}}, 204, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, Options{})
			r.SetFaults(tt.f)
			req, _ := http.NewRequest("POST", r.URL+apiPrefix+"accounts", strings.NewReader(`{"name":"a"}`))
			req.Header.Set("Authorization", "Bearer "+r.IssueToken("u"))
			resp, err := http.DefaultClient.Do(req)
			if tt.wantReset {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("status %d; want a dropped connection", resp.StatusCode)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("status = %d; want %d", resp.StatusCode, tt.wantStatus)
				}
			}
			if got := r.Count("accounts"); got != tt.wantRows {
				t.Errorf("rows = %d; want %d", got, tt.wantRows)
			}
		})
	}
}

func TestLatencyAndAdminEndpoint(t *testing.T) {
	r := start(t, Options{})
	resp, err := http.Post(r.URL+"/_admin/faults", "application/json", strings.NewReader(`{"latencyMin":"120ms","latencyMax":"150ms"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	began := time.Now()
	if got := call(t, r, r.IssueToken("u"), "GET", "WhoAmI", ""); got.status != 200 {
		t.Fatal(got.status)
	}
	if d := time.Since(began); d < 120*time.Millisecond {
		t.Errorf("latency %v; want at least 120ms", d)
	}
	resp, err = http.Post(r.URL+"/_admin/seed", "application/json", strings.NewReader(`{"accounts":3,"products":4,"orders":2,"linesPerOrder":3}`))
	if err != nil {
		t.Fatal(err)
	}
	var seeded Seeded
	_ = json.NewDecoder(resp.Body).Decode(&seeded)
	resp.Body.Close()
	if len(seeded.Orders) != 2 || r.Count("salesorderdetails") != 6 || r.Count("products") != 4 {
		t.Errorf("seeded = %+v, lines %d", seeded, r.Count("salesorderdetails"))
	}
	resp, err = http.Get(r.URL + "/_admin/rows/salesorders/" + seeded.Orders[0])
	if err != nil {
		t.Fatal(err)
	}
	var row map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&row)
	resp.Body.Close()
	if row["name"] != "Order 1" || row["_customerid_value"] != seeded.Accounts[1] {
		t.Errorf("row = %v", row)
	}
}

// OData puts ";" between options inside $expand; the simulator must read it literal or encoded.
func TestExpandOptionsWithSemicolons(t *testing.T) {
	r := start(t, Options{})
	seeded, err := r.Seed(SeedOptions{Accounts: 1, Products: 1, Orders: 1, LinesPerOrder: 2})
	if err != nil {
		t.Fatal(err)
	}
	tok := r.IssueToken("u")
	for _, sep := range []string{";", "%3B"} {
		path := "salesorders(" + seeded.Orders[0] + ")?$select=name&$expand=order_details($select=quantity" + sep +
			"$expand=productid($select=productnumber))"
		req, _ := http.NewRequest("GET", r.URL+apiPrefix+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Lines []struct {
				Quantity json.Number `json:"quantity"`
				Product  struct {
					Number string `json:"productnumber"`
				} `json:"productid"`
			} `json:"order_details"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if len(out.Lines) != 2 || out.Lines[0].Product.Number != "MAT-000001" {
			t.Errorf("separator %q: lines = %+v", sep, out.Lines)
		}
	}
}

// Lines come back in the order $orderby inside $expand asks for, not in the order they were stored, so a client
// that forgets to ask gets them shuffled (as Dataverse gives no order without one).
func TestExpandHonoursOrderBy(t *testing.T) {
	r := start(t, Options{})
	seeded, err := r.Seed(SeedOptions{Accounts: 1, Products: 8, Orders: 1, LinesPerOrder: 8})
	if err != nil {
		t.Fatal(err)
	}
	tok := r.IssueToken("u")
	get := func(expand string) []int {
		req, _ := http.NewRequest("GET", r.URL+apiPrefix+"salesorders("+seeded.Orders[0]+")?$select=name&$expand="+expand, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Lines []struct {
				N int `json:"lineitemnumber"`
			} `json:"order_details"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		var ns []int
		for _, l := range out.Lines {
			ns = append(ns, l.N)
		}
		return ns
	}
	desc := get("order_details($select=lineitemnumber;$orderby=lineitemnumber%20desc)")
	for i := range desc {
		if desc[i] != 8-i {
			t.Fatalf("$orderby desc gave %v", desc)
		}
	}
	asc := get("order_details($select=lineitemnumber;$orderby=lineitemnumber%20asc)")
	for i := range asc {
		if asc[i] != i+1 {
			t.Fatalf("$orderby asc gave %v", asc)
		}
	}
}

// Version rises with every write and not with reads, so a test can assert that a request wrote nothing.
func TestVersionCountsWritesOnly(t *testing.T) {
	r := start(t, Options{})
	v0 := r.Version()
	id, err := r.Insert("accounts", map[string]any{"name": "A", "accountnumber": "1"})
	if err != nil {
		t.Fatal(err)
	}
	v1 := r.Version()
	if v1 <= v0 {
		t.Fatalf("an insert left the version at %d", v1)
	}
	r.Get("accounts", id)
	r.Find("accounts", "accountnumber", "1")
	if r.Version() != v1 {
		t.Fatal("a read moved the version")
	}
	if err := r.Patch("accounts", id, map[string]any{"name": "B"}); err != nil || r.Version() <= v1 {
		t.Fatalf("a patch: %v, version %d", err, r.Version())
	}
}
