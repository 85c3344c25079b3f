package azfunc

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/d365sap/d365sap/infra/local/kit"
	"github.com/d365sap/d365sap/shared/trigger"
)

// Every byte of an invocation comes from the host, and through it from whoever called the function or wrote
// to the queue. The decoders accept the host's variants (values quoted twice, numbers as strings); whatever they
// accept must survive being written out and read back, because the host stand-in and tests build payloads
// with these same types.

// fuzzFixtures reads this package's invocation fixtures (host and docs variants).
func fuzzFixtures(f *testing.F) map[string]InvokeRequest {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	out := map[string]InvokeRequest{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		var req InvokeRequest
		if json.Unmarshal(b, &req) == nil {
			out[filepath.Base(n)] = req
		}
	}
	return out
}

// quotedOnceMore says s is still a JSON string literal after the decoder peeled the host's two layers. The host
// quotes at most twice; such a value reads differently after a round trip (one more layer comes off), so the
// round-trip checks leave it aside.
func quotedOnceMore(s string) bool {
	var inner string
	return len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' && json.Unmarshal([]byte(s), &inner) == nil
}

// representable says every time can be written as RFC 3339 and read back: the host only sends years 1 to 9999,
// and an offset can push a parsed time outside them.
func representable(ts ...Time) bool {
	for _, t := range ts {
		if !t.IsZero() && (t.Year() < 1 || t.Year() > 9999) {
			return false
		}
	}
	return true
}

// sameMap treats nil and empty as equal: a map sent as null decodes empty.
func sameMap[V any](a, b map[string]V) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}

// FuzzDecodeHTTPRequest reads Data.req of a wrapped HTTP invocation: what is accepted re-encodes to the same
// request, and the rebuilt *http.Request carries the method, headers, route values and exactly the body.
func FuzzDecodeHTTPRequest(f *testing.F) {
	for _, req := range fuzzFixtures(f) {
		if raw, ok := req.Data["req"]; ok {
			f.Add([]byte(raw))
			twice, _ := json.Marshal(string(raw)) // the whole request as a JSON string, as JSON.NET may send it
			f.Add(twice)
		}
	}
	for _, s := range []string{`{}`, `null`, `"{}"`, `{"Url":"http://h/api/x","Method":"post","Headers":{"Content-Type":"application/octet-stream"},"Body":"!!"}`,
		`{"Url":"%zz","Body":{"a": 1}}`, `{"Query":"{\"a\":[\"1\",\"2\"]}","Headers":{"H":[1,null]},"Params":{"id":null}}`,
		`{"Method":"GET\r\nX: y","Url":"http://h/"}`, `{"Headers":{"Host":["evil"]},"Url":"/api/orders"}`, `{"Query":{"a":"\"\\\"b\\\"\""}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		hr, err := DecodeHTTPRequest(raw)
		if err != nil {
			return
		}
		body, berr := hr.BodyBytes()
		twice := false
		for _, v := range hr.Query {
			twice = twice || quotedOnceMore(v)
		}
		for _, v := range hr.Params {
			twice = twice || quotedOnceMore(v)
		}
		for _, vs := range hr.Headers {
			for _, v := range vs {
				twice = twice || quotedOnceMore(v)
			}
		}
		if !twice {
			out, err := json.Marshal(hr)
			if err != nil {
				t.Fatalf("encoding a decoded request: %v", err)
			}
			again, err := DecodeHTTPRequest(out)
			if err != nil {
				t.Fatalf("decoding re-encoded %s: %v", out, err)
			}
			if again.Method != hr.Method || again.URL != hr.URL || !sameMap(again.Query, hr.Query) ||
				!sameMap(again.Params, hr.Params) || !sameMap(again.Headers, hr.Headers) {
				t.Fatalf("round trip changed the request:\n before %#v\n after  %#v", hr, again)
			}
			// A body given as JSON itself comes back compacted, which is the same JSON.
			if b2, err2 := again.BodyBytes(); (err2 == nil) != (berr == nil) || (berr == nil && !bytes.Equal(compactJSON(b2), compactJSON(body))) {
				t.Fatalf("round trip changed the body: %q (%v) then %q (%v)", body, berr, b2, err2)
			}
		}
		if berr != nil {
			return
		}
		r, err := hr.toRequest(context.Background(), body)
		if err != nil {
			return
		}
		if want := strings.ToUpper(hr.Method); r.Method != want && !(want == "" && r.Method == http.MethodGet) {
			t.Fatalf("method %q became %q", hr.Method, r.Method)
		}
		if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, body) {
			t.Fatalf("the function would read body %q, the invocation holds %q", got, body)
		}
		for k, vs := range hr.Headers {
			for _, v := range vs {
				if !contains(r.Header.Values(k), v) {
					t.Fatalf("header %q: %q lost (have %q)", k, v, r.Header.Values(k))
				}
			}
		}
		for k, v := range hr.Params {
			if r.PathValue(k) != v {
				t.Fatalf("route value %q = %q, want %q", k, r.PathValue(k), v)
			}
		}
	})
}

func compactJSON(b []byte) []byte {
	var c bytes.Buffer
	if json.Compact(&c, b) != nil {
		return b
	}
	return c.Bytes()
}

func contains(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// FuzzDecodeTimer reads a timer trigger's input, as an object or as a JSON string holding it: what is accepted
// re-encodes to the same schedule status.
func FuzzDecodeTimer(f *testing.F) {
	for _, req := range fuzzFixtures(f) {
		if raw, ok := req.Data["timer"]; ok {
			f.Add([]byte(raw))
		}
	}
	for _, s := range []string{`null`, `""`, `{"ScheduleStatus":null,"IsPastDue":true}`, `{"ScheduleStatus":{"Last":"0001-01-01T00:00:00","Next":"\"2026-11-27T05:30:00+00:00\"","LastUpdated":"11/27/2026 5:00:00 AM"}}`,
		`{"ScheduleStatus":{"Last":"0000-01-01T00:00:00+01:00"}}`, `{"ScheduleStatus":{"Next":"Fri, 27 Nov 2026 05:00:00 GMT"}}`, `{"IsPastDue":"true"}`, `"\"{}\""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ti, err := DecodeTimer(raw)
		if err != nil {
			return
		}
		if st := ti.ScheduleStatus; st != nil && !representable(st.Last, st.Next, st.LastUpdated) {
			return
		}
		out, err := json.Marshal(ti)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeTimer(out)
		if err != nil {
			t.Fatalf("decoding re-encoded %s: %v", out, err)
		}
		if ti.IsPastDue != again.IsPastDue || (ti.Schedule == nil) != (again.Schedule == nil) || (ti.ScheduleStatus == nil) != (again.ScheduleStatus == nil) {
			t.Fatalf("round trip changed the timer: %+v then %+v", ti, again)
		}
		if st, st2 := ti.ScheduleStatus, again.ScheduleStatus; st != nil &&
			(!st.Last.Equal(st2.Last.Time) || !st.Next.Equal(st2.Next.Time) || !st.LastUpdated.Equal(st2.LastUpdated.Time)) {
			t.Fatalf("round trip changed the schedule status: %+v then %+v", st, st2)
		}
	})
}

// FuzzQueueMessage reads a queue trigger's message in each form the host may send it, built here from the
// fuzzed message itself: quoted once more (the host's source), quoted once (the docs) and as JSON itself
// (some host versions). Each gives back the message, except where the forms cannot be told apart.
func FuzzQueueMessage(f *testing.F) {
	for _, req := range fuzzFixtures(f) {
		if raw, ok := req.Data["msg"]; ok {
			if m, err := QueueMessageBytes(raw); err == nil {
				f.Add(m)
			}
		}
	}
	// SAP business events (and the Event Grid envelope around one) are what the status queue carries.
	for _, name := range []string{"event_*.json", "eventgrid_*.json"} {
		files, _ := filepath.Glob(filepath.Join(kit.Dir(f, "sap/samples"), "sap", "samples", name))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{``, `null`, `"quoted"`, ` "x" `, `{"a":1}`, `1234`, `resync 5000123`, `"\"a\""`, "\xff", `{"a":"<&>"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, m []byte) {
		_, _ = QueueMessageBytes(m) // anything at all as Data.msg: no panic
		if !utf8.Valid(m) {
			return // JSON strings cannot hold it; the host would have sent base64
		}
		quoted, _ := json.Marshal(string(m))
		host, _ := json.Marshal(string(quoted))
		if got, err := QueueMessageBytes(host); err != nil || !bytes.Equal(got, m) {
			t.Fatalf("host form %s gave %q (%v), want %q", host, got, err, m)
		}
		if trimmed := strings.TrimSpace(string(m)); !quotedOnceMore(trimmed) {
			if got, err := QueueMessageBytes(quoted); err != nil || !bytes.Equal(got, m) {
				t.Fatalf("docs form %s gave %q (%v), want %q", quoted, got, err, m)
			}
		}
		if trimmed := bytes.TrimSpace(m); json.Valid(trimmed) && trimmed[0] != '"' && string(trimmed) != "null" {
			if got, err := QueueMessageBytes(m); err != nil || !bytes.Equal(got, trimmed) {
				t.Fatalf("JSON form %s gave %q (%v)", m, got, err)
			}
		}
	})
}

// FuzzDecodeQueueMetadata reads a queue trigger's metadata (numbers and times as strings, quoted twice or not):
// what is accepted re-encodes to the same metadata.
func FuzzDecodeQueueMetadata(f *testing.F) {
	for _, req := range fuzzFixtures(f) {
		if _, ok := req.Metadata["DequeueCount"]; ok {
			b, _ := json.Marshal(req.Metadata)
			f.Add(b)
		}
	}
	for _, s := range []string{`{}`, `{"DequeueCount":"x"}`, `{"DequeueCount":"\"7\"","Id":12}`, `{"Id":"\"\\\"x\\\"\""}`,
		`{"InsertionTime":"9999-12-31T23:59:59-01:00"}`, `{"DequeueCount":99999999999999999999}`, `{"sys":{"UtcNow":"x"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var md map[string]json.RawMessage
		if json.Unmarshal(raw, &md) != nil {
			return
		}
		q, err := DecodeQueueMetadata(md)
		if err != nil || quotedOnceMore(string(q.ID)) || quotedOnceMore(string(q.PopReceipt)) ||
			!representable(q.InsertionTime, q.ExpirationTime, q.NextVisibleTime) {
			return
		}
		out, err := json.Marshal(q)
		if err != nil {
			t.Fatal(err)
		}
		var md2 map[string]json.RawMessage
		if err := json.Unmarshal(out, &md2); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeQueueMetadata(md2)
		if err != nil || again.DequeueCount != q.DequeueCount || again.ID != q.ID || again.PopReceipt != q.PopReceipt ||
			!again.InsertionTime.Equal(q.InsertionTime.Time) || !again.ExpirationTime.Equal(q.ExpirationTime.Time) ||
			!again.NextVisibleTime.Equal(q.NextVisibleTime.Time) {
			t.Fatalf("round trip changed the metadata (%v):\n before %+v\n after  %+v", err, q, again)
		}
	})
}

func fuzzDefinition(tb testing.TB, s string) trigger.Definition {
	tb.Helper()
	d, err := trigger.ParseDefinition([]byte(s))
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// FuzzInvocation posts whole invocation bodies to the server, for an HTTP, a queue and a timer function: the
// answer is always JSON, a body that is not an invocation is refused as invalid (400), and a queue function
// gets exactly the message QueueMessageBytes reads.
func FuzzInvocation(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, n := range fixtures {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		for fn := range uint8(3) {
			f.Add(fn, b)
		}
	}
	f.Add(uint8(0), []byte(`{not json`))
	f.Add(uint8(1), []byte(`{"Data":{},"Metadata":{}}`))
	f.Add(uint8(2), []byte(`{"Data":{"timer":"x"}}`))
	var got []trigger.Message
	fns := []trigger.Function{
		{Name: "orderstatus", Definition: fuzzDefinition(f, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get","post"],"route":"orders/{salesorderid}"},{"type":"http","direction":"out","name":"res"}]}`),
			HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				w.Header().Set("X-Id", r.PathValue("salesorderid"))
				_, _ = w.Write(b)
			})},
		{Name: "statusupdates", Definition: fuzzDefinition(f, `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"sap-events"}]}`),
			Queue: trigger.QueueFunc(func(_ context.Context, m trigger.Message) error { got = append(got, m); return nil })},
		{Name: "inventorysync", Definition: fuzzDefinition(f, `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 */15 * * * *"}]}`),
			Timer: trigger.TimerFunc(func(context.Context, trigger.Timer) error { return nil })},
	}
	s, err := NewServer(Options{}, fns...)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, fn uint8, body []byte) {
		name := fns[int(fn)%len(fns)].Name
		got = nil
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/"+name, bytes.NewReader(body)))
		var answer map[string]json.RawMessage
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("%s answered %d with a body that is not a JSON object: %q", name, w.Code, w.Body.Bytes())
		}
		var req InvokeRequest
		if json.Unmarshal(body, &req) != nil {
			if w.Code != http.StatusBadRequest {
				t.Fatalf("a body that is not an invocation got %d, want 400", w.Code)
			}
			return
		}
		if w.Code != http.StatusOK {
			if w.Code < 400 {
				t.Fatalf("%s failed with %d", name, w.Code)
			}
			return
		}
		for _, k := range []string{"Outputs", "Logs", "ReturnValue"} {
			if _, ok := answer[k]; !ok {
				t.Fatalf("%s answered 200 without %s: %s", name, k, w.Body.Bytes())
			}
		}
		if name == "statusupdates" {
			want, err := QueueMessageBytes(req.Data["msg"])
			if err != nil || len(got) != 1 || !bytes.Equal(got[0].Body, want) {
				t.Fatalf("the function got %+v, the invocation holds %q (%v)", got, want, err)
			}
		}
	})
}

// FuzzForwardRoutes turns routes as function.json may write them into the server's routes: a route the mux
// cannot take is an error at start-up, never a panic, and a server that starts answers readiness.
func FuzzForwardRoutes(f *testing.F) {
	for _, s := range []string{"orders", "orders/{salesorderid}", "orders/{salesorderid:guid}", "health", "openapi.json", "{*rest}", "a/{id?}",
		"{id:int}/{x?}", "{", "}", "{}", "a//b", "{a}/{a}", "..", "a b", "/", "", "{*a}/b", "{id?}/x"} {
		f.Add(s, "get,post")
	}
	f.Add("orders", "")
	f.Add("orders", "G ET")
	f.Fuzz(func(t *testing.T, route, methods string) {
		b := trigger.Binding{Type: string(trigger.HTTPTrigger), Direction: "in", Name: "req", Route: route}
		if methods != "" {
			b.Methods = strings.Split(methods, ",")
		}
		d := trigger.Definition{Bindings: []trigger.Binding{b, {Type: "http", Direction: "out", Name: "res"}}}
		s, err := NewServer(Options{}, trigger.Function{Name: "fn", Definition: d, HTTP: http.NotFoundHandler()})
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if w.Code != http.StatusOK || w.Body.String() != "ready\n" {
			t.Fatalf("readiness answered %d %q", w.Code, w.Body.String())
		}
		// A request on the route itself (parameters filled with their names) must not panic either.
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = "/api/" + strings.NewReplacer("{", "", "}", "").Replace(route)
		s.ServeHTTP(httptest.NewRecorder(), r)
	})
}
