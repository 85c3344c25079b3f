package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

// The real handler, built from ./functions, answers /api/health through the stand-in.
func TestHealthThroughTheHost(t *testing.T) {
	app := Start(t, nil)
	resp := app.Get(t, "/api/health")
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	var body struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("decoding %s: %v", resp.Body, err)
	}
	if body.Status != "ok" {
		t.Errorf("status %q in %s", body.Status, resp.Body)
	}
	if !app.Log.Contains(`"function":"health"`) {
		t.Error("the host log does not show the health invocation")
	}
	if r := app.Get(t, "/api/nothing-here"); r.Status != http.StatusNotFound {
		t.Errorf("unknown route: status %d", r.Status)
	}
}

// A test's own host.json replaces the repository's: here an empty route prefix moves health to /health.
func TestOwnHostJSON(t *testing.T) {
	app := Start(t, &Options{HostJSON: `{"version":"2.0",
 "customHandler":{"description":{"defaultExecutablePath":"handler","workingDirectory":"","arguments":[]}},
 "extensions":{"http":{"routePrefix":""}}}`})
	if r := app.Get(t, "/health"); r.Status != http.StatusOK {
		t.Errorf("/health: status %d: %s", r.Status, r.Body)
	}
	if r := app.Get(t, "/api/health"); r.Status != http.StatusNotFound {
		t.Errorf("/api/health: status %d, want 404 without the prefix", r.Status)
	}
}
