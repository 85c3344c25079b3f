// Package simtest starts the SAP simulator for a test and stops it when the test ends.
package simtest

import (
	"net/http/httptest"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// Username and Password are the credentials Start configures when the options name none.
const (
	Username = "SIMUSER"
	Password = "sim-secret"
)

// Start serves a simulator on a loopback port for the test and returns it with its base URL (scheme://host:port,
// the value for SAP_BASE_URL). Faults can then be set with s.SetFaults.
func Start(tb testing.TB, o sapsim.Options) (s *sapsim.Server, baseURL string) {
	tb.Helper()
	if o.Username == "" && o.OAuthClientID == "" {
		o.Username, o.Password = Username, Password
	}
	s = sapsim.New(o)
	// Cleanups run last first: the server closes, then the commits a SlowCommit fault left running finish.
	tb.Cleanup(s.Quiesce)
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return s, ts.URL
}
