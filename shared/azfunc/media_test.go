package azfunc

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/d365sap/d365sap/shared/trigger"
)

// An HTTP function that declares the media types it reads never sees another one: the adapter answers 415 with
// a problem, on the wrapped and on the forwarded path, and the function does not run.
func TestMediaTypesAreCheckedBeforeTheFunctionRuns(t *testing.T) {
	var calls atomic.Int32
	fn := trigger.Function{Name: "size", Accepts: []string{"application/json"},
		Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["post"]},{"type":"http","direction":"out","name":"res"}]}`),
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			w.WriteHeader(http.StatusNoContent)
		})}
	s, err := NewServer(Options{MaxBodyBytes: testLimit}, fn)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	cases := map[string]string{"application/json": "204", "application/json; charset=utf-8": "204",
		"application/jsonp": "415", "": "415", "text/plain": "415", "application/json; charset=utf-16": "415"}
	for ct, want := range cases {
		calls.Store(0)
		headers := map[string][]string{}
		if ct != "" {
			headers["Content-Type"] = []string{ct}
		}
		res := resOf(t, srv, wrapped(headers, jsonText(`{"a":1}`)))
		if res.StatusCode != want || (want == "204") != (calls.Load() == 1) {
			t.Errorf("wrapped, Content-Type %q: %s (ran %d), want %s", ct, res.StatusCode, calls.Load(), want)
		}
		if want == "415" && problemType(t, res.Body) != "unsupported-media-type" {
			t.Errorf("wrapped, Content-Type %q: %s", ct, res.Body)
		}

		calls.Store(0)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/size", bytes.NewReader([]byte(`{"a":1}`)))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.StatusCode; (got == 204) != (want == "204") || (want == "415" && got != 415) {
			t.Errorf("forwarded, Content-Type %q: %d (ran %d), want %s", ct, got, calls.Load(), want)
		}
		if want == "415" {
			var doc map[string]any
			_ = json.Unmarshal(b, &doc)
			if detail, _ := doc["detail"].(string); !strings.Contains(detail, "application/json") {
				t.Errorf("forwarded: the 415 does not name the accepted type: %s", b)
			}
		}
	}
}
