package funchost

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHTTPAuthLevels(t *testing.T) {
	exe := testHandler(t)
	for _, forward := range []bool{false, true} {
		h := startHost(t, makeDist(t, "http", hostJSON(forward), exe), nil)
		tests := []struct {
			name   string
			method string
			path   string
			header map[string]string
			want   int
		}{
			{"function level without key", "GET", "/api/hello/ann", nil, http.StatusUnauthorized},
			{"function level with wrong key", "GET", "/api/hello/ann", map[string]string{"x-functions-key": "nope"}, http.StatusUnauthorized},
			{"function key in header", "GET", "/api/hello/ann", map[string]string{"x-functions-key": DefaultFunctionKey}, http.StatusOK},
			{"function key in code", "GET", "/api/hello/ann?code=" + DefaultFunctionKey, nil, http.StatusOK},
			{"master key on function level", "GET", "/api/hello/ann", map[string]string{"x-functions-key": DefaultMasterKey}, http.StatusOK},
			{"admin level with function key", "GET", "/api/secret", map[string]string{"x-functions-key": DefaultFunctionKey}, http.StatusUnauthorized},
			{"admin level with master key", "GET", "/api/secret?code=" + DefaultMasterKey, nil, http.StatusOK},
			{"anonymous", "GET", "/api/env", nil, http.StatusOK},
			{"method not in methods", "PUT", "/api/hello/ann?code=" + DefaultFunctionKey, nil, http.StatusNotFound},
			{"unknown route", "GET", "/api/nothing", nil, http.StatusNotFound},
			{"missing route parameter", "GET", "/api/hello?code=" + DefaultFunctionKey, nil, http.StatusNotFound},
			{"route is case-insensitive", "GET", "/API/Hello/ann?code=" + DefaultFunctionKey, nil, http.StatusOK},
		}
		for _, tt := range tests {
			name := tt.name
			if forward {
				name = "forwarded/" + name
				// The host forwards the path as the client wrote it; the test handler's router is case-sensitive.
				if tt.path != strings.ToLower(tt.path) {
					continue
				}
			}
			t.Run(name, func(t *testing.T) {
				got, _, body := do(t, tt.method, h.base+tt.path, tt.header, "")
				if got != tt.want {
					t.Errorf("status = %d, want %d (body %q)", got, tt.want, body)
				}
			})
		}
	}
}

func TestHTTPKeysFromSettings(t *testing.T) {
	h := startHost(t, makeDist(t, "http", hostJSON(false), testHandler(t)),
		map[string]string{SettingFunctionKey: "fk-1", SettingMasterKey: "mk-1"})
	for key, want := range map[string]int{"fk-1": 200, "mk-1": 200, DefaultFunctionKey: 401, "": 401} {
		if got, _, _ := do(t, "GET", h.base+"/api/hello/x", map[string]string{"x-functions-key": key}, ""); got != want {
			t.Errorf("key %q: status %d, want %d", key, got, want)
		}
	}
}

// echoed is what the test handler answers for hello, wrapped or forwarded.
type echoed struct {
	Mode         string            `json:"mode"`
	Method       string            `json:"method"`
	URL          string            `json:"url"`
	Path         string            `json:"path"`
	Query        json.RawMessage   `json:"query"`
	Params       map[string]string `json:"params"`
	Body         string            `json:"body"`
	BodyPresent  bool              `json:"bodyPresent"`
	Identities   int               `json:"identities"`
	Custom       json.RawMessage   `json:"custom"`
	InvocationID string            `json:"invocationId"`
	HostVersion  string            `json:"hostVersion"`
	UserAgent    string            `json:"userAgent"`
}

func TestHTTPWrapped(t *testing.T) {
	h := startHost(t, makeDist(t, "http", hostJSON(false), testHandler(t)), nil)
	tests := []struct {
		name   string
		method string
		body   string
		want   echoed
		query  string
	}{
		{"post with body", "POST", `{"qty":"1.50"}`, echoed{Mode: "wrapped", Method: "POST", Body: `{"qty":"1.50"}`, BodyPresent: true,
			Params: map[string]string{"name": "Zoë"}, Identities: 1}, `{"code":"` + DefaultFunctionKey + `","x":"1,2"}`},
		{"get without body", "GET", "", echoed{Mode: "wrapped", Method: "GET", Params: map[string]string{"name": "Zoë"}, Identities: 1},
			`{"code":"` + DefaultFunctionKey + `","x":"1,2"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := do(t, tt.method, h.base+"/api/hello/Zo%C3%AB?x=1&x=2&code="+DefaultFunctionKey,
				map[string]string{"X-Custom": "v1", "Content-Type": "application/json"}, tt.body)
			if status != 200 {
				t.Fatalf("status %d, body %q", status, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, from the res headers", ct)
			}
			var got echoed
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("decoding %q: %v", body, err)
			}
			if got.Mode != tt.want.Mode || got.Method != tt.want.Method || got.Body != tt.want.Body ||
				got.BodyPresent != tt.want.BodyPresent || got.Params["name"] != tt.want.Params["name"] ||
				got.Identities != tt.want.Identities {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if !jsonEqual(t, got.Query, tt.query) {
				t.Errorf("Query = %s, want %s", got.Query, tt.query)
			}
			if !jsonEqual(t, got.Custom, `["v1"]`) {
				t.Errorf("Headers[X-Custom] = %s, want [\"v1\"]", got.Custom)
			}
			if !strings.HasPrefix(got.URL, h.base+"/api/hello/") || !strings.Contains(got.URL, "x=1&x=2") {
				t.Errorf("Url = %q", got.URL)
			}
			if got.InvocationID == "" {
				t.Error("no X-Azure-Functions-InvocationId on the invocation")
			}
		})
	}
	if !strings.Contains(h.log.String(), `"line":"hello logged"`) {
		t.Error("the invocation's Logs were not printed in the host log")
	}
}

func jsonEqual(t *testing.T, a json.RawMessage, b string) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

func TestHTTPForwarded(t *testing.T) {
	h := startHost(t, makeDist(t, "http", hostJSON(true), testHandler(t)), nil)
	status, _, body := do(t, "POST", h.base+"/api/hello/bob?x=1&code="+DefaultFunctionKey,
		map[string]string{"X-Custom": "v2", "User-Agent": "flow/1"}, "raw body")
	if status != 200 {
		t.Fatalf("status %d, body %q", status, body)
	}
	var got echoed
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := echoed{Mode: "forwarded", Method: "POST", Path: "/api/hello/bob", Body: "raw body", HostVersion: HostVersion}
	if got.Mode != want.Mode || got.Method != want.Method || got.Path != want.Path || got.Body != want.Body ||
		got.HostVersion != want.HostVersion {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if !jsonEqual(t, got.Query, `"x=1&code=`+DefaultFunctionKey+`"`) {
		t.Errorf("query = %s", got.Query)
	}
	if string(got.Custom) != `"v2"` || got.InvocationID == "" || !strings.Contains(got.UserAgent, "Azure-Functions-Host/") {
		t.Errorf("headers not forwarded or host headers missing: %+v", got)
	}
}

type envReport struct {
	Port, HTTPWorkerPort, WorkerID, HTTPWorkerID, AppRoot, Setting, MasterKey, PID string
}

func getEnv(t *testing.T, h *testHost) (envReport, int) {
	t.Helper()
	status, _, body := do(t, "GET", h.base+"/api/env", nil, "")
	var e struct {
		Port           string `json:"port"`
		HTTPWorkerPort string `json:"httpWorkerPort"`
		WorkerID       string `json:"workerId"`
		HTTPWorkerID   string `json:"httpWorkerId"`
		AppRoot        string `json:"appRoot"`
		Setting        string `json:"setting"`
		MasterKey      string `json:"masterKey"`
		PID            string `json:"pid"`
	}
	if status == 200 {
		if err := json.Unmarshal([]byte(body), &e); err != nil {
			t.Fatalf("decoding %q: %v", body, err)
		}
	}
	return envReport(e), status
}

func TestWorkerEnvironmentAndRestart(t *testing.T) {
	dist := makeDist(t, "http", hostJSON(false), testHandler(t))
	h := startHost(t, dist, map[string]string{"TEST_SETTING": "from settings", SettingMasterKey: "secret-mk"})
	e, status := getEnv(t, h)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if e.Port == "" || e.Port != e.HTTPWorkerPort || e.WorkerID == "" || e.WorkerID != e.HTTPWorkerID {
		t.Errorf("worker variables: %+v", e)
	}
	if e.AppRoot != dist || e.Setting != "from settings" {
		t.Errorf("app root %q, setting %q", e.AppRoot, e.Setting)
	}
	if e.MasterKey != "" {
		t.Error("the host's master key reached the handler's environment")
	}

	// The handler exits while serving crash; the host answers 500 and starts a new process.
	if status, _, _ := do(t, "POST", h.base+"/api/crash", nil, ""); status != http.StatusInternalServerError {
		t.Errorf("crash: status %d, want 500", status)
	}
	var after envReport
	eventually(t, 15*time.Second, func() error {
		var status int
		after, status = getEnv(t, h)
		if status != 200 {
			return errStatus(status)
		}
		return nil
	})
	if after.PID == e.PID || after.WorkerID == e.WorkerID {
		t.Errorf("no new process: before %+v, after %+v", e, after)
	}
	if !strings.Contains(h.log.String(), "handler process died; restarting") {
		t.Error("the restart was not reported")
	}
}

type errStatus int

func (e errStatus) Error() string { return http.StatusText(int(e)) }

func TestStartFailsWhenHandlerNeverAnswers(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   string
	}{
		{"exits at once", "#!/bin/sh\necho 'cannot read settings' >&2\nexit 4\n", "exited before answering"},
		{"never listens", "#!/bin/sh\necho 'warming up'\nexec sleep 30\n", "no answer within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), "script")
			if err := os.WriteFile(exe, []byte(tt.script), 0o755); err != nil {
				t.Fatal(err)
			}
			dist := makeDist(t, "http", hostJSON(false), exe)
			h, err := New(Options{Dist: dist, Addr: "127.0.0.1:0", ReadyTimeout: 700 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = h.Start(t.Context())
			if err == nil {
				h.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			// The error carries the handler's last output, so the user sees why it did not come up.
			if first := strings.Split(strings.TrimPrefix(tt.script, "#!/bin/sh\n"), "'")[1]; !strings.Contains(err.Error(), first) {
				t.Errorf("err lacks the handler output %q: %v", first, err)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("Start took %s; the process was not stopped promptly", time.Since(start))
			}
		})
	}
}

func TestRelativeDist(t *testing.T) {
	dist := makeDist(t, "http", hostJSON(false), testHandler(t))
	t.Chdir(filepath.Dir(dist))
	h := startHost(t, filepath.Base(dist), nil)
	e, status := getEnv(t, h)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if e.AppRoot != dist {
		t.Errorf("FUNCTIONS_APP_ROOT_PATH = %q, want the absolute %q", e.AppRoot, dist)
	}
}

func TestHTTPFailuresAndStatuses(t *testing.T) {
	exe := testHandler(t)
	wrapped := startHost(t, makeDist(t, "http", hostJSON(false), exe), map[string]string{"AzureWebJobs.secret.Disabled": "true"})
	forwarded := startHost(t, makeDist(t, "http", hostJSON(true), exe), nil)
	key := map[string]string{"x-functions-key": DefaultFunctionKey}
	tests := []struct {
		name       string
		host       *testHost
		path       string
		header     map[string]string
		wantStatus int
		wantHeader string // X-From-Handler
		notInBody  string
	}{
		{"wrapped: a failed invocation is a bare 500", wrapped, "/api/hello/x?fail=1", key, 500, "", "boom"},
		{"forwarded: the handler's status passes through", forwarded, "/api/hello/x?status=418", key, 418, "yes", ""},
		{"forwarded: the handler's 500 passes through", forwarded, "/api/hello/x?status=500", key, 500, "yes", ""},
		{"disabled by setting", wrapped, "/api/secret", map[string]string{"x-functions-key": DefaultMasterKey}, 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, body := do(t, "GET", tt.host.base+tt.path, tt.header, "")
			if status != tt.wantStatus || hdr.Get("X-From-Handler") != tt.wantHeader {
				t.Errorf("status %d, X-From-Handler %q; want %d, %q", status, hdr.Get("X-From-Handler"), tt.wantStatus, tt.wantHeader)
			}
			if tt.notInBody != "" && strings.Contains(body, tt.notInBody) {
				t.Errorf("body %q leaks the handler's error", body)
			}
		})
	}
}

// Worker settings reach the handler only; the host keeps its own value of the same setting.
func TestWorkerSettingsOverrideForTheHandlerOnly(t *testing.T) {
	dist := makeDist(t, "http", hostJSON(false), testHandler(t))
	h := startHostWith(t, dist, map[string]string{"TEST_SETTING": "host value"}, map[string]string{"TEST_SETTING": "handler value"})
	e, status := getEnv(t, h)
	if status != 200 || e.Setting != "handler value" {
		t.Fatalf("the handler saw %q (status %d), want the worker override", e.Setting, status)
	}
	if h.settings["TEST_SETTING"] != "host value" {
		t.Fatalf("the host's own setting changed to %q", h.settings["TEST_SETTING"])
	}
}

// KillWorker ends the handler with SIGKILL (no chance to clean up) and the host starts a new process, which
// answers again: what the inventory sync's kill soak relies on.
func TestKillWorkerKillsAndTheHostRestarts(t *testing.T) {
	dist := makeDist(t, "http", hostJSON(false), testHandler(t))
	h := startHost(t, dist, nil)
	before, status := getEnv(t, h)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	pid, err := h.Host.KillWorker()
	if err != nil {
		t.Fatal(err)
	}
	if strconv.Itoa(pid) != before.PID {
		t.Errorf("killed pid %d; the handler answering was %s", pid, before.PID)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d is still alive after KillWorker returned", pid)
	}
	var after envReport
	eventually(t, 15*time.Second, func() error {
		var status int
		after, status = getEnv(t, h)
		if status != 200 {
			return errStatus(status)
		}
		return nil
	})
	if after.PID == before.PID {
		t.Errorf("no new process after the kill: %+v", after)
	}
	if !strings.Contains(h.log.String(), "signal: killed") {
		t.Errorf("the host did not report the kill:\n%s", h.log.String())
	}
}
