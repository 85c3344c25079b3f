package funchost

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseTimeSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"00:05:00", 5 * time.Minute, false},
		{"00:00:01", time.Second, false},
		{"00:00:00.500", 500 * time.Millisecond, false},
		{"1.02:00:00", 26 * time.Hour, false},
		{"25:00:00", 25 * time.Hour, false},
		{"5", 0, true},
		{"00:61:00", 0, true},
		{"aa:00:00", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTimeSpan(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("parseTimeSpan(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestRouteMatch(t *testing.T) {
	tests := []struct {
		prefix, route, path string
		ok                  bool
		params              map[string]string
	}{
		{"api", "orders/{id}", "api/orders/42", true, map[string]string{"id": "42"}},
		{"api", "orders/{id:int}", "api/orders/x", false, nil},
		{"api", "orders/{id:int}", "api/orders/7", true, map[string]string{"id": "7"}},
		{"api", "orders/{id:guid}", "api/orders/0f8fad5b-d9cb-469f-a165-70867728950e", true, map[string]string{"id": "0f8fad5b-d9cb-469f-a165-70867728950e"}},
		{"api", "orders/{id?}", "api/orders", true, map[string]string{}},
		{"api", "files/{*rest}", "api/files/a/b/c", true, map[string]string{"rest": "a/b/c"}},
		{"api", "orders", "api/orders/1", false, nil},
		{"api", "", "api/fn", true, map[string]string{}}, // empty route: the function's name
		{"", "health", "health", true, map[string]string{}},
		{"v1/x", "health", "V1/X/HEALTH", true, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix+"|"+tt.route+"|"+tt.path, func(t *testing.T) {
			fn := &function{name: "fn", trigger: binding{Type: "httpTrigger", Route: tt.route, AuthLevel: "anonymous"}}
			r, err := newRoute(tt.prefix, fn)
			if err != nil {
				t.Fatal(err)
			}
			params, ok := r.match(strings.Split(tt.path, "/"))
			if ok != tt.ok {
				t.Fatalf("match = %v, want %v", ok, tt.ok)
			}
			if ok && len(params) != len(tt.params) {
				t.Errorf("params = %v, want %v", params, tt.params)
			}
			for k, v := range tt.params {
				if params[k] != v {
					t.Errorf("params[%s] = %q, want %q", k, params[k], v)
				}
			}
		})
	}
}

func TestRoutePrecedence(t *testing.T) {
	lit, _ := newRoute("api", &function{name: "a", trigger: binding{Route: "orders/new"}})
	par, _ := newRoute("api", &function{name: "b", trigger: binding{Route: "orders/{id}"}})
	all, _ := newRoute("api", &function{name: "c", trigger: binding{Route: "{*path}"}})
	rs := []*route{all, par, lit}
	sortRoutes(rs)
	if rs[0] != lit || rs[1] != par || rs[2] != all {
		t.Errorf("order = %s, %s, %s; want literal, parameter, catch-all", rs[0].fn.name, rs[1].fn.name, rs[2].fn.name)
	}
}

func TestSchedules(t *testing.T) {
	from := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC) // a Friday
	tests := []struct {
		expr string
		want []string
	}{
		{"*/2 * * * * *", []string{"2026-11-27T05:00:02Z", "2026-11-27T05:00:04Z"}},
		{"0 */15 * * * *", []string{"2026-11-27T05:15:00Z", "2026-11-27T05:30:00Z"}},
		{"*/5 * * * *", []string{"2026-11-27T05:05:00Z", "2026-11-27T05:10:00Z"}}, // five fields: seconds 0
		// NCRONTAB: day 13 AND a Friday (Vixie cron would take either).
		{"0 0 9 13 * FRI", []string{"2027-08-13T09:00:00Z", "2028-10-13T09:00:00Z"}},
		{"00:10:00", []string{"2026-11-27T05:10:00Z", "2026-11-27T05:20:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s, err := parseSchedule(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			at := from
			for _, w := range tt.want {
				at = s.Next(at)
				if got := at.Format(time.RFC3339); got != w {
					t.Fatalf("next = %s, want %s", got, w)
				}
			}
		})
	}
	for _, bad := range []string{"* * *", "61 * * * * *", "0 0 0 0 0 0 0", "-00:01:00"} {
		if _, err := parseSchedule(bad); err == nil {
			t.Errorf("parseSchedule(%q) accepted", bad)
		}
	}
}

func TestUseMonitorDefault(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		expr string
		set  *bool
		want bool
	}{
		{"*/2 * * * * *", nil, false},
		{"0 */5 * * * *", nil, true},
		{"0 */5 * * * *", &no, false},
		{"*/2 * * * * *", &yes, true},
	}
	for _, tt := range tests {
		fn := &function{name: "t", trigger: binding{Type: "timerTrigger", UseMonitor: tt.set}}
		tm, err := newTimer(fn, tt.expr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if tm.useMonitor != tt.want {
			t.Errorf("%s (set %v): useMonitor %v, want %v", tt.expr, tt.set, tm.useMonitor, tt.want)
		}
	}
}

func TestConvertOutput(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		dataType string
		want     string
		decoded  bool
	}{
		{"json object stays", `{"a":1}`, "", `{"a":1}`, false},
		{"text stays", `"hello world"`, "", "hello world", false},
		{"base64-looking text is decoded, as the host does", `"1234"`, "", "\xd7\x6d\xf8", true},
		{"padded base64", `"aGk="`, "", "hi", true},
		{"binary dataType keeps the string", `"aGk="`, "binary", "aGk=", false},
		{"number", `42`, "", "42", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := convertOutput(binding{DataType: tt.dataType}, json.RawMessage(tt.raw))
			if (v.bytes != nil) != tt.decoded || string(v.text()) != tt.want {
				t.Errorf("text = %q (decoded %v), want %q (decoded %v)", v.text(), v.bytes != nil, tt.want, tt.decoded)
			}
		})
	}
	msgs := queueMessages(convertOutput(binding{}, json.RawMessage(`["one message",{"b":2}]`)))
	if len(msgs) != 2 || string(msgs[0]) != "one message" || string(msgs[1]) != `{"b":2}` {
		t.Errorf("array output gave %q", msgs)
	}
}

func TestWriteHTTPOutput(t *testing.T) {
	tests := []struct {
		name       string
		raw        string
		wantStatus int
		wantBody   string
		wantType   string
		wantErr    bool
	}{
		{"string status and text body", `{"statusCode":"201","status":"201","body":"made","headers":{}}`, 201, "made", "text/plain; charset=utf-8", false},
		{"numeric status and object body", `{"statusCode":202,"status":"202","body":{"id":"7"},"headers":{"Location":"/x"}}`, 202, `{"id":"7"}`, "application/json; charset=utf-8", false},
		{"header content type wins", `{"statusCode":"200","status":"200","body":"<a/>","headers":{"Content-Type":"application/xml"}}`, 200, "<a/>", "application/xml", false},
		{"pascal case fields", `{"StatusCode":"404","Status":"404","Body":"none","Headers":{}}`, 404, "none", "text/plain; charset=utf-8", false},
		{"no res", ``, 200, "", "", false},
		{"bad status", `{"statusCode":"abc"}`, 0, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Host{log: discardLogger()}
			rec := httptest.NewRecorder()
			err := h.writeHTTPOutput(rec, &function{name: "f"}, json.RawMessage(tt.raw))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr {
				return
			}
			if rec.Code != tt.wantStatus || rec.Body.String() != tt.wantBody || rec.Header().Get("Content-Type") != tt.wantType {
				t.Errorf("got %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get("Content-Type"))
			}
		})
	}
}

func TestSettings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "local.settings.json")
	os.WriteFile(p, []byte(`{"IsEncrypted":false,"Values":{"A":"a","N":5,"B":true,"FROM_ENV":"file"}}`), 0o644)
	t.Setenv("FROM_ENV", "env")
	got, err := ReadLocalSettings(p)
	if err != nil {
		t.Fatal(err)
	}
	if got["A"] != "a" || got["N"] != "5" || got["B"] != "true" || got["FROM_ENV"] != "env" {
		t.Errorf("settings = %v", got)
	}

	conn, err := storageConnection(map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true"}, "")
	if err != nil || conn != DevelopmentStorage {
		t.Errorf("dev storage: %q, %v", conn, err)
	}
	conn, err = storageConnection(map[string]string{"AzureWebJobsOther": "X=1"}, "Other")
	if err != nil || conn != "X=1" {
		t.Errorf("prefixed connection: %q, %v", conn, err)
	}
	if _, err := storageConnection(map[string]string{}, "Missing"); err == nil {
		t.Error("missing connection accepted")
	}
	if v, err := resolveSettings("%A%-x-%N%", got); err != nil || v != "a-x-5" {
		t.Errorf("resolveSettings = %q, %v", v, err)
	}
	if _, err := resolveSettings("%NOPE%", got); err == nil {
		t.Error("missing setting accepted")
	}
}

func TestNewRejectsBadApps(t *testing.T) {
	tests := []struct {
		name, fn, host, want string
	}{
		{"two triggers", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"a"},{"type":"timerTrigger","direction":"in","name":"b","schedule":"* * * * * *"}]}`, "", "2 triggers"},
		{"bad schedule", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"every minute"}]}`, "", "parsing schedule"},
		{"unset setting", `{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"%NOT_SET%"}]}`, "", "NOT_SET"},
		{"unsupported output", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"a"},{"type":"cosmosDB","direction":"out","name":"c"}]}`, "", "cosmosDB"},
		{"bad auth level", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"a","authLevel":"user"}]}`, "", "authLevel"},
		{"bad encoding", `{"bindings":[{"type":"queueTrigger","direction":"in","name":"m","queueName":"q"}]}`, `{"customHandler":{"description":{"defaultExecutablePath":"handler"}},"extensions":{"queues":{"messageEncoding":"utf8"}}}`, "messageEncoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dist := t.TempDir()
			host := tt.host
			if host == "" {
				host = `{"customHandler":{"description":{"defaultExecutablePath":"handler"}}}`
			}
			os.WriteFile(filepath.Join(dist, "host.json"), []byte(host), 0o644)
			os.MkdirAll(filepath.Join(dist, "f"), 0o755)
			os.WriteFile(filepath.Join(dist, "f", "function.json"), []byte(tt.fn), 0o644)
			_, err := New(Options{Dist: dist})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name   string
		doc    retryPolicyDoc
		delays []time.Duration // for retries 1, 2, ...
		last   int             // the last retry allowed; -1: forever
		err    bool
	}{
		{"fixed", retryPolicyDoc{Strategy: "fixedDelay", MaxRetryCount: 3, DelayInterval: "00:00:10"},
			[]time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second}, 3, false},
		{"exponential", retryPolicyDoc{Strategy: "exponentialBackoff", MaxRetryCount: 5, MinimumInterval: "00:00:04", MaximumInterval: "00:00:20"},
			[]time.Duration{4 * time.Second, 8 * time.Second, 16 * time.Second, 20 * time.Second}, 5, false},
		{"forever", retryPolicyDoc{Strategy: "fixedDelay", MaxRetryCount: -1, DelayInterval: "00:00:01"},
			[]time.Duration{time.Second}, -1, false},
		{"unknown strategy", retryPolicyDoc{Strategy: "linear"}, nil, 0, true},
		{"max below min", retryPolicyDoc{Strategy: "exponentialBackoff", MinimumInterval: "00:01:00", MaximumInterval: "00:00:10"}, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseRetry(&tt.doc)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v", err)
			}
			if tt.err {
				return
			}
			for i, want := range tt.delays {
				if got := p.delay(i + 1); got != want {
					t.Errorf("delay(%d) = %v, want %v", i+1, got, want)
				}
			}
			if tt.last >= 0 && (p.exhausted(tt.last) || !p.exhausted(tt.last+1)) {
				t.Errorf("exhausted wrong around %d", tt.last)
			}
			if tt.last < 0 && p.exhausted(1000) {
				t.Error("a forever policy ran out")
			}
		})
	}
}
