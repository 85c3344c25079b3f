package azfunc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

func def(t *testing.T, s string) trigger.Definition {
	t.Helper()
	d, err := trigger.ParseDefinition([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// fakeDeadLetters is a func-field fake.
type fakeDeadLetters struct {
	DeadLetterFn func(ctx context.Context, function string, m trigger.Message, cause error) error
}

func (f *fakeDeadLetters) DeadLetter(ctx context.Context, function string, m trigger.Message, cause error) error {
	return f.DeadLetterFn(ctx, function, m, cause)
}

var _ trigger.DeadLetterer = (*fakeDeadLetters)(nil)

type testApp struct {
	srv      *httptest.Server
	mu       sync.Mutex
	messages []trigger.Message
	timers   []trigger.Timer
	queueErr error
	dead     []string
	logs     bytes.Buffer
	requests []*http.Request
}

func newTestApp(t *testing.T) *testApp {
	t.Helper()
	a := &testApp{}
	log := slog.New(CollectLogs(trigger.NewLogHandler(slog.NewJSONHandler(&a.logs, nil))))
	orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.requests = append(a.requests, r)
		a.mu.Unlock()
		log.InfoContext(r.Context(), "order status asked", "salesorderid", r.PathValue("salesorderid"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("salesorderid"), "debug": r.URL.Query().Get("debug")})
	})
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", r.Header.Get("Content-Type"))
		_, _ = w.Write(b)
	})
	fns := []trigger.Function{
		{Name: "orderstatus", Definition: def(t, `{"bindings":[{"type":"httpTrigger","authLevel":"function","direction":"in","name":"req","methods":["get"],"route":"orders/{salesorderid:guid}"},{"type":"http","direction":"out","name":"res"}]}`), HTTP: orders},
		{Name: "order", Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["post"]},{"type":"http","direction":"out","name":"$return"}]}`), HTTP: echo},
		{Name: "archive", Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["post"]},{"type":"http","direction":"out","name":"res"}]}`),
			HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				_, _ = fmt.Fprintf(w, "%x", b)
			})},
		{Name: "binary", Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["post"]},{"type":"http","direction":"out","name":"res"}]}`),
			HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte{0xff, 0xfe}) })},
		{Name: "statusupdates", Definition: def(t, `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"sap-events"}]}`),
			Queue: trigger.QueueFunc(func(ctx context.Context, m trigger.Message) error {
				a.mu.Lock()
				defer a.mu.Unlock()
				a.messages = append(a.messages, m)
				log.InfoContext(ctx, "event applied", "message_id", m.ID)
				return a.queueErr
			})},
		{Name: "inventorysync", Definition: def(t, `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 */15 * * * *"}]}`),
			Timer: trigger.TimerFunc(func(ctx context.Context, tm trigger.Timer) error {
				a.mu.Lock()
				defer a.mu.Unlock()
				a.timers = append(a.timers, tm)
				return nil
			})},
	}
	dl := &fakeDeadLetters{DeadLetterFn: func(_ context.Context, fn string, m trigger.Message, cause error) error {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.dead = append(a.dead, fn+":"+string(m.Body))
		return nil
	}}
	s, err := NewServer(Options{Logger: log, DeadLetters: dl}, fns...)
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(s)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *testApp) invoke(t *testing.T, function, fixture string) (*http.Response, map[string]any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/"+function, bytes.NewReader(b))
	req.Header.Set(HeaderInvocationID, "11111111-aaaa-bbbb-cccc-000000000001")
	req.Header.Set(HeaderHostVersion, "4.1040.300.0")
	req.Header.Set("User-Agent", "Azure-Functions-Host/4.1040.300.0")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding response: %v", err)
	}
	return resp, body
}

func TestReadiness(t *testing.T) {
	a := newTestApp(t)
	resp, err := http.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
}

func TestWrappedHTTPInvocation(t *testing.T) {
	a := newTestApp(t)
	resp, body := a.invoke(t, "orderstatus", "http-wrapped.host.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, body)
	}
	res := body["Outputs"].(map[string]any)["res"].(map[string]any)
	if res["statusCode"] != "201" || res["status"] != "201" {
		t.Errorf("statusCode/status = %v/%v", res["statusCode"], res["status"])
	}
	// The host requires all four members.
	for _, k := range []string{"statusCode", "status", "body", "headers"} {
		if _, ok := res[k]; !ok {
			t.Errorf("res lacks %q: %v", k, res)
		}
	}
	var inner map[string]string
	if err := json.Unmarshal([]byte(res["body"].(string)), &inner); err != nil {
		t.Fatal(err)
	}
	if inner["id"] != "7f3c1a52-5f4e-4f0e-9a57-2d4b1c8e9a10" || inner["debug"] != "1" {
		t.Errorf("handler saw %v", inner)
	}
	if res["headers"].(map[string]any)["Content-Type"] != "application/json" {
		t.Errorf("headers = %v", res["headers"])
	}
	logs := body["Logs"].([]any)
	if len(logs) == 0 || !strings.Contains(logs[0].(string), "order status asked") {
		t.Errorf("Logs = %v", logs)
	}
	if !strings.Contains(a.logs.String(), `"invocation_id":"11111111-aaaa-bbbb-cccc-000000000001"`) {
		t.Errorf("stdout log lacks the invocation id: %s", a.logs.String())
	}
	a.mu.Lock()
	r := a.requests[0]
	a.mu.Unlock()
	if r.Header.Get("User-Agent") != "PowerAutomate/1.0" || r.Method != http.MethodGet {
		t.Errorf("rebuilt request: %s %v", r.Method, r.Header)
	}
}

func TestWrappedHTTPReturnValueAndBinary(t *testing.T) {
	a := newTestApp(t)
	_, body := a.invoke(t, "order", "http-wrapped.docs.json")
	rv, ok := body["ReturnValue"].(map[string]any)
	if !ok {
		t.Fatalf("ReturnValue = %v", body["ReturnValue"])
	}
	if rv["body"] != `{"id":1005,"quantity":2,"color":"black"}` || rv["statusCode"] != "200" {
		t.Errorf("ReturnValue = %v", rv)
	}
	_, body = a.invoke(t, "archive", "http-wrapped.binary.json")
	res := body["Outputs"].(map[string]any)["res"].(map[string]any)
	if res["body"] != "000102fdfe" {
		t.Errorf("handler saw body %q, want the decoded base64 bytes", res["body"])
	}
	// A wrapped response body is a JSON string: bytes that are not UTF-8 would be mangled, so they fail loudly.
	resp, body := a.invoke(t, "binary", "http-wrapped.binary.json")
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(fmt.Sprint(body["detail"]), "UTF-8") {
		t.Errorf("binary response: %d %v", resp.StatusCode, body)
	}
}

func TestForwardedHTTP(t *testing.T) {
	a := newTestApp(t)
	resp, err := http.Get(a.srv.URL + "/api/orders/abc?debug=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&got)
	if resp.StatusCode != http.StatusCreated || got["id"] != "abc" || got["debug"] != "2" {
		t.Fatalf("forwarded: %d %v", resp.StatusCode, got)
	}
	resp, err = http.Post(a.srv.URL+"/api/orders/abc", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST to a GET route = %d", resp.StatusCode)
	}
}

func TestQueueInvocation(t *testing.T) {
	tests := []struct {
		name       string
		fixture    string
		err        error
		wantStatus int
		wantDead   int
		dequeue    int
	}{
		{"docs variant ok", "queue.docs.json", nil, 200, 0, 1},
		{"host variant ok", "queue.host.json", nil, 200, 0, 3},
		{"retryable fails back to host", "queue.host.json", problem.New(problem.Unavailable, "SAP down"), 503, 0, 3},
		{"unclassified is retried", "queue.host.json", errors.New("boom"), 500, 0, 3},
		{"permanent is dead-lettered and acknowledged", "queue.host.json", problem.New(problem.Invalid, "no such order"), 200, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t)
			a.queueErr = tt.err
			resp, body := a.invoke(t, "statusupdates", tt.fixture)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.wantStatus, body)
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			if len(a.messages) != 1 {
				t.Fatalf("%d messages", len(a.messages))
			}
			m := a.messages[0]
			if !strings.HasPrefix(string(m.Body), `{"type":"sap.s4.beh.salesorder`) || m.DequeueCount != tt.dequeue || m.ID != "a5c7f0c4-2f2b-4f7e-9d6b-1c1f0e7e2a11" || m.Queue != "sap-events" {
				t.Errorf("message = %+v", m)
			}
			if len(a.dead) != tt.wantDead {
				t.Errorf("dead letters = %v", a.dead)
			}
		})
	}
}

func TestTimerInvocation(t *testing.T) {
	a := newTestApp(t)
	for _, f := range []string{"timer.docs.json", "timer.host.json"} {
		resp, body := a.invoke(t, "inventorysync", f)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", f, resp.StatusCode, body)
		}
		if _, ok := body["Outputs"].(map[string]any); !ok {
			t.Errorf("%s: Outputs must be an object: %v", f, body)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.timers) != 2 || a.timers[0].IsPastDue || !a.timers[1].IsPastDue || a.timers[1].Next.IsZero() {
		t.Fatalf("timers = %+v", a.timers)
	}
}

func TestBadInvocationBody(t *testing.T) {
	a := newTestApp(t)
	resp, err := http.Post(a.srv.URL+"/statusupdates", "application/json", strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestNewServerRejectsMiswiring(t *testing.T) {
	timerDef := def(t, `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 * * * * *"}]}`)
	_, err := NewServer(Options{},
		trigger.Function{Name: "a", Definition: timerDef, HTTP: http.NotFoundHandler()},
		trigger.Function{Name: "b", Definition: timerDef, Timer: trigger.TimerFunc(func(context.Context, trigger.Timer) error { return nil })},
		trigger.Function{Name: "B", Definition: timerDef, Timer: trigger.TimerFunc(func(context.Context, trigger.Timer) error { return nil })},
	)
	if err == nil || !strings.Contains(err.Error(), "function a") || !strings.Contains(err.Error(), "registered twice") {
		t.Fatalf("err = %v", err)
	}
}

// TestGracefulShutdown: an invocation in flight when the stop signal comes finishes; new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	s, err := NewServer(Options{}, trigger.Function{Name: "slow",
		Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`), HTTP: slow})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, 5*time.Second) }()
	url := "http://" + ln.Addr().String()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/api/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	time.Sleep(100 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("a new connection was accepted after shutdown began")
	}
	close(release)
	if b := <-got; b != "done" {
		t.Fatalf("in-flight request got %q", b)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
