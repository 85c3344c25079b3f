package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/shared/problem"
)

const someOrder = "7f3c1a52-5f4e-4f0e-9a57-2d4b1c8e9a10"

// orderOf is an order push request padded to about n bytes; the padding member is never read, since a body over
// the limit is refused before the function parses it.
func orderOf(n int) []byte {
	head := `{"salesorderid":"` + someOrder + `","pad":"`
	return []byte(head + strings.Repeat("x", max(0, n-len(head)-2)) + `"}`)
}

// problemOf decodes a problem answer, failing unless it is one with the status.
func problemOf(t *testing.T, r Response, status int) problem.Document {
	t.Helper()
	if r.Status != status || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d (%s), want %d problem+json: %.300s", r.Status, r.Header.Get("Content-Type"), status, r.Body)
	}
	var doc problem.Document
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("decoding the problem %.300s: %v", r.Body, err)
	}
	if doc.Status != status {
		t.Errorf("problem status member %d, want %d", doc.Status, status)
	}
	return doc
}

// A body over HTTP_MAX_BODY_BYTES is the handler's 413 problem through the host: a successful invocation whose
// res is 413, not a failed one (which the host turns into a bare 500 with no body).
func TestOrderBodyOverTheLimitIsTheHandlers413(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]string
		size     int
	}{
		{"9 MiB against the default 8 MiB", nil, 9 << 20},
		{"2 KiB against a limit of 1 KiB", map[string]string{"HTTP_MAX_BODY_BYTES": "1024"}, 2 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := Start(t, &Options{Settings: tt.settings})
			r := app.Do(t, http.MethodPost, "/api/orders", app.FunctionKey, orderOf(tt.size),
				http.Header{"Content-Type": {"application/json"}})
			doc := problemOf(t, r, http.StatusRequestEntityTooLarge)
			if doc.Type != problem.TypeBase+"payload-too-large" {
				t.Errorf("type %q", doc.Type)
			}
			if doc.Instance == "" {
				t.Error("no invocation id in instance")
			}
			if app.Log.Contains(`"invocation failed"`) {
				t.Error("the host logged a failed invocation; the 413 must be a successful one")
			}
		})
	}
}

// The Functions host includes a wrapped request's body only when Content-Length is positive
// (HttpRequestExtensions.GetRequestAsJObject), so a chunked order reaches the handler without its body. The
// handler says so with 411 rather than "the request has no body", and nothing is pushed.
func TestChunkedOrderBodyIsAnsweredLengthRequired(t *testing.T) {
	app := Start(t, nil)
	req, err := http.NewRequest(http.MethodPost, app.URL("/api/orders"), io.MultiReader(strings.NewReader(string(orderOf(100)))))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1 // unknown: sent chunked
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-functions-key", app.FunctionKey)
	resp, err := app.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	doc := problemOf(t, Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, http.StatusLengthRequired)
	if doc.Type != problem.TypeBase+"length-required" || !strings.Contains(doc.Detail, "Content-Length") {
		t.Errorf("problem %+v does not tell the caller to send Content-Length", doc)
	}
}
