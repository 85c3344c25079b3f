package dataverse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HardMaxConcurrency is Dataverse's concurrent request limit per user per web server.
const HardMaxConcurrency = 52

// ---- auth ----

// authTransport adds the bearer token; after a 401 it drops a cached token and tries once more.
type authTransport struct {
	next   http.RoundTripper
	tokens TokenSource
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		tok, _, err := t.tokens.Token(req.Context())
		if err != nil {
			return nil, fmt.Errorf("getting Dataverse token: %w", err)
		}
		r, err := rewind(req)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := t.next.RoundTrip(r)
		if err != nil || resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return resp, err
		}
		c, ok := t.tokens.(*CachedSource)
		if !ok {
			return resp, nil
		}
		drain(resp)
		c.Invalidate()
	}
}

// rewind clones req with a fresh body for another attempt.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, errors.New("retrying request: body cannot be replayed")
		}
		b, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("replaying request body: %w", err)
		}
		r.Body = b
	}
	return r, nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}

// ---- session affinity ----

// dropAffinity removes the ARRAffinity cookie both ways so requests spread over the web servers, as
// Microsoft advises for bulk work (each server has its own limits).
type dropAffinity struct{ next http.RoundTripper }

func (t dropAffinity) RoundTrip(req *http.Request) (*http.Response, error) {
	if c := req.Header.Get("Cookie"); strings.Contains(c, "ARRAffinity") {
		req = req.Clone(req.Context())
		var keep []string
		for _, part := range strings.Split(c, ";") {
			if !strings.HasPrefix(strings.TrimSpace(part), "ARRAffinity") {
				keep = append(keep, strings.TrimSpace(part))
			}
		}
		if len(keep) == 0 {
			req.Header.Del("Cookie")
		} else {
			req.Header.Set("Cookie", strings.Join(keep, "; "))
		}
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
		resp.Header.Del("Set-Cookie")
		for _, v := range sc {
			if !strings.HasPrefix(v, "ARRAffinity") {
				resp.Header.Add("Set-Cookie", v)
			}
		}
	}
	return resp, nil
}

// ---- throttling ----

type idempotentKey struct{}

// withIdempotent marks a POST as safe to repeat (UpsertMultiple, UpdateMultiple).
func withIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

func idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch:
		return true
	}
	v, _ := req.Context().Value(idempotentKey{}).(bool)
	return v
}

// Stats counts what the throttling layer saw.
type Stats struct {
	Attempts    int64 // HTTP requests sent, retries included
	Throttled   int64 // 429 responses
	Retries     int64 // attempts after the first
	Concurrency int   // the current concurrency limit
	DOPHint     int   // the last x-ms-dop-hint
}

// throttle bounds concurrency adaptively and retries as Microsoft advises: it starts at an initial
// concurrency, grows it while requests succeed (doubling until the first 429, then one more per round), never
// above x-ms-dop-hint or the maximum, shrinks it on 429, and holds every request back until Retry-After has
// passed, since the limits are per user and not per request.
type throttle struct {
	next       http.RoundTripper
	max        int
	initial    int
	maxRetries int
	maxWait    time.Duration
	log        *slog.Logger
	// attemptTimeout bounds one attempt, until its body is closed; 0 means none.
	attemptTimeout time.Duration

	mu          sync.Mutex
	changed     chan struct{}
	limit       float64
	inflight    int
	pausedUntil time.Time
	dopHint     int
	slowStart   bool

	attempts, throttled, retries atomic.Int64
}

func newThrottle(next http.RoundTripper, maxConc, initial, maxRetries int, maxWait time.Duration, log *slog.Logger) *throttle {
	maxConc = min(maxConc, HardMaxConcurrency)
	initial = max(1, min(initial, maxConc))
	return &throttle{next: next, max: maxConc, initial: initial, maxRetries: maxRetries, maxWait: maxWait, log: log,
		changed: make(chan struct{}), limit: float64(initial), slowStart: true}
}

func (t *throttle) ceiling() float64 {
	c := t.max
	if t.dopHint > 0 && t.dopHint < c {
		c = t.dopHint
	}
	return float64(c)
}

func (t *throttle) broadcast() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *throttle) acquire(ctx context.Context) error {
	for {
		t.mu.Lock()
		now := time.Now()
		var wait time.Duration
		switch {
		case now.Before(t.pausedUntil):
			wait = t.pausedUntil.Sub(now)
		case t.inflight < int(math.Max(1, math.Floor(t.limit))):
			t.inflight++
			t.mu.Unlock()
			return nil
		}
		ch := t.changed
		t.mu.Unlock()
		var timer <-chan time.Time
		var tm *time.Timer
		if wait > 0 {
			tm = time.NewTimer(wait)
			timer = tm.C
		}
		select {
		case <-ctx.Done():
			if tm != nil {
				tm.Stop()
			}
			return ctx.Err()
		case <-ch:
		case <-timer:
		}
		if tm != nil {
			tm.Stop()
		}
	}
}

type outcome int

const (
	outcomeOK outcome = iota
	outcomeNeutral
	outcomeThrottled
)

func (t *throttle) release(o outcome, code string, retryAfter time.Duration, dop int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	if dop > 0 {
		t.dopHint = dop
	}
	switch o {
	case outcomeOK:
		if t.slowStart {
			t.limit++
		} else {
			t.limit += 1 / t.limit
		}
	case outcomeThrottled:
		t.slowStart = false
		switch code {
		case CodeConcurrencyLimit:
			// Too many at once: shrink below what was in flight.
			t.limit = math.Max(1, math.Min(t.limit, float64(t.inflight+1))*0.75)
		case CodeRequestsLimit, CodeExecutionTimeLimit:
			// Rate limits: the pause until Retry-After regulates the rate; fewer requests in flight after it
			// would leave the window under-used.
		default:
			t.limit = math.Max(1, t.limit*0.75)
		}
		if until := time.Now().Add(retryAfter); until.After(t.pausedUntil) {
			t.pausedUntil = until
		}
	}
	t.limit = math.Min(t.limit, t.ceiling())
	t.broadcast()
}

func (t *throttle) stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{Attempts: t.attempts.Load(), Throttled: t.throttled.Load(), Retries: t.retries.Load(),
		Concurrency: int(math.Max(1, math.Floor(t.limit))), DOPHint: t.dopHint}
}

// releasingBody frees the concurrency slot when the caller is done with the response.
type releasingBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

func (t *throttle) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if err := t.acquire(ctx); err != nil {
			return nil, fmt.Errorf("waiting for a Dataverse request slot: %w", err)
		}
		r, err := rewind(req)
		if err != nil {
			t.release(outcomeNeutral, "", 0, 0)
			return nil, err
		}
		cancel := context.CancelFunc(func() {})
		if t.attemptTimeout > 0 {
			var actx context.Context
			actx, cancel = context.WithTimeout(ctx, t.attemptTimeout)
			r = r.WithContext(actx)
		}
		t.attempts.Add(1)
		if attempt > 0 {
			t.retries.Add(1)
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil {
			cancel()
			t.release(outcomeNeutral, "", 0, 0)
			if ctx.Err() == nil && idempotent(req) && attempt < t.maxRetries {
				t.log.WarnContext(ctx, "dataverse request failed, retrying", "method", req.Method, "attempt", attempt+1, "err", err)
				if werr := sleep(ctx, backoff(attempt)); werr != nil {
					return nil, werr
				}
				continue
			}
			return nil, err
		}
		dop, _ := strconv.Atoi(resp.Header.Get("x-ms-dop-hint"))
		retryAfter := parseRetryAfter(resp.Header.Get("Retry-After"))
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			// A 429 was refused before any work was done: every method may be retried.
			t.throttled.Add(1)
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			cancel()
			var eb errorBody
			_ = json.Unmarshal(body, &eb)
			if retryAfter <= 0 {
				retryAfter = backoff(attempt)
			}
			retryAfter = min(retryAfter, t.maxWait)
			t.release(outcomeThrottled, eb.Error.Code, retryAfter, dop)
			if attempt >= t.maxRetries {
				resp.Body = io.NopCloser(bytes.NewReader(body))
				return resp, nil
			}
			t.log.InfoContext(ctx, "dataverse throttled", "code", eb.Error.Code, "retry_after", retryAfter.String(), "attempt", attempt+1)
			continue
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented && idempotent(req) && attempt < t.maxRetries:
			drain(resp)
			cancel()
			t.release(outcomeNeutral, "", 0, dop)
			wait := backoff(attempt)
			if retryAfter > 0 {
				wait = min(retryAfter, t.maxWait)
			}
			t.log.WarnContext(ctx, "dataverse server error, retrying", "status", resp.StatusCode, "attempt", attempt+1)
			if werr := sleep(ctx, wait); werr != nil {
				return nil, werr
			}
			continue
		}
		o := outcomeOK
		if resp.StatusCode >= 500 {
			o = outcomeNeutral
		}
		resp.Body = &releasingBody{ReadCloser: resp.Body, done: func() { cancel(); t.release(o, "", 0, dop) }}
		return resp, nil
	}
}

func backoff(attempt int) time.Duration {
	d := 200 * time.Millisecond << min(attempt, 6)
	d = min(d, 10*time.Second)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// parseRetryAfter reads delay-seconds (fractions accepted, as a time-scaled simulator sends them) or an
// HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		// Capped: a float past what a Duration holds converts to a negative wait.
		if f >= math.MaxInt64/float64(time.Second) {
			return math.MaxInt64
		}
		return time.Duration(f * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}
