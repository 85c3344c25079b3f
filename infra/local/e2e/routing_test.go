package e2e

import (
	"net/http"
	"testing"
)

// Kestrel decodes every escape in a path except %2F, and the host routes on that path: an encoded slash is part
// of a segment, never a separator, so these reach no function.
func TestEncodedSlashDoesNotRoute(t *testing.T) {
	app := Start(t, nil)
	if r := app.Get(t, "/api/health"); r.Status != http.StatusOK {
		t.Fatalf("/api/health: status %d", r.Status)
	}
	for _, path := range []string{"/api%2Fhealth", "/api%2fhealth", "/api%2Forders%2F" + someOrder, "/api/orders%2F" + someOrder} {
		t.Run(path, func(t *testing.T) {
			r := app.Do(t, http.MethodGet, path, app.FunctionKey, nil, nil)
			if r.Status != http.StatusNotFound || r.Header.Get("Content-Type") == "application/problem+json" {
				t.Errorf("status %d (%s): %.200s; want the host's own 404, no function invoked", r.Status, r.Header.Get("Content-Type"), r.Body)
			}
		})
	}
}

// The OpenAPI document's strong ETag comes back byte for byte in If-None-Match and answers 304; HEAD is declared
// in function.json (the host routes only the methods listed there) and answers 200 with the headers, no body.
func TestOpenAPIConditionalGetAndHead(t *testing.T) {
	app := Start(t, nil)
	first := app.Get(t, "/api/openapi.json")
	etag := first.Header.Get("ETag")
	if first.Status != http.StatusOK || len(etag) < 3 || etag[0] != '"' {
		t.Fatalf("status %d, ETag %q: want 200 with a strong ETag", first.Status, etag)
	}
	tests := []struct {
		name   string
		method string
		header http.Header
		status int
		body   bool
	}{
		{"strong ETag", http.MethodGet, http.Header{"If-None-Match": {etag}}, http.StatusNotModified, false},
		{"weak form of it", http.MethodGet, http.Header{"If-None-Match": {"W/" + etag}}, http.StatusNotModified, false},
		{"in a list", http.MethodGet, http.Header{"If-None-Match": {`"other", ` + etag}}, http.StatusNotModified, false},
		{"another ETag", http.MethodGet, http.Header{"If-None-Match": {`"other"`}}, http.StatusOK, true},
		{"HEAD", http.MethodHead, nil, http.StatusOK, false},
		{"HEAD with the ETag", http.MethodHead, http.Header{"If-None-Match": {etag}}, http.StatusNotModified, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := app.Do(t, tt.method, "/api/openapi.json", "", nil, tt.header)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %.200s", r.Status, tt.status, r.Body)
			}
			if got := r.Header.Get("ETag"); got != etag {
				t.Errorf("ETag %q, want %q", got, etag)
			}
			if (len(r.Body) > 0) != tt.body {
				t.Errorf("%d body bytes; want a body: %v", len(r.Body), tt.body)
			}
		})
	}
}
