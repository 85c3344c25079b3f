package sap

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
)

// Whether a failed write may have reached SAP. A write that never got a connection (the dial, the DNS lookup or
// the TLS handshake failed) cannot have been received; once a connection was handed to the request, some or all
// of it may have been written, and SAP may have acted on it. net/http reports both moments to an
// httptrace.ClientTrace: GetConn when the request starts looking for a connection, GotConn when it has one.

type probeKey struct{}

// sendProbe records, for the latest attempt of one write, whether it looked for a connection and whether it got
// one. Only the latest attempt counts: the earlier ones were answered (401, 403 CSRF) before SAP ran them.
type sendProbe struct {
	getConn, gotConn atomic.Bool
}

// neverConnected reports that the transport looked for a connection and never got one: nothing was sent. A
// transport that reports neither (not net/http's) proves nothing, so the answer is false.
func (p *sendProbe) neverConnected() bool { return p.getConn.Load() && !p.gotConn.Load() }

func withProbe(ctx context.Context, p *sendProbe) context.Context {
	return context.WithValue(ctx, probeKey{}, p)
}

// probeTransport sits right above the network transport and wires the probe of a write, if its context carries
// one, to the connection events of the attempt. Other requests (reads, token and CSRF fetches) pass untouched.
type probeTransport struct{ next http.RoundTripper }

func (t *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p, _ := req.Context().Value(probeKey{}).(*sendProbe)
	if p == nil {
		return t.next.RoundTrip(req)
	}
	p.getConn.Store(false)
	p.gotConn.Store(false)
	trace := &httptrace.ClientTrace{
		GetConn: func(string) { p.getConn.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { p.gotConn.Store(true) },
	}
	return t.next.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
}
