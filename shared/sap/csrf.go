package sap

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// csrfTransport gives every write and $batch the CSRF token and session cookies SAP requires. Tokens are fetched
// with "X-CSRF-Token: Fetch" once per service and shared by concurrent callers; a 403 with
// "X-CSRF-Token: Required" (expired token or session) triggers one refetch and one replay: SAP validates the token
// before it runs the request, so the replay cannot duplicate a write.
type csrfTransport struct {
	next      http.RoundTripper
	sapClient string
	log       *slog.Logger
	mu        sync.Mutex
	services  map[string]*csrfState
}

type csrfState struct {
	mu       sync.Mutex
	token    string
	cookies  map[string]string // name → value, SAP_SESSIONID_*, sap-XSRF_* and friends
	inflight chan struct{}
	lastErr  error
	fetches  int
}

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
		st = &csrfState{cookies: map[string]string{}}
		t.services[root] = st
	}
	return st
}

// fetchCount reports how many CSRF fetches ran for a service root (for tests and metrics).
func (t *csrfTransport) fetchCount(root string) int {
	st := t.state(root)
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.fetches
}

func (t *csrfTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if isRead(req.Method) || req.Method == http.MethodOptions {
		return t.next.RoundTrip(req)
	}
	root := serviceRoot(req.URL.Path)
	st := t.state(root)
	for attempt := 0; ; attempt++ {
		tok, cookie, err := st.get(req.Context(), func(ctx context.Context) (string, map[string]string, error) {
			return t.fetch(ctx, req, root)
		})
		if err != nil {
			return nil, fmt.Errorf("fetching CSRF token: %w", err)
		}
		r, err := rewind(req)
		if err != nil {
			return nil, err
		}
		r.Header.Set("X-CSRF-Token", tok)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		resp, err := t.next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		st.remember(resp.Cookies())
		required := resp.StatusCode == http.StatusForbidden &&
			strings.EqualFold(resp.Header.Get("X-CSRF-Token"), "Required")
		if !required || attempt > 0 || (req.Body != nil && req.Body != http.NoBody && req.GetBody == nil) {
			return resp, nil
		}
		drain(resp)
		t.log.InfoContext(req.Context(), "CSRF token rejected; fetching a new one", "service", root)
		st.invalidate(tok)
	}
}

// fetch runs GET <service>/ with X-CSRF-Token: Fetch.
func (t *csrfTransport) fetch(ctx context.Context, orig *http.Request, root string) (string, map[string]string, error) {
	u := *orig.URL
	u.Path = root + "/"
	u.RawPath = ""
	u.RawQuery = ""
	if t.sapClient != "" {
		u.RawQuery = "sap-client=" + t.sapClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", nil, err
	}
	req.Header.Set("X-CSRF-Token", "Fetch")
	req.Header.Set("Accept", "application/json")
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return "", nil, parseError(resp, body)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	tok := resp.Header.Get("X-CSRF-Token")
	if tok == "" || strings.EqualFold(tok, "Required") {
		return "", nil, fmt.Errorf("SAP sent no X-CSRF-Token for %s", root)
	}
	cookies := map[string]string{}
	for _, c := range resp.Cookies() {
		cookies[c.Name] = c.Value
	}
	return tok, cookies, nil
}

func (s *csrfState) cookieHeader() string {
	parts := make([]string, 0, len(s.cookies))
	for k, v := range s.cookies {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, "; ")
}

func (s *csrfState) get(ctx context.Context, fetch func(context.Context) (string, map[string]string, error)) (string, string, error) {
	for {
		s.mu.Lock()
		if s.token != "" {
			tok, ck := s.token, s.cookieHeader()
			s.mu.Unlock()
			return tok, ck, nil
		}
		if ch := s.inflight; ch != nil {
			s.mu.Unlock()
			select {
			case <-ch:
				s.mu.Lock()
				err := s.lastErr
				s.mu.Unlock()
				if err != nil {
					return "", "", err
				}
				continue
			case <-ctx.Done():
				return "", "", ctx.Err()
			}
		}
		ch := make(chan struct{})
		s.inflight = ch
		s.fetches++
		s.mu.Unlock()

		tok, cookies, err := fetch(ctx)
		s.mu.Lock()
		s.inflight = nil
		s.lastErr = err
		if err == nil {
			s.token = tok
			s.cookies = cookies
		}
		s.mu.Unlock()
		close(ch)
		if err != nil {
			return "", "", err
		}
	}
}

// invalidate forgets tok unless another caller already replaced it, so a burst of 403s causes one fetch.
func (s *csrfState) invalidate(tok string) {
	s.mu.Lock()
	if s.token == tok {
		s.token = ""
	}
	s.mu.Unlock()
}

// remember keeps cookies SAP refreshes on a write answer.
func (s *csrfState) remember(cs []*http.Cookie) {
	if len(cs) == 0 {
		return
	}
	s.mu.Lock()
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(s.cookies, c.Name)
			continue
		}
		s.cookies[c.Name] = c.Value
	}
	s.mu.Unlock()
}
