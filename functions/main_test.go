package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/storetest"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the real handler and the bare baseline once per test binary, as `make build` does.
func binaries(tb testing.TB) (handler, bare string) {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "d365sap-bin-")
		if buildErr != nil {
			return
		}
		for _, b := range []struct{ out, pkg string }{{"handler", "."}, {"barehttp", "./testdata/barehttp"}} {
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -X main.version=test -X main.build=test", "-o", filepath.Join(binDir, b.out), b.pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("building %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return filepath.Join(binDir, "handler"), filepath.Join(binDir, "barehttp")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// exampleSettings are the Values of local.settings.example.json, as the host would pass them.
func exampleSettings(tb testing.TB) map[string]string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "local.settings.example.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var f struct{ Values map[string]string }
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	return f.Values
}

// testStorage is Azurite's connection string from infra/local/with-azurite.
func testStorage(t *testing.T) string { return storetest.ConnectionString(t) }

func freePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func envList(m map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// hostEnv is the environment the Functions host gives the handler: its own variables plus every app setting.
func hostEnv(tb testing.TB, port string, settings map[string]string) []string {
	m := map[string]string{}
	for k, v := range settings {
		m[k] = v
	}
	root, _ := filepath.Abs("..")
	m["FUNCTIONS_CUSTOMHANDLER_PORT"] = port
	m["FUNCTIONS_HTTPWORKER_PORT"] = port
	m["FUNCTIONS_CUSTOMHANDLER_WORKER_ID"] = "3c2b1a00-0000-4000-8000-000000000001"
	m["FUNCTIONS_HTTPWORKER_ID"] = "3c2b1a00-0000-4000-8000-000000000001"
	m["FUNCTIONS_APP_ROOT_PATH"] = root
	return envList(m)
}

func TestRunWithoutRuntimeSaysHow(t *testing.T) {
	handler, _ := binaries(t)
	cmd := exec.Command(handler)
	cmd.Env = envList(nil)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want 2", err)
	}
	for _, want := range []string{"FUNCTIONS_CUSTOMHANDLER_PORT", "AWS_LAMBDA_RUNTIME_API", "_HANDLER", "make run"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("usage does not mention %s:\n%s", want, stderr.String())
		}
	}
}

func TestBadSettingsFailFastWithoutSecrets(t *testing.T) {
	handler, _ := binaries(t)
	s := exampleSettings(t)
	s["SAP_PASSWORD"] = "very-secret-pw"
	s["SAP_TIMEOUT"] = "later"
	s["DATAVERSE_URL"] = ""
	cmd := exec.Command(handler)
	cmd.Env = hostEnv(t, freePort(t), s)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want 1\n%s", err, out)
	}
	if !strings.Contains(string(out), "SAP_TIMEOUT") || !strings.Contains(string(out), "DATAVERSE_URL") {
		t.Errorf("output does not name both settings:\n%s", out)
	}
	if strings.Contains(string(out), "very-secret-pw") {
		t.Errorf("output leaks a secret:\n%s", out)
	}
}

type process struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	base   string
	exited chan error
}

// syncBuffer collects a process's output from several goroutines.
type syncBuffer = e2e.Buffer

// startAsHost starts bin as the Functions host does and waits until GET / answers, returning the time that took.
func startAsHost(tb testing.TB, bin string, settings map[string]string) (*process, time.Duration) {
	tb.Helper()
	port := freePort(tb)
	p := &process{cmd: exec.Command(bin), out: &syncBuffer{}, base: "http://127.0.0.1:" + port, exited: make(chan error, 1)}
	p.cmd.Env = hostEnv(tb, port, settings)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	start := time.Now()
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.base + "/")
		if err == nil {
			resp.Body.Close()
			return p, time.Since(start)
		}
		select {
		case err := <-p.exited:
			tb.Fatalf("%s exited before answering: %v\n%s", bin, err, p.out.String())
		case <-time.After(250 * time.Microsecond):
		}
		if time.Since(start) > 30*time.Second {
			_ = p.cmd.Process.Kill()
			tb.Fatalf("%s did not answer GET / within the host's 30 s", bin)
		}
	}
}

func (p *process) stop(tb testing.TB) {
	tb.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		tb.Fatal("did not stop within 10 s of SIGTERM")
	}
}

func TestHandlerUnderHostProtocol(t *testing.T) {
	handler, _ := binaries(t)
	s := exampleSettings(t)
	s["AzureWebJobsStorage"] = testStorage(t)
	p, ready := startAsHost(t, handler, s)
	t.Logf("ready after %s", ready)

	invocation := `{"Data":{"req":{"Url":"http://localhost:7071/api/health","Method":"GET","Query":{},"Headers":{"Accept":["application/json"]},"Params":{}}},"Metadata":{"sys":{"MethodName":"health","UtcNow":"2026-11-27T05:00:00Z","RandGuid":"d0d0d0d0-0000-4000-8000-000000000000"}}}`
	req, _ := http.NewRequest(http.MethodPost, p.base+"/health", strings.NewReader(invocation))
	req.Header.Set("X-Azure-Functions-InvocationId", "9f8e7d6c-0000-4000-8000-00000000abcd")
	req.Header.Set("User-Agent", "Azure-Functions-Host/4.1040.300.0")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var inv struct {
		Outputs map[string]struct {
			StatusCode string `json:"statusCode"`
			Body       string `json:"body"`
		}
		Logs []string
	}
	_ = json.NewDecoder(resp.Body).Decode(&inv)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("invocation status %d", resp.StatusCode)
	}
	res := inv.Outputs["res"]
	var rep struct {
		Status  string
		Version string
		Checks  map[string]struct{ OK bool }
	}
	if err := json.Unmarshal([]byte(res.Body), &rep); err != nil {
		t.Fatalf("health body %q: %v", res.Body, err)
	}
	if res.StatusCode != "200" || rep.Status != "ok" || !rep.Checks["storage"].OK || rep.Version != "test" {
		t.Fatalf("health = %s %+v\n%s", res.StatusCode, rep, p.out.String())
	}
	p.stop(t)
	logs := p.out.String()
	if !strings.Contains(logs, `"invocation_id":"9f8e7d6c-0000-4000-8000-00000000abcd"`) || !strings.Contains(logs, `"function":"health"`) {
		t.Errorf("log lines lack the invocation id and function:\n%s", logs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("log line is not JSON: %s", line)
		}
	}
	if strings.Contains(logs, "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq") || strings.Contains(logs, "local-dev-password") {
		t.Errorf("logs leak a secret")
	}
}

// fakeRuntimeAPI is the Lambda runtime API as aws-lambda-go uses it: one event, then the answer is captured.
type fakeRuntimeAPI struct {
	event    []byte
	once     sync.Once
	response chan []byte
}

func (f *fakeRuntimeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
		served := false
		f.once.Do(func() {
			served = true
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
			w.Header().Set("Lambda-Runtime-Deadline-Ms", fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:health")
			_, _ = w.Write(f.event)
		})
		if !served {
			<-r.Context().Done() // no second event: hold the long poll like the real API
		}
	case r.Method == http.MethodPost && r.URL.Path == "/2018-06-01/runtime/invocation/req-1/response":
		b, _ := io.ReadAll(r.Body)
		f.response <- b
		w.WriteHeader(http.StatusAccepted)
	default:
		b, _ := io.ReadAll(r.Body)
		f.response <- append([]byte("unexpected "+r.Method+" "+r.URL.Path+": "), b...)
		w.WriteHeader(http.StatusAccepted)
	}
}

func TestHandlerOnLambda(t *testing.T) {
	handler, _ := binaries(t)
	s := exampleSettings(t)
	s["AzureWebJobsStorage"] = testStorage(t)
	ev := events.APIGatewayV2HTTPRequest{RawPath: "/health", Headers: map[string]string{"accept": "application/json"}}
	ev.RequestContext.HTTP.Method = "GET"
	evb, _ := json.Marshal(ev)
	api := &fakeRuntimeAPI{event: evb, response: make(chan []byte, 2)}
	srv := httptest.NewServer(api)
	defer srv.Close()
	s["AWS_LAMBDA_RUNTIME_API"] = strings.TrimPrefix(srv.URL, "http://")
	s["_HANDLER"] = "health"
	cmd := exec.Command(handler)
	cmd.Env = envList(s)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case b := <-api.response:
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(b, &resp); err != nil {
			t.Fatalf("response %s: %v", b, err)
		}
		if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"status":"ok"`) {
			t.Fatalf("response = %+v\n%s", resp, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no response from the handler on Lambda\n%s", out.String())
	}
}

func TestUnknownLambdaHandlerFails(t *testing.T) {
	handler, _ := binaries(t)
	s := exampleSettings(t)
	s["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9"
	s["_HANDLER"] = "nosuchfunction"
	cmd := exec.Command(handler)
	cmd.Env = envList(s)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "nosuchfunction") || !strings.Contains(string(out), "health") {
		t.Fatalf("exit = %v\n%s", err, out)
	}
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	handler, _ := binaries(t)
	s := exampleSettings(t)
	s["SHUTDOWN_TIMEOUT"] = "2s"
	p, _ := startAsHost(t, handler, s)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.out.String())
		}
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Fatal("still running 5 s after SIGTERM")
	}
	if !strings.Contains(p.out.String(), "shutting down") {
		t.Errorf("no shutdown log:\n%s", p.out.String())
	}
}
