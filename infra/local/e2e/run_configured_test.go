package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// make run sends the app's SAP calls to the SAP_BASE_URL its settings name and starts no SAP simulator: here the
// URL is a recording front of an SAP simulator this test serves on a free port. The smoke script drives the run
// and pushes the printed sample to written-back, the check CI makes on make run, against a URL of the test's own.
func TestLocalRunUsesConfiguredSAPURL(t *testing.T) {
	Storage(t) // runs with the storage tests: under with-azurite, and always in CI
	doc, values := exampleSettings(t)
	sim := sapsim.New(sapsim.Options{Username: values["SAP_USERNAME"].(string), Password: values["SAP_PASSWORD"].(string),
		SAPClient: values["SAP_CLIENT"].(string)})
	t.Cleanup(sim.Quiesce)
	front := startRecording(t, sim)
	values["SAP_BASE_URL"] = front.URL

	out := runSmoke(t, doc)
	if !strings.Contains(out, "run:   SAP                   REAL SYSTEM "+front.URL) {
		t.Errorf("the run does not say that SAP is the system at %s", front.URL)
	}
	if strings.Contains(out, "SAP simulator log") {
		t.Error("the run started an SAP simulator although SAP_BASE_URL names another system")
	}
	id := writtenBack(t, out)
	orders := sim.Orders()
	if len(orders) != 1 || !strings.EqualFold(orders[0].Extensions["YY1_D365OrderID_SDH"], id) {
		t.Errorf("SAP behind the configured URL has orders %+v; want one for %s", orders, id)
	}
	if calls := front.Calls(); !slices.Contains(calls, "POST /sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder") {
		t.Errorf("the configured URL saw no sales order create; calls: %v", calls)
	}
	if t.Failed() {
		t.Logf("smoke output:\n%s", out)
	}
}

// The same for Dataverse: DATAVERSE_URL names an org the test serves, the run starts no Dataverse simulator and
// prints the sample with a placeholder, and the smoke script pushes the order SMOKE_ORDER_ID names, which is
// read and written back through the configured URL.
func TestLocalRunUsesConfiguredDataverseURL(t *testing.T) {
	Storage(t)
	doc, values := exampleSettings(t)
	org, err := dvsim.New(dvsim.Options{Clients: map[string]string{
		values["DATAVERSE_CLIENT_ID"].(string): values["DATAVERSE_CLIENT_SECRET"].(string)}})
	if err != nil {
		t.Fatal(err)
	}
	// An order the SAP simulator the run starts can take: its customer and materials by the numbers it has.
	seeded, err := org.Seed(dvsim.SeedOptions{Orders: 1, LinesPerOrder: 2, AccountNumbers: []string{sapsim.CustomerID(1)},
		ProductNumbers: []string{sapsim.ProductID(0), sapsim.ProductID(1)}})
	if err != nil {
		t.Fatal(err)
	}
	front := startRecording(t, org)
	org.SetBaseURL(front.URL)
	values["DATAVERSE_URL"], values["DATAVERSE_AUTHORITY_HOST"] = front.URL, front.URL

	out := runSmoke(t, doc, "SMOKE_ORDER_ID="+seeded.Orders[0])
	for _, want := range []string{"run:   Dataverse             REAL SYSTEM " + front.URL, "smoke: the sample has a placeholder"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q", want)
		}
	}
	if strings.Contains(out, "Dataverse sim. log") {
		t.Error("the run started a Dataverse simulator although DATAVERSE_URL names another org")
	}
	if id := writtenBack(t, out); id != seeded.Orders[0] {
		t.Errorf("order %s written back; want %s", id, seeded.Orders[0])
	}
	row, _ := org.Get("salesorders", seeded.Orders[0])
	if s, _ := row["submitstatusdescription"].(string); !strings.HasPrefix(s, "Created in SAP as sales order ") {
		t.Errorf("the order's submit status in the configured org is %q", s)
	}
	if calls := front.Calls(); !slices.Contains(calls, "PATCH /api/data/v9.2/salesorders("+seeded.Orders[0]+")") {
		t.Errorf("the configured URL saw no write-back; calls: %v", calls)
	}
	if t.Failed() {
		t.Logf("smoke output:\n%s", out)
	}
}

// recording is a test server that serves a handler and remembers the method and path of every request.
type recording struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string
}

func startRecording(t *testing.T, h http.Handler) *recording {
	t.Helper()
	r := &recording{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.calls = append(r.calls, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

// Calls lists the requests so far, as "METHOD /path".
func (r *recording) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// exampleSettings reads local.settings.example.json, every field kept, and its Values to change.
func exampleSettings(t *testing.T) (doc map[string]any, values map[string]any) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "local.settings.example.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	values, ok := doc["Values"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no Values", path)
	}
	return doc, values
}

// runSmoke writes the settings document to a file of the test's and runs infra/local/smoke on the run script with
// it (under the stand-in, the app laid out for the test), failing the test unless the smoke passes.
func runSmoke(t *testing.T, doc map[string]any, env ...string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	settings := filepath.Join(t.TempDir(), "local.settings.json")
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(settings, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "infra", "local", "smoke"),
		"bash", filepath.Join(root, "infra", "local", "run"))
	cmd.Dir = root
	// The settings file alone says where the systems are: nothing the test process inherited may override it.
	cmd.Env = append(environWithout(doc["Values"].(map[string]any)), "RUN_SETTINGS="+settings, "DIST="+Layout(t, ""),
		"RUN_STANDIN=1")
	cmd.Env = append(cmd.Env, env...)
	// SIGTERM lets the smoke script stop the run it started; WaitDelay bounds the wait for it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("smoke: %v\n%s", err, out)
	}
	return string(out)
}

// writtenBack is the id of the order the smoke script saw written back.
func writtenBack(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`smoke: order ([0-9a-f-]{36}) written-back`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no written-back order in the output:\n%s", out)
	}
	return m[1]
}

// environWithout is the process environment without the settings' names and the run's and smoke's knobs.
func environWithout(settings map[string]any) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		_, isSetting := settings[name]
		knob := strings.HasPrefix(name, "RUN_") || strings.HasPrefix(name, "SMOKE_") || strings.HasPrefix(name, "AZURITE_") ||
			name == "SAPSIM_ADDR" || name == "DVSIM_ADDR" || name == "DIST"
		if !isSetting && !knob {
			env = append(env, kv)
		}
	}
	return env
}
