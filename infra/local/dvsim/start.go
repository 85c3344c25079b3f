package dvsim

import (
	"fmt"
	"net/http/httptest"
)

// Running is a simulator served on a loopback port (for tests and benchmarks).
type Running struct {
	*Server
	URL string // org URL, e.g. http://127.0.0.1:41234 (the Web API is under /api/data/v9.2/)
	srv *httptest.Server
}

// Start builds a simulator and serves it on 127.0.0.1 on a free port.
func Start(opts Options) (*Running, error) {
	s, err := New(opts)
	if err != nil {
		return nil, fmt.Errorf("starting simulator: %w", err)
	}
	hs := httptest.NewServer(s)
	s.SetBaseURL(hs.URL)
	return &Running{Server: s, URL: hs.URL, srv: hs}, nil
}

// StartTLS is Start over HTTPS with a self-signed certificate; Client() trusts it.
func StartTLS(opts Options) (*Running, error) {
	s, err := New(opts)
	if err != nil {
		return nil, fmt.Errorf("starting simulator: %w", err)
	}
	hs := httptest.NewTLSServer(s)
	s.SetBaseURL(hs.URL)
	return &Running{Server: s, URL: hs.URL, srv: hs}, nil
}

// HTTPServer exposes the httptest server (its Client() trusts the StartTLS certificate).
func (r *Running) HTTPServer() *httptest.Server { return r.srv }

// Close stops the listener and closes client connections.
func (r *Running) Close() {
	r.srv.CloseClientConnections()
	r.srv.Close()
}
