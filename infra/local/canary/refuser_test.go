package canary_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// refuser serves a simulator; while on, the requests it matches reach the simulator with a credential it does
// not know, so the simulator answers them with its own 401 although the app sent the right one: SAP refusing
// one create, Dataverse refusing one write-back, with everything before them accepted.
type refuser struct {
	next  http.Handler
	match func(*http.Request) bool
	on    atomic.Bool
}

func (f *refuser) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.on.Load() && f.match(r) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer refused-by-the-test")
	}
	f.next.ServeHTTP(w, r)
}

// startSAP serves the SAP simulator (as simtest.Start does) behind a refuser of sales order writes, behind the
// search of what it receives.
func startSAP(t *testing.T, o sapsim.Options) (*sapsim.Server, *refuser, *inbound, string) {
	t.Helper()
	s := sapsim.New(o)
	t.Cleanup(s.Quiesce) // runs after the server closes: commits a fault left running finish
	f := &refuser{next: s, match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/API_SALES_ORDER_SRV/")
	}}
	in := &inbound{next: f}
	ts := httptest.NewServer(in)
	t.Cleanup(ts.Close)
	return s, f, in, ts.URL
}

// startDataverse serves the Dataverse simulator (its token endpoint too) behind a refuser of updates (the
// write-back), behind the search of what it receives.
func startDataverse(t *testing.T, o dvsim.Options) (*dvsim.Server, *refuser, *inbound, string) {
	t.Helper()
	s, err := dvsim.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f := &refuser{next: s, match: func(r *http.Request) bool { return r.Method == http.MethodPatch }}
	in := &inbound{next: f}
	ts := httptest.NewServer(in)
	t.Cleanup(ts.Close)
	s.SetBaseURL(ts.URL)
	return s, f, in, ts.URL
}
