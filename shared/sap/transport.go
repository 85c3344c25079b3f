package sap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// basicTransport adds HTTP Basic credentials.
type basicTransport struct {
	next       http.RoundTripper
	user, pass string
}

func (t *basicTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.SetBasicAuth(t.user, t.pass)
	return t.next.RoundTrip(r)
}

// bearerTransport adds an OAuth 2.0 access token; on 401 it drops the token, fetches a new one and retries once
// (the server rejected the request before acting on it, so a replay is safe even for a POST).
type bearerTransport struct {
	next   http.RoundTripper
	tokens *tokenSource
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		tok, err := t.tokens.token(req.Context())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotSent, err) // the request itself never left
		}
		r, err := rewind(req)
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		resp, err := t.next.RoundTrip(r)
		if err != nil || resp.StatusCode != http.StatusUnauthorized || attempt > 0 || req.GetBody == nil && req.Body != nil {
			return resp, err
		}
		drain(resp)
		t.tokens.invalidate(tok)
	}
}

// tokenSource runs the client credentials grant and caches the token until shortly before it expires.
// Concurrent callers share one fetch.
type tokenSource struct {
	hc                     *http.Client
	url, id, secret, scope string
	log                    *slog.Logger
	now                    func() time.Time
	cur                    sharedValue[accessToken]
}

type accessToken struct {
	value string
	exp   time.Time
}

func (s *tokenSource) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *tokenSource) invalidate(tok string) {
	s.cur.invalidate(func(a accessToken) bool { return a.value == tok })
}

func (s *tokenSource) token(ctx context.Context) (string, error) {
	a, err := s.cur.get(ctx, func(a accessToken) bool { return s.clock().Before(a.exp) }, func(ctx context.Context) (accessToken, error) {
		tok, exp, err := s.fetch(ctx)
		return accessToken{value: tok, exp: exp}, err
	})
	return a.value, err
}

func (s *tokenSource) fetch(ctx context.Context) (string, time.Time, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if s.scope != "" {
		form.Set("scope", s.scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fetching OAuth token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(s.id), url.QueryEscape(s.secret))
	started := s.clock()
	resp, err := s.hc.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fetching OAuth token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode != http.StatusOK {
		return "", time.Time{}, fmt.Errorf("fetching OAuth token: %w", &Error{StatusCode: resp.StatusCode,
			Message: "token endpoint refused the client credentials"})
	}
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", time.Time{}, errors.New("fetching OAuth token: the answer has no access_token")
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	// Renew shortly before expiry: a minute early, or a tenth of the lifetime for short-lived tokens.
	margin := min(time.Minute, life/10)
	s.log.Debug("fetched OAuth token", "expires_in", life.String())
	return tr.AccessToken, started.Add(life - margin), nil
}

// timeoutTransport bounds one attempt, body included: the deadline is cancelled when the body is closed.
type timeoutTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeoutCause(req.Context(), t.timeout, errAttemptTimeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		if context.Cause(ctx) == errAttemptTimeout && req.Context().Err() == nil {
			return nil, fmt.Errorf("%w after %s: %w", errAttemptTimeout, t.timeout, err)
		}
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

var errAttemptTimeout = errors.New("SAP request timed out")

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// retryTransport retries reads (GET, HEAD) on 429/502/503/504, timeouts and broken connections, with exponential
// backoff, full jitter and Retry-After. Writes pass through untouched: whether a POST may be repeated is the
// caller's decision (SAP sales orders are not idempotent).
type retryTransport struct {
	next    http.RoundTripper
	retries int
	base    time.Duration
	max     time.Duration
	log     *slog.Logger
	sleep   func(context.Context, time.Duration) error // test seam
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func retryableErr(err error) bool {
	if errors.Is(err, errAttemptTimeout) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isRead(method string) bool { return method == http.MethodGet || method == http.MethodHead }

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isRead(req.Method) || t.retries == 0 {
		return t.next.RoundTrip(req)
	}
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if req.Context().Err() != nil {
			return resp, err
		}
		var wait time.Duration
		switch {
		case err != nil && retryableErr(err):
		case err == nil && retryableStatus(resp.StatusCode):
			wait = retryAfter(resp.Header, time.Now())
		default:
			return resp, err
		}
		if attempt >= t.retries || wait > t.max {
			return resp, err
		}
		if resp != nil {
			drain(resp)
		}
		backoff := t.base << attempt
		if backoff > t.max || backoff <= 0 {
			backoff = t.max
		}
		backoff = time.Duration(rand.Int64N(int64(backoff)) + 1) // full jitter
		wait = max(wait, backoff)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.log.WarnContext(req.Context(), "retrying SAP read", "attempt", attempt+1, "status", status,
			"wait", wait.String(), "path", req.URL.Path)
		if err := t.wait(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

func (t *retryTransport) wait(ctx context.Context, d time.Duration) error {
	if t.sleep != nil {
		return t.sleep(ctx, d)
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain discards a little of an unused body so the connection can be reused, then closes it.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}

// rewind returns a clone of req with a fresh body, for sending it again.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return r, nil
		}
		b, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("rewinding request body: %w", err)
		}
		r.Body = b
	}
	return r, nil
}
