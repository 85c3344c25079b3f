package sap

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTokenRenewedShortlyBeforeExpiry(t *testing.T) {
	var issued atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "c%3Aid" || secret != "s%26cret" || r.FormValue("grant_type") != "client_credentials" || r.FormValue("scope") != "S" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		n := issued.Add(1)
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":100}`, n)
	}))
	defer ts.Close()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	src := &tokenSource{hc: ts.Client(), url: ts.URL, id: "c:id", secret: "s&cret", scope: "S",
		log: slog.New(slog.DiscardHandler), now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	at := func(d time.Duration) string {
		mu.Lock()
		now = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
		mu.Unlock()
		tok, err := src.token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// 100 s tokens are renewed a tenth of their life early, at 90 s.
	for _, tc := range []struct {
		at   time.Duration
		want string
	}{{0, "tok-1"}, {89 * time.Second, "tok-1"}, {91 * time.Second, "tok-2"}, {100 * time.Second, "tok-2"}} {
		if got := at(tc.at); got != tc.want {
			t.Fatalf("at %s: %s, want %s", tc.at, got, tc.want)
		}
	}
	// Concurrent callers after an invalidation share one fetch.
	src.invalidate("tok-2")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { at(100 * time.Second) })
	}
	wg.Wait()
	if n := issued.Load(); n != 3 {
		t.Fatalf("%d tokens issued, want 3", n)
	}
}

func TestRetryAfterForms(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"5", 5 * time.Second}, {"-1", 0}, {"soon", 0},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-30 * time.Second).Format(http.TimeFormat), 0},
	}
	for _, tc := range cases {
		t.Run(tc.v, func(t *testing.T) {
			if got := retryAfter(http.Header{"Retry-After": {tc.v}}, now); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRetryBackoffJitterAndRetryAfter(t *testing.T) {
	statuses := []int{503, 502, 429, 200}
	var calls int
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		st := statuses[calls]
		calls++
		h := http.Header{}
		if st == 429 {
			h.Set("Retry-After", "1")
		}
		return &http.Response{StatusCode: st, Header: h, Body: http.NoBody}, nil
	})
	for round := range 20 { // jitter is random: check the bounds many times
		calls = 0
		var waits []time.Duration
		rt := &retryTransport{next: next, retries: 3, base: 100 * time.Millisecond, max: 5 * time.Second,
			log: slog.New(slog.DiscardHandler), sleep: func(_ context.Context, d time.Duration) error {
				waits = append(waits, d)
				return nil
			}}
		req, _ := http.NewRequest("GET", "http://sap.invalid/x", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 || len(waits) != 3 {
			t.Fatalf("round %d: %v %v waits %v", round, err, resp, waits)
		}
		if waits[0] <= 0 || waits[0] > 100*time.Millisecond || waits[1] <= 0 || waits[1] > 200*time.Millisecond || waits[2] < time.Second {
			t.Fatalf("round %d: waits %v outside backoff bounds or below Retry-After", round, waits)
		}
	}
	// Writes pass straight through.
	calls = 0
	rt := &retryTransport{next: next, retries: 3, base: time.Millisecond, max: time.Millisecond, log: slog.New(slog.DiscardHandler)}
	req, _ := http.NewRequest("POST", "http://sap.invalid/x", nil)
	if resp, _ := rt.RoundTrip(req); resp.StatusCode != 503 || calls != 1 {
		t.Fatalf("POST: status %d after %d calls", resp.StatusCode, calls)
	}
}
