package funchost

import (
	"bytes"
	"context"
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
)

// handlerBin is the test custom handler, built once for the whole package.
var (
	buildOnce  sync.Once
	handlerBin string
	buildErr   error
	buildDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func testHandler(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "funchost-test")
		if buildErr != nil {
			return
		}
		handlerBin = filepath.Join(buildDir, "handler")
		cmd := exec.Command("go", "build", "-o", handlerBin, "./testdata/testhandler")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building the test handler: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return handlerBin
}

// hostJSON returns a host.json for the tests; small queue timings keep the poison test short.
func hostJSON(forward bool) string {
	return fmt.Sprintf(`{"version":"2.0",
 "customHandler":{"description":{"defaultExecutablePath":"handler","workingDirectory":"","arguments":[]},
                  "enableForwardingHttpRequest":%t},
 "functionTimeout":"00:00:30",
 "extensions":{"http":{"routePrefix":"api"},
               "queues":{"maxDequeueCount":3,"visibilityTimeout":"00:00:01","maxPollingInterval":"00:00:00.500","batchSize":4,"messageEncoding":"base64"}}}`, forward)
}

// makeDist lays out an app folder from testdata/apps/<app> plus host.json and the given executable.
func makeDist(t testing.TB, app, host, exe string) string {
	t.Helper()
	dist := t.TempDir()
	src := filepath.Join("testdata", "apps", app)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name(), "function.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dist, e.Name()), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dist, e.Name(), "function.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dist, "host.json"), []byte(host), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "handler"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dist
}

// syncBuffer collects the host's log and the handler's output for assertions.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testHost struct {
	*Host
	base string
	log  *syncBuffer
}

func startHost(t *testing.T, dist string, settings map[string]string) *testHost {
	t.Helper()
	return startHostWith(t, dist, settings, nil)
}

// startHostWith is startHost with settings only the handler process sees.
func startHostWith(t *testing.T, dist string, settings, workerSettings map[string]string) *testHost {
	t.Helper()
	buf := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, nil))
	if settings == nil {
		settings = map[string]string{}
	}
	settings[SettingWorkerRT] = "Custom"
	h, err := New(Options{Dist: dist, Settings: settings, Addr: "127.0.0.1:0", Logger: log, WorkerOutput: buf,
		ReadyTimeout: 20 * time.Second, WorkerSettings: workerSettings})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Start(ctx); err != nil {
		t.Fatalf("Start: %v\nlog:\n%s", err, buf.String())
	}
	t.Cleanup(func() {
		h.Close()
		if t.Failed() || os.Getenv("FUNCHOST_TEST_LOG") != "" {
			t.Logf("host log:\n%s", buf.String())
		}
	})
	return &testHost{Host: h, base: "http://" + h.Addr(), log: buf}
}

// do sends one request and returns status, headers and body.
func do(t *testing.T, method, url string, header map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// eventually retries f until it returns nil or the deadline passes.
func eventually(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }
