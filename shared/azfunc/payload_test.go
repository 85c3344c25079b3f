package azfunc

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readFixture(t *testing.T, name string) InvokeRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var req InvokeRequest
	if err := json.Unmarshal(b, &req); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	return req
}

// roundTrip encodes v and decodes it again into a fresh value of the same type, which must be equal: what we decode
// we can also produce (the host stand-in and tests build payloads with these types).
func roundTrip[T any](t *testing.T, v T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var again T
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatalf("decoding re-encoded %s: %v", b, err)
	}
	if !reflect.DeepEqual(v, again) {
		t.Fatalf("round trip changed the value:\n before %#v\n after  %#v", v, again)
	}
}

func TestHTTPRequestFixtures(t *testing.T) {
	tests := []struct {
		file    string
		method  string
		url     string
		query   map[string]string
		header  string
		hvalue  []string
		params  map[string]string
		body    string
		bodyHex bool
	}{
		{"http-wrapped.docs.json", "POST", "http://localhost:7071/api/order", map[string]string{}, "Content-Type",
			[]string{"application/json"}, map[string]string{}, `{"id":1005,"quantity":2,"color":"black"}`, false},
		{"http-wrapped.host.json", "GET", "http://localhost:7071/api/orders/7f3c1a52-5f4e-4f0e-9a57-2d4b1c8e9a10?debug=1",
			map[string]string{"debug": "1"}, "User-Agent", []string{"PowerAutomate/1.0", "extra"},
			map[string]string{"salesorderid": "7f3c1a52-5f4e-4f0e-9a57-2d4b1c8e9a10"}, "", false},
		{"http-wrapped.binary.json", "POST", "http://localhost:7071/api/archive", map[string]string{}, "Content-Type",
			[]string{"application/octet-stream"}, map[string]string{}, "\x00\x01\x02\xfd\xfe", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			req := readFixture(t, tt.file)
			hr, err := DecodeHTTPRequest(req.Data["req"])
			if err != nil {
				t.Fatal(err)
			}
			if hr.Method != tt.method || hr.URL != tt.url {
				t.Errorf("method/url = %s %s", hr.Method, hr.URL)
			}
			if !reflect.DeepEqual(map[string]string(hr.Query), tt.query) {
				t.Errorf("query = %#v, want %#v", hr.Query, tt.query)
			}
			if got := hr.Headers[tt.header]; !reflect.DeepEqual(got, tt.hvalue) {
				t.Errorf("header %s = %#v, want %#v", tt.header, got, tt.hvalue)
			}
			if !reflect.DeepEqual(map[string]string(hr.Params), tt.params) {
				t.Errorf("params = %#v", hr.Params)
			}
			body, err := hr.BodyBytes()
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			roundTrip(t, hr)
		})
	}
}

// Data.req's maps are JObject.FromObject of the request's own collections: each value is JSON-encoded once, so it
// is kept byte for byte, quotes and all. (Binding data in Metadata is what the host quotes a second time.)
func TestHTTPRequestKeepsQuotedValues(t *testing.T) {
	req := readFixture(t, "http-wrapped.quoted.json")
	hr, err := DecodeHTTPRequest(req.Data["req"])
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string][]string{
		"If-None-Match":  {`"3f1c9e"`},
		"If-Match":       {`"a", W/"b"`},
		"X-Quoted-Twice": {`"\"inner\""`},
		"Host":           {"localhost:7071"},
	}
	if !reflect.DeepEqual(map[string][]string(hr.Headers), headers) {
		t.Errorf("headers = %#v, want %#v", hr.Headers, headers)
	}
	if want := map[string]string{"v": `"x"`, "n": "3"}; !reflect.DeepEqual(map[string]string(hr.Query), want) {
		t.Errorf("query = %#v, want %#v", hr.Query, want)
	}
	if want := map[string]string{"name": `"quoted"`}; !reflect.DeepEqual(map[string]string(hr.Params), want) {
		t.Errorf("params = %#v, want %#v", hr.Params, want)
	}
	r, err := hr.toRequest(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("If-None-Match"); got != `"3f1c9e"` {
		t.Errorf("the function sees If-None-Match %q", got)
	}
	if got := r.URL.Query().Get("v"); got != `"x"` {
		t.Errorf("the function sees ?v=%q", got)
	}
	roundTrip(t, hr)
}

func TestValueMapsAcceptTheHostsShapes(t *testing.T) {
	tests := []struct {
		raw  string
		want map[string][]string
	}{
		{`{"a":["1","2"]}`, map[string][]string{"a": {"1", "2"}}},
		{`{"a":"v"}`, map[string][]string{"a": {"v"}}},
		{`{"a":3}`, map[string][]string{"a": {"3"}}},
		{`{"a":[3,true]}`, map[string][]string{"a": {"3", "true"}}},
		{`{"a":null}`, map[string][]string{"a": nil}},
		{`"{\"a\":[\"\\\"q\\\"\"]}"`, map[string][]string{"a": {`"q"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			var m MultiMap
			if err := json.Unmarshal([]byte(tt.raw), &m); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(map[string][]string(m), tt.want) {
				t.Errorf("got %#v, want %#v", m, tt.want)
			}
		})
	}
}

func TestTimerFixtures(t *testing.T) {
	tests := []struct {
		file      string
		pastDue   bool
		hasStatus bool
		last      time.Time
		next      time.Time
	}{
		{"timer.docs.json", false, false, time.Time{}, time.Time{}},
		{"timer.host.json", true, true, time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC), time.Date(2026, 11, 27, 5, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			req := readFixture(t, tt.file)
			ti, err := DecodeTimer(req.Data["timer"])
			if err != nil {
				t.Fatal(err)
			}
			if ti.IsPastDue != tt.pastDue {
				t.Errorf("IsPastDue = %v", ti.IsPastDue)
			}
			if (ti.ScheduleStatus != nil) != tt.hasStatus {
				t.Fatalf("ScheduleStatus = %#v", ti.ScheduleStatus)
			}
			if tt.hasStatus {
				if !ti.ScheduleStatus.Last.Equal(tt.last) || !ti.ScheduleStatus.Next.Equal(tt.next) {
					t.Errorf("status = %v / %v", ti.ScheduleStatus.Last, ti.ScheduleStatus.Next)
				}
			}
			if ti.Schedule == nil || !ti.Schedule.AdjustForDST {
				t.Errorf("Schedule = %#v", ti.Schedule)
			}
			roundTrip(t, ti)
		})
	}
}

func TestQueueFixtures(t *testing.T) {
	const event = `{"type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","data":{"SalesOrder":"5000123"}}`
	tests := []struct {
		file    string
		body    string
		dequeue int
		id      string
		pop     string
		insert  time.Time
	}{
		{"queue.docs.json", event, 1, "a5c7f0c4-2f2b-4f7e-9d6b-1c1f0e7e2a11", "AgAAAAMAAAAAAAAAb2Vk+u1B2wE=", time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)},
		{"queue.host.json", event, 3, "a5c7f0c4-2f2b-4f7e-9d6b-1c1f0e7e2a11", "AgAAAAMAAAAAAAAAb2Vk+u1B2wE=", time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)},
		{"queue.plaintext.json", "resync 5000123", 1, "b1", "", time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			req := readFixture(t, tt.file)
			body, err := QueueMessageBytes(req.Data["msg"])
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tt.body {
				t.Errorf("body = %q, want %q", body, tt.body)
			}
			md, err := DecodeQueueMetadata(req.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			if int(md.DequeueCount) != tt.dequeue || string(md.ID) != tt.id || string(md.PopReceipt) != tt.pop {
				t.Errorf("metadata = %+v", md)
			}
			if !md.InsertionTime.Equal(tt.insert) {
				t.Errorf("InsertionTime = %v", md.InsertionTime)
			}
			roundTrip(t, md)
		})
	}
}

func TestSysMetadataBothShapes(t *testing.T) {
	for _, file := range []string{"timer.docs.json", "timer.host.json"} {
		t.Run(file, func(t *testing.T) {
			req := readFixture(t, file)
			var sys SysMetadata
			if err := json.Unmarshal(unwrapJSON(req.Metadata["sys"]), &sys); err != nil {
				t.Fatal(err)
			}
			if sys.MethodName != "inventorysync" || sys.UtcNow.IsZero() {
				t.Errorf("sys = %+v", sys)
			}
		})
	}
}

func TestResponseFixtureRoundTrip(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "response.docs.json"))
	if err != nil {
		t.Fatal(err)
	}
	var resp InvokeResponse
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Logs) != 2 || len(resp.Outputs) != 2 {
		t.Fatalf("resp = %+v", resp)
	}
	var res HTTPResponse
	if err := json.Unmarshal(resp.Outputs["res"], &res); err != nil || res.Body != "Message enqueued" {
		t.Fatalf("res = %+v, %v", res, err)
	}
	out, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var a, bb any
	_ = json.Unmarshal(b, &a)
	_ = json.Unmarshal(out, &bb)
	if !reflect.DeepEqual(a, bb) {
		t.Fatalf("round trip differs:\n%s\n%s", b, out)
	}
}

func TestIsHostBase64(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"1234", true},
		{"abcd", true},
		{"", true},
		{"AAEC/f4=", true},
		{"AA==", true},
		{"A===", false},
		{"ab cd", true},
		{"abc", false},
		{"hello world", false},
		{`{"a":1}`, false},
		{"ok!!", false},
	}
	for _, tt := range tests {
		if got := IsHostBase64(tt.s); got != tt.want {
			t.Errorf("IsHostBase64(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestSetOutputRefusesBase64Strings(t *testing.T) {
	var r InvokeResponse
	if err := r.SetOutput("q", "1234"); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Fatalf("err = %v", err)
	}
	if err := r.SetOutput("q", []string{"hello world", "abcd"}); err == nil || !strings.Contains(err.Error(), "item 1") {
		t.Fatalf("array err = %v", err)
	}
	if err := r.SetReturnValue("AA=="); err == nil {
		t.Fatal("return value that is base64 accepted")
	}
	if err := r.SetOutput("q", map[string]string{"salesOrder": "1234"}); err != nil {
		t.Fatalf("object refused: %v", err)
	}
	if err := r.SetOutput("q2", []string{"hello world"}); err != nil {
		t.Fatalf("non-base64 text refused: %v", err)
	}
	if _, ok := r.Outputs["q"]; !ok {
		t.Fatal("object output missing")
	}
	if err := r.SetReturnValue(map[string]int{"n": 1}); err != nil || string(r.ReturnValue) != `{"n":1}` {
		t.Fatalf("return value %s, %v", r.ReturnValue, err)
	}
}

func TestFlexibleScalars(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{`1`, 1, false}, {`"2"`, 2, false}, {`"\"3\""`, 3, false}, {`null`, 0, false}, {`"x"`, 0, true},
	}
	for _, tt := range tests {
		var n Int
		err := json.Unmarshal([]byte(tt.in), &n)
		if (err != nil) != tt.err || (!tt.err && int(n) != tt.want) {
			t.Errorf("Int(%s) = %d, %v", tt.in, n, err)
		}
	}
	var tm Time
	if err := json.Unmarshal([]byte(`"0001-01-01T00:00:00"`), &tm); err != nil || !tm.IsZero() {
		t.Errorf(".NET MinValue: %v %v", tm, err)
	}
	if err := json.Unmarshal([]byte(`"yesterday"`), &tm); err == nil {
		t.Error("garbage time accepted")
	}
}
