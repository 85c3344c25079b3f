package hostile

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// openAPICases: GET /api/openapi.json (anonymous) is the same document whatever the request says; its host is the
// configured public host name, never one the request gave.
func openAPICases(w *world) []hcase {
	const path = "/api/openapi.json"
	doc := want{status: http.StatusOK, check: openAPIDocument}
	get := func(cl class, name string, r request, wt want) hcase {
		return hcase{class: cl, name: "openapi " + name, req: r, want: wt}
	}
	plain := anon(http.MethodGet, path)
	head := anon(http.MethodHead, path)
	cases := []hcase{
		get(headers, "plain", plain, doc),
		get(headers, "with a forged Host", plain.with("Host", "evil.example"), doc),
		get(headers, "with X-Forwarded-Host", plain.with("X-Forwarded-Host", "evil.example").with("X-Forwarded-Proto", "http"), doc),
		get(headers, "with Forwarded", plain.with("Forwarded", "host=evil.example"), doc),
		get(headers, "If-None-Match *", plain.with("If-None-Match", "*"), byHandler(http.StatusNotModified)),
		get(headers, "If-None-Match the ETag", plain.with("If-None-Match", w.etag), byHandler(http.StatusNotModified)),
		get(headers, "If-None-Match the weak ETag", plain.with("If-None-Match", "W/"+w.etag), byHandler(http.StatusNotModified)),
		get(headers, "If-None-Match the ETag among garbage", plain.with("If-None-Match", `"x", ,,W/"y", `+w.etag+`, *x`), byHandler(http.StatusNotModified)),
		get(headers, "If-None-Match the ETag on a second line", plain.with("If-None-Match", `"stale"`).with("If-None-Match", w.etag), byHandler(http.StatusNotModified)),
		get(headers, "If-None-Match the ETag unquoted", plain.with("If-None-Match", strings.Trim(w.etag, `"`)), doc),
		get(methods, "HEAD with If-None-Match the ETag", head.with("If-None-Match", w.etag), byHandler(http.StatusNotModified)),
		get(headers, "If-None-Match garbage", plain.with("If-None-Match", `"x", W/"y", ,,`), doc),
		get(headers, "If-None-Match 8 KB", plain.with("If-None-Match", longTag()), doc),
		get(headers, "Accept application/xml", plain.with("Accept", "application/xml"), doc),
		get(headers, "Accept-Encoding gzip", plain.with("Accept-Encoding", "gzip"), doc),
		get(headers, "a body on GET", plain.with("Content-Type", "application/json").withBody(`{"host":"evil.example"}`), doc),
		get(ids, "with a query", anon(http.MethodGet, path+"?format=yaml&$filter=x&host=evil.example"), doc),
		get(ids, "in upper case", anon(http.MethodGet, "/API/OPENAPI.JSON"), doc),
		get(ids, "with a trailing slash", anon(http.MethodGet, path+"/"), doc),
		get(ids, "with an extra segment", anon(http.MethodGet, path+"/x"), byHost(http.StatusNotFound)),
		get(ids, "percent-encoded", anon(http.MethodGet, "/api/openapi%2Ejson"), doc),
		get(ids, "without .json", anon(http.MethodGet, "/api/openapi"), byHost(http.StatusNotFound)),
		get(auth, "with a wrong key", plain.with("x-functions-key", "nope"), doc),
		get(auth, "with a wrong ?code=", anon(http.MethodGet, path+"?code=nope"), doc),
		get(methods, "HEAD", head, want{status: http.StatusOK, check: func(t *testing.T, r response) {
			t.Helper()
			if len(r.body) != 0 || r.header.Get("ETag") == "" {
				t.Errorf("HEAD: %d bytes, ETag %q", len(r.body), r.header.Get("ETag"))
			}
		}}),
	}
	return append(cases, w.methodCases(path, http.MethodGet, http.MethodHead)...)
}

// openAPIDocument checks the served definition: Swagger 2.0, the configured host, a strong ETag.
func openAPIDocument(t *testing.T, r response) {
	t.Helper()
	var d struct {
		Swagger string `json:"swagger"`
		Host    string `json:"host"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("the definition: %v", err)
	}
	if d.Swagger != "2.0" || d.Host != publicHost {
		t.Errorf("swagger %q host %q, want 2.0 on %s", d.Swagger, d.Host, publicHost)
	}
	if r.header.Get("ETag") == "" {
		t.Error("no ETag")
	}
}

// byHandler is a non-problem answer of the function's with no body to check.
func byHandler(status int) want { return want{status: status} }

func longTag() string {
	b := make([]byte, 0, 8200)
	for len(b) < 8000 {
		b = append(b, `"tag", `...)
	}
	return string(b)
}
