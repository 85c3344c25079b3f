package azfunc

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

const testLimit = 1024

// limitApp serves one HTTP function that answers the length of the body it read, under a 1 KiB limit.
func limitApp(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	size := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"read": len(b)})
	})
	s, err := NewServer(Options{MaxBodyBytes: testLimit}, trigger.Function{Name: "size",
		Definition: def(t, `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["post"]},{"type":"http","direction":"out","name":"res"}]}`),
		HTTP:       size})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, &calls
}

// wrapped is an invocation of size as the host builds it, with Body given as the JSON it sends.
func wrapped(headers map[string][]string, body json.RawMessage) []byte {
	req := map[string]any{"Url": "http://localhost:7071/api/size", "Method": "POST", "Query": map[string]string{},
		"Headers": headers, "Params": map[string]string{}}
	if body != nil {
		req["Body"] = body
	}
	b, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": req}, "Metadata": map[string]any{}})
	return b
}

func jsonText(s string) json.RawMessage { b, _ := json.Marshal(s); return b }

// resOf posts an invocation (chunked, as the host's ObjectContent is) and returns Outputs.res; the invocation
// itself must succeed.
func resOf(t *testing.T, srv *httptest.Server, invocation []byte) HTTPResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/size", io.MultiReader(bytes.NewReader(invocation)))
	req.ContentLength = -1
	req.Header.Set(HeaderInvocationID, "inv-413")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Outputs map[string]HTTPResponse
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the invocation failed with %d (the host would answer a bare 500): %.300s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decoding %.300s: %v", b, err)
	}
	return out.Outputs["res"]
}

func problemType(t *testing.T, body string) string {
	t.Helper()
	var doc problem.Document
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("body %.200q is not a problem: %v", body, err)
	}
	return strings.TrimPrefix(doc.Type, problem.TypeBase)
}

func TestWrappedBodyLimit(t *testing.T) {
	jsonCT := map[string][]string{"Content-Type": {"application/json"}}
	binCT := map[string][]string{"Content-Type": {"application/octet-stream"}}
	b64 := func(n int) json.RawMessage {
		return jsonText(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0}, n)))
	}
	tests := []struct {
		name    string
		headers map[string][]string
		body    json.RawMessage
		status  string
		problem string // the problem kind when the function is not run
	}{
		{"text at the limit", jsonCT, jsonText(strings.Repeat("a", testLimit)), "200", ""},
		{"text one byte over", jsonCT, jsonText(strings.Repeat("a", testLimit+1)), "413", "payload-too-large"},
		// Counted after unescaping: 1 KiB of control characters is 6 KiB of JSON and still within the limit.
		{"escaped text at the limit", jsonCT, jsonText(strings.Repeat("\x01", testLimit)), "200", ""},
		{"base64 at the limit", binCT, b64(testLimit), "200", ""},
		{"base64 over", binCT, b64(testLimit + 1), "413", "payload-too-large"},
		{"JSON body handed over parsed, over", jsonCT, json.RawMessage(`{"a":"` + strings.Repeat("b", testLimit) + `"}`), "413", "payload-too-large"},
		// Bigger than any body within the limit can make an invocation: refused before it is decoded.
		{"invocation beyond any body within the limit", jsonCT, jsonText(strings.Repeat("a", 2<<20)), "413", "payload-too-large"},
		{"chunked, so the host dropped the body", map[string][]string{"Transfer-Encoding": {"chunked"}}, nil, "411", "length-required"},
		{"no body at all", jsonCT, nil, "200", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := limitApp(t)
			res := resOf(t, srv, wrapped(tt.headers, tt.body))
			if res.StatusCode != tt.status || res.Status != tt.status {
				t.Fatalf("res statusCode %q, want %q: %.300s", res.StatusCode, tt.status, res.Body)
			}
			if tt.problem == "" {
				if calls.Load() != 1 {
					t.Errorf("the function ran %d times", calls.Load())
				}
				return
			}
			if calls.Load() != 0 {
				t.Error("the function ran on a refused body")
			}
			if got := problemType(t, res.Body); got != tt.problem {
				t.Errorf("problem %q, want %q", got, tt.problem)
			}
			if ct := res.Headers["Content-Type"]; ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !strings.Contains(res.Body, `"instance":"inv-413"`) {
				t.Errorf("the problem does not name the invocation: %s", res.Body)
			}
		})
	}
}

func TestForwardedBodyLimit(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		chunked bool
		status  int
	}{
		{"at the limit", testLimit, false, http.StatusOK},
		{"at the limit, chunked", testLimit, true, http.StatusOK},
		{"over, with Content-Length", testLimit + 1, false, http.StatusRequestEntityTooLarge},
		{"over, chunked", testLimit + 1, true, http.StatusRequestEntityTooLarge},
		{"far over, chunked", 4 << 20, true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := limitApp(t)
			var body io.Reader = bytes.NewReader(bytes.Repeat([]byte("x"), tt.size))
			if tt.chunked {
				body = io.MultiReader(body)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/size", body)
			if tt.chunked {
				req.ContentLength = -1
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.status == http.StatusOK {
				if want := `{"read":1024}`; strings.TrimSpace(string(b)) != want {
					t.Errorf("the function read %s, want %s", b, want)
				}
				return
			}
			if calls.Load() != 0 || problemType(t, string(b)) != "payload-too-large" {
				t.Errorf("calls %d, body %s", calls.Load(), b)
			}
		})
	}
}

// A queue or timer invocation over the bound is the host's mistake, not a caller's: it fails, so the host retries
// and finally poisons the message rather than dropping it.
func TestOversizedQueueInvocationFails(t *testing.T) {
	s, err := NewServer(Options{MaxBodyBytes: testLimit}, trigger.Function{Name: "q",
		Definition: def(t, `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"q"}]}`),
		Queue:      trigger.QueueFunc(func(ctx context.Context, m trigger.Message) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	inv, _ := json.Marshal(map[string]any{"Data": map[string]string{"msg": strings.Repeat("m", 2<<20)}, "Metadata": map[string]any{}})
	resp, err := http.Post(srv.URL+"/q", "application/json", bytes.NewReader(inv))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("status %d, want a failed invocation", resp.StatusCode)
	}
}
