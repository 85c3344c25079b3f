// Package e2e runs the real function app end to end in tests: it builds the handler from ./functions, lays out
// dist/ with infra/local/pack, starts the host stand-in (infra/local/funchost) against Azurite and hands the test a client.
//
//	func TestMain(m *testing.M) { e2e.Main(m) }
//
//	func TestHealth(t *testing.T) {
//		app := e2e.Start(t, nil)
//		resp := app.Get(t, "/api/health")
//		...
//	}
package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/d365sap/d365sap/infra/local/funchost"
	"github.com/d365sap/d365sap/infra/local/kit"
	"github.com/d365sap/d365sap/infra/local/pack"
	"github.com/d365sap/d365sap/infra/local/storetest"
)

// StorageEnv names the variable holding the Azurite connection string (set by infra/local/with-azurite).
const StorageEnv = storetest.EnvVar

// Options adjust one app. Nil means defaults.
type Options struct {
	// Settings override the app settings, which start from local.settings.example.json at the repository root.
	Settings map[string]string
	// HostJSON, when set, replaces the repository's host.json in the laid-out app (e.g. shorter queue timings).
	HostJSON string
	// WorkerSettings override Settings for the handler process only (see funchost.Options.WorkerSettings).
	WorkerSettings map[string]string
}

// App is a running function app.
type App struct {
	BaseURL     string // http://127.0.0.1:<port>
	MasterKey   string
	FunctionKey string
	Storage     string // the storage connection string the app uses
	Dist        string // the laid-out app folder
	Client      *http.Client
	Host        *funchost.Host
	Log         *Buffer // the host's JSON log and the handler's output
}

var (
	buildOnce sync.Once
	buildDir  string
	handler   string
	buildErr  error
)

// Main runs the package's tests and removes the handler built for them; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// RepoRoot is the directory holding go.mod, found by walking up from the working directory.
func RepoRoot() (string, error) { return kit.RepoRoot() }

// Handler builds the real handler (./functions) once per test process, for this machine, and returns its path.
func Handler(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "d365sap-e2e")
		if buildErr != nil {
			return
		}
		handler = filepath.Join(buildDir, pack.HandlerName)
		// The same tags as make build: lambda.norpc drops the legacy go1.x RPC runtime.
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", handler, "./functions")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("building ./functions: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return handler
}

// Storage returns the Azurite connection string; without one it skips, or fails when CI is "true".
func Storage(t testing.TB) string { return storetest.ConnectionString(t) }

// Layout builds the handler and lays out a fresh app folder in a temporary directory.
func Layout(t testing.TB, hostJSON string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	exe := Handler(t)
	src := root
	if hostJSON != "" {
		// pack reads host.json from the source root: give it a root whose functions/ is the real one.
		src = t.TempDir()
		if err := os.WriteFile(filepath.Join(src, "host.json"), []byte(hostJSON), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(root, pack.FunctionsDir), filepath.Join(src, pack.FunctionsDir)); err != nil {
			t.Fatal(err)
		}
	}
	dist := filepath.Join(t.TempDir(), "dist")
	if _, err := pack.Layout(src, exe, dist); err != nil {
		t.Fatalf("laying out the app: %v", err)
	}
	return dist
}

// Settings are the app settings for a test: the repository's example settings, Azurite, then the overrides.
func Settings(t testing.TB, storage string, overrides map[string]string) map[string]string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	example := filepath.Join(root, "local.settings.example.json")
	if _, err := os.Stat(example); err == nil {
		if settings, err = funchost.ReadLocalSettings(example); err != nil {
			t.Fatal(err)
		}
	}
	settings["FUNCTIONS_WORKER_RUNTIME"] = "Custom"
	settings[funchost.SettingStorage] = storage
	for k, v := range overrides {
		settings[k] = v
	}
	return settings
}

// Start runs the real app under the stand-in against Azurite on a free port; it stops when the test ends.
func Start(t testing.TB, opts *Options) *App {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	storage := Storage(t)
	dist := Layout(t, opts.HostJSON)
	settings := Settings(t, storage, opts.Settings)
	buf := &Buffer{}
	h, err := funchost.New(funchost.Options{Dist: dist, Settings: settings, Addr: "127.0.0.1:0", WorkerSettings: opts.WorkerSettings,
		Logger: slog.New(slog.NewJSONHandler(buf, nil)), WorkerOutput: buf})
	if err != nil {
		t.Fatalf("loading the app: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatalf("starting the app: %v\n%s", err, buf.String())
	}
	t.Cleanup(func() {
		h.Close()
		if t.Failed() {
			t.Logf("host log and handler output:\n%s", buf.String())
		}
	})
	return &App{BaseURL: "http://" + h.Addr(), MasterKey: h.MasterKey(), FunctionKey: h.FunctionKey(),
		Storage: storage, Dist: dist, Client: &http.Client{Timeout: 2 * time.Minute}, Host: h, Log: buf}
}

// URL is the app's address for a path such as "/api/health".
func (a *App) URL(path string) string { return a.BaseURL + path }

// Response is a read response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request to the app; key, when not empty, goes in x-functions-key.
func (a *App) Do(t testing.TB, method, path, key string, body []byte, header http.Header) Response {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, a.URL(path), r)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if key != "" {
		req.Header.Set("x-functions-key", key)
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s %s: %v", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Get is an unauthenticated GET.
func (a *App) Get(t testing.TB, path string) Response {
	t.Helper()
	return a.Do(t, http.MethodGet, path, "", nil, nil)
}

// Invoke runs a non-HTTP function now through the host's admin call, with input for a queue function.
func (a *App) Invoke(t testing.TB, function, input string) {
	t.Helper()
	body := fmt.Sprintf(`{"input":%q}`, input)
	resp := a.Do(t, http.MethodPost, "/admin/functions/"+function, a.MasterKey, []byte(body),
		http.Header{"Content-Type": {"application/json"}})
	if resp.Status != http.StatusAccepted {
		t.Fatalf("admin call for %s: status %d: %s", function, resp.Status, resp.Body)
	}
}

// Enqueue puts a message on a queue as a producer does for the default messageEncoding: base64.
func (a *App) Enqueue(t testing.TB, queue, message string) {
	t.Helper()
	q := a.queue(t, queue)
	if _, err := q.EnqueueMessage(context.Background(), base64.StdEncoding.EncodeToString([]byte(message)), nil); err != nil {
		t.Fatalf("enqueueing to %s: %v", queue, err)
	}
}

func (a *App) queue(t testing.TB, name string) *azqueue.QueueClient {
	t.Helper()
	svc, err := azqueue.NewServiceClientFromConnectionString(a.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient(name)
	if _, err := q.Create(context.Background(), nil); err != nil {
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.ErrorCode != "QueueAlreadyExists" {
			t.Fatalf("creating queue %s: %v", name, err)
		}
	}
	return q
}

// Receive waits up to within for n messages on a queue, deletes them and returns their base64-decoded contents.
func (a *App) Receive(t testing.TB, queue string, n int, within time.Duration) []string {
	t.Helper()
	q := a.queue(t, queue)
	var got []string
	deadline := time.Now().Add(within)
	for len(got) < n {
		n32 := int32(32)
		resp, err := q.DequeueMessages(context.Background(), &azqueue.DequeueMessagesOptions{NumberOfMessages: &n32})
		if err != nil {
			t.Fatalf("reading %s: %v", queue, err)
		}
		for _, m := range resp.Messages {
			b, err := base64.StdEncoding.DecodeString(*m.MessageText)
			if err != nil {
				b = []byte(*m.MessageText)
			}
			got = append(got, string(b))
			q.DeleteMessage(context.Background(), *m.MessageID, *m.PopReceipt, nil)
		}
		if len(got) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages on %s within %s", len(got), n, queue, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return got
}

// Buffer collects log output safely from several goroutines.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Contains reports whether the log holds s.
func (b *Buffer) Contains(s string) bool { return strings.Contains(b.String(), s) }

// Count is how many times s occurs in what was written so far.
func (b *Buffer) Count(s string) int { return strings.Count(b.String(), s) }

// QueueLength is the approximate number of messages on a queue (0 when the queue does not exist).
func (a *App) QueueLength(t testing.TB, queue string) int {
	t.Helper()
	props, err := a.queue(t, queue).GetProperties(context.Background(), nil)
	if err != nil {
		if strings.Contains(err.Error(), "QueueNotFound") {
			return 0
		}
		t.Fatalf("reading the properties of %s: %v", queue, err)
	}
	if props.ApproximateMessagesCount == nil {
		return 0
	}
	return int(*props.ApproximateMessagesCount)
}
