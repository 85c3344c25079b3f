package cloudevent_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/kit"
	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/problem"
)

const changed = `{"type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","specversion":"1.0","source":"/default/sap.s4.beh/730431274",` +
	`"id":"6c3e1a52-7d1b-1eef-9a8c-4f1e2d3c5b60","time":"2019-03-18T07:59:58Z","datacontenttype":"application/json","data":{"SalesOrder":"164"}}`

func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestReadHTTPReadsEveryMode(t *testing.T) {
	binary := headers("Content-Type", "application/json", "ce-specversion", "1.0", "ce-type", "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1",
		"ce-source", "/default/sap.s4.beh/730431274", "ce-id", "b-1", "ce-time", "2019-03-18T07:59:58Z")
	tests := []struct {
		name   string
		h      http.Header
		body   string
		ids    []string
		source string
	}{
		{"binary mode: ce-* headers and the data as the body", binary, `{"SalesOrder":"164"}`, []string{"b-1"}, "/default/sap.s4.beh/730431274"},
		{"structured mode", headers("Content-Type", "application/cloudevents+json; charset=utf-8"), changed, []string{"6c3e1a52-7d1b-1eef-9a8c-4f1e2d3c5b60"}, "/default/sap.s4.beh/730431274"},
		{"a structured event sent as application/json, as an Event Mesh webhook does by default", headers("Content-Type", "application/json"), changed, []string{"6c3e1a52-7d1b-1eef-9a8c-4f1e2d3c5b60"}, "/default/sap.s4.beh/730431274"},
		{"a batch of two", headers("Content-Type", "application/cloudevents-batch+json"), "[" + changed + "," + strings.Replace(changed, `"id":"6c3e`, `"id":"7c3e`, 1) + "]",
			[]string{"6c3e1a52-7d1b-1eef-9a8c-4f1e2d3c5b60", "7c3e1a52-7d1b-1eef-9a8c-4f1e2d3c5b60"}, "/default/sap.s4.beh/730431274"},
		{"an empty batch", headers("Content-Type", "application/cloudevents-batch+json"), "[]", nil, ""},
		{"data sent as data_base64", headers("Content-Type", "application/cloudevents+json"),
			`{"specversion":"1.0","type":"t","source":"/s","id":"x","datacontenttype":"application/json","data_base64":"` + base64.StdEncoding.EncodeToString([]byte(`{"SalesOrder":"1"}`)) + `"}`,
			[]string{"x"}, "/s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := cloudevent.ReadHTTP(tt.h, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(tt.ids) {
				t.Fatalf("read %d events, want %d", len(evs), len(tt.ids))
			}
			for i, e := range evs {
				if e.ID != tt.ids[i] || e.Source != tt.source || e.SpecVersion != "1.0" || !strings.HasPrefix(string(e.Data), "{") {
					t.Errorf("event %d = %+v", i, e)
				}
			}
		})
	}
}

func TestReadHTTPKeepsTheEnvelope(t *testing.T) {
	evs, err := cloudevent.ReadHTTP(headers("Content-Type", "application/cloudevents+json"), []byte(changed))
	if err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	if e.Type != "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1" || e.Time.Format("2006-01-02T15:04:05Z07:00") != "2019-03-18T07:59:58Z" ||
		string(e.Data) != `{"SalesOrder":"164"}` {
		t.Fatalf("read %+v", e)
	}
	// What the events function enqueues is read back unchanged by the queue function.
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := cloudevent.ReadQueue(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != e.ID || back.Type != e.Type || !back.Time.Equal(e.Time) || string(back.Data) != string(e.Data) || back.Source != e.Source {
		t.Fatalf("round trip: %+v, want %+v", back, e)
	}
}

func TestReadHTTPRefusesWhatIsNoCloudEvent(t *testing.T) {
	tests := []struct {
		name  string
		h     http.Header
		body  string
		kind  problem.Kind
		field string
	}{
		{"no Content-Type", headers(), changed, problem.UnsupportedMediaType, "Content-Type"},
		{"a media type no mode reads", headers("Content-Type", "text/plain"), changed, problem.UnsupportedMediaType, "Content-Type"},
		{"plain JSON that is no event", headers("Content-Type", "application/json"), `{"SalesOrder":"1"}`, problem.Invalid, "ce-specversion"},
		{"binary mode of spec 0.3", headers("Content-Type", "application/json", "ce-specversion", "0.3", "ce-id", "1", "ce-source", "/s", "ce-type", "t"), `{}`, problem.Invalid, "ce-specversion"},
		{"binary mode without an id", headers("Content-Type", "application/json", "ce-specversion", "1.0", "ce-source", "/s", "ce-type", "t"), `{"a":"b"}`, problem.Invalid, "id"},
		{"binary mode without a type", headers("Content-Type", "application/json", "ce-specversion", "1.0", "ce-source", "/s", "ce-id", "1"), `{"a":"b"}`, problem.Invalid, "type"},
		{"binary mode with data that is no object", headers("Content-Type", "application/json", "ce-specversion", "1.0", "ce-source", "/s", "ce-id", "1", "ce-type", "t"), `[1]`, problem.Invalid, "data"},
		{"binary mode with a time that is no time", headers("Content-Type", "application/json", "ce-specversion", "1.0", "ce-source", "/s", "ce-id", "1", "ce-type", "t", "ce-time", "yesterday"), `{"a":"b"}`, problem.Invalid, "ce-time"},
		{"binary mode with ce-specversion twice", http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0", "0.3"}, "Ce-Id": {"1"}, "Ce-Source": {"/s"}, "Ce-Type": {"t"}}, `{"a":"b"}`, problem.Invalid, "ce-specversion"},
		{"binary mode with ce-type twice", http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"/s"}, "Ce-Type": {"t", "u"}}, `{"a":"b"}`, problem.Invalid, "ce-type"},
		{"structured: an empty source", headers("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","id":"1","source":"","type":"t","data":{"a":"b"}}`, problem.Invalid, "source"},
		{"structured: a type that is a number", headers("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","id":"1","source":"/s","type":7,"data":{"a":"b"}}`, problem.Invalid, "type"},
		{"structured: a time that is no time", headers("Content-Type", "application/cloudevents+json"), strings.Replace(changed, "2019-03-18T07:59:58Z", "yesterday", 1), problem.Invalid, "time"},
		{"structured: no specversion", headers("Content-Type", "application/cloudevents+json"), `{"id":"1","source":"/s","type":"t","data":{}}`, problem.Invalid, "specversion"},
		{"structured: specversion 0.3", headers("Content-Type", "application/cloudevents+json"), strings.Replace(changed, `"1.0"`, `"0.3"`, 1), problem.Invalid, "specversion"},
		{"structured: specversion a number", headers("Content-Type", "application/cloudevents+json"), strings.Replace(changed, `"1.0"`, `1.0`, 1), problem.Invalid, "specversion"},
		{"structured: no source", headers("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","id":"1","type":"t","data":{"a":"b"}}`, problem.Invalid, "source"},
		{"structured: an empty id", headers("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","id":"","source":"/s","type":"t","data":{"a":"b"}}`, problem.Invalid, "id"},
		{"structured: no data", headers("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","id":"1","source":"/s","type":"t"}`, problem.Invalid, "data"},
		{"structured: data a string", headers("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","id":"1","source":"/s","type":"t","data":"x"}`, problem.Invalid, "data"},
		{"structured: data of another media type", headers("Content-Type", "application/cloudevents+json"), `{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"application/xml","data":"<a/>"}`, problem.Invalid, "datacontenttype"},
		{"structured: an array", headers("Content-Type", "application/cloudevents+json"), "[" + changed + "]", problem.Invalid, "<body>"},
		{"structured: truncated", headers("Content-Type", "application/cloudevents+json"), changed[:40], problem.Invalid, "<body>"},
		{"structured: not UTF-8", headers("Content-Type", "application/cloudevents+json"), "{\"specversion\":\"1.0\",\"id\":\"\xff\"}", problem.Invalid, "<body>"},
		{"batch: an object", headers("Content-Type", "application/cloudevents-batch+json"), changed, problem.Invalid, "<body>"},
		{"batch: one bad event spoils the batch", headers("Content-Type", "application/cloudevents-batch+json"), "[" + changed + `,{"specversion":"1.0"}]`, problem.Invalid, "id"},
		{"batch: too many", headers("Content-Type", "application/cloudevents-batch+json"), "[" + strings.Repeat(changed+",", cloudevent.MaxBatch) + changed + "]", problem.Invalid, "<body>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := cloudevent.ReadHTTP(tt.h, []byte(tt.body))
			if err == nil {
				t.Fatalf("read %d events, want a refusal", len(evs))
			}
			var pe *problem.Error
			if !errors.As(err, &pe) || pe.Kind != tt.kind {
				t.Fatalf("error %v (%T), want a %v problem", err, err, tt.kind)
			}
			if len(pe.Fields) == 0 || pe.Fields[0].Field != tt.field {
				t.Fatalf("problem names %+v, want field %q (%s)", pe.Fields, tt.field, pe.Detail)
			}
		})
	}
}

func TestReadHTTPNamesTheBadEventOfABatch(t *testing.T) {
	_, err := cloudevent.ReadHTTP(headers("Content-Type", "application/cloudevents-batch+json"), []byte("["+changed+","+changed+`,{"specversion":"1.0","id":"9"}]`))
	if err == nil || !strings.Contains(err.Error(), "event 3 of the batch") {
		t.Fatalf("error %v, want it to name event 3", err)
	}
}

func TestReadQueueReadsEventGridMessagesEitherWay(t *testing.T) {
	k := kit.Dir(t, "sap/samples")
	sample, err := os.ReadFile(filepath.Join(k, "sap/samples/event_SalesOrder_Changed.constructed.cloudevent.json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{
		"plain JSON":         sample,
		"base64":             []byte(base64.StdEncoding.EncodeToString(sample)),
		"base64 with a line": []byte(base64.StdEncoding.EncodeToString(sample) + "\n"),
	} {
		t.Run(name, func(t *testing.T) {
			e, err := cloudevent.ReadQueue(body)
			if err != nil {
				t.Fatal(err)
			}
			if e.Type != "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1" || !strings.Contains(string(e.Data), `"SalesOrder":"164"`) {
				t.Fatalf("read %+v", e)
			}
		})
	}
	for name, body := range map[string]string{
		"neither JSON nor base64": "not an event!",
		"base64 of no event":      base64.StdEncoding.EncodeToString([]byte("hello")),
		"empty":                   "",
	} {
		t.Run(name, func(t *testing.T) {
			if e, err := cloudevent.ReadQueue([]byte(body)); problem.KindOf(err) != problem.Invalid {
				t.Fatalf("read %+v, %v; want an invalid problem", e, err)
			}
		})
	}
}

// The kit's samples, real and constructed, are all events this package reads.
func TestReadHTTPReadsTheKitSamples(t *testing.T) {
	k := kit.Dir(t, "sap/samples")
	files, err := filepath.Glob(filepath.Join(k, "sap/samples/event_*.json"))
	if err != nil || len(files) < 5 {
		t.Fatalf("found %d event samples (%v)", len(files), err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := cloudevent.ReadHTTP(headers("Content-Type", "application/cloudevents+json"), b)
		if err != nil || len(evs) != 1 || !strings.HasPrefix(evs[0].Type, "sap.s4.beh.") {
			t.Errorf("%s: %v %+v", filepath.Base(f), err, evs)
		}
	}
}
