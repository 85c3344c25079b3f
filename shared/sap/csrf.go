package sap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
)

// csrfTransport gives every write and $batch the CSRF token and session cookies SAP requires. Tokens are fetched
// with "X-CSRF-Token: Fetch" once per service and shared by concurrent callers; a 403 with
// "X-CSRF-Token: Required" (expired token or session) triggers one refetch and one replay: SAP validates the token
// before it runs the request, so the replay cannot duplicate a write. A write that fails without an answer carries
// ErrNotSent when it provably never left (see sendProbe), ErrOutcomeUnknown otherwise.
type csrfTransport struct {
	next      http.RoundTripper
	sapClient string
	log       *slog.Logger
	mu        sync.Mutex
	services  map[string]*csrfState
}

// csrfSession is a token with the cookies of the session it belongs to; the map is never changed once published.
type csrfSession struct {
	token   string
	cookies map[string]string // name → value: SAP_SESSIONID_*, sap-XSRF_* and friends
}

type csrfState = sharedValue[csrfSession]

// serviceRoot returns "/sap/opu/odata/sap/<SERVICE>" for a request path.
func serviceRoot(path string) string {
	rest, ok := strings.CutPrefix(path, ServicePrefix)
	if !ok {
		return path
	}
	name, _, _ := strings.Cut(rest, "/")
	return ServicePrefix + name
}

func (t *csrfTransport) state(root string) *csrfState {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.services == nil {
		t.services = map[string]*csrfState{}
	}
	st, ok := t.services[root]
	if !ok {
		st = &csrfState{}
		t.services[root] = st
	}
	return st
}

func (t *csrfTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if isRead(req.Method) || req.Method == http.MethodOptions {
		return t.next.RoundTrip(req)
	}
	root := serviceRoot(req.URL.Path)
	st := t.state(root)
	for attempt := 0; ; attempt++ {
		sess, err := st.get(req.Context(), nil, func(ctx context.Context) (csrfSession, error) {
			return t.fetch(ctx, req, root)
		})
		if err != nil {
			return nil, fmt.Errorf("%w: fetching CSRF token: %w", ErrNotSent, err)
		}
		tok, cookie := sess.token, sess.cookieHeader()
		r, err := rewind(req)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
		}
		r.Header.Set("X-CSRF-Token", tok)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		probe := &sendProbe{}
		resp, err := t.next.RoundTrip(r.WithContext(withProbe(r.Context(), probe)))
		if err != nil {
			if errors.Is(err, ErrNotSent) {
				return nil, err
			}
			if probe.neverConnected() {
				return nil, fmt.Errorf("%w: %w", ErrNotSent, err)
			}
			return nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
		}
		remember(st, resp.Cookies())
		required := resp.StatusCode == http.StatusForbidden &&
			strings.EqualFold(resp.Header.Get("X-CSRF-Token"), "Required")
		if !required || attempt > 0 || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, nil
		}
		drain(resp)
		t.log.InfoContext(req.Context(), "CSRF token rejected; fetching a new one", "service", root)
		st.invalidate(func(cur csrfSession) bool { return cur.token == tok })
	}
}

// fetch runs GET <service>/ with X-CSRF-Token: Fetch.
func (t *csrfTransport) fetch(ctx context.Context, orig *http.Request, root string) (csrfSession, error) {
	u := *orig.URL
	u.Path = root + "/"
	u.RawPath = ""
	u.RawQuery = ""
	if t.sapClient != "" {
		u.RawQuery = "sap-client=" + t.sapClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return csrfSession{}, err
	}
	req.Header.Set("X-CSRF-Token", "Fetch")
	req.Header.Set("Accept", "application/json")
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return csrfSession{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return csrfSession{}, parseError(resp, body)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	tok := resp.Header.Get("X-CSRF-Token")
	if tok == "" || strings.EqualFold(tok, "Required") {
		return csrfSession{}, fmt.Errorf("SAP sent no X-CSRF-Token for %s", root)
	}
	cookies := map[string]string{}
	for _, c := range resp.Cookies() {
		cookies[c.Name] = c.Value
	}
	return csrfSession{token: tok, cookies: cookies}, nil
}

func (s csrfSession) cookieHeader() string {
	parts := make([]string, 0, len(s.cookies))
	for k, v := range s.cookies {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, "; ")
}

// remember keeps cookies SAP refreshes on a write answer.
func remember(st *csrfState, cs []*http.Cookie) {
	if len(cs) == 0 {
		return
	}
	st.update(func(cur csrfSession) csrfSession {
		next := maps.Clone(cur.cookies)
		if next == nil {
			next = map[string]string{}
		}
		for _, c := range cs {
			if c.MaxAge < 0 {
				delete(next, c.Name)
				continue
			}
			next[c.Name] = c.Value
		}
		cur.cookies = next
		return cur
	})
}
