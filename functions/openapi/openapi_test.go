package openapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding the document: %v\n%.300s", err, b)
	}
	return m
}

func TestFunctionDeclaration(t *testing.T) {
	f, err := Function(&Handler{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	tr := f.Definition.Trigger()
	if f.Name != "openapi" || tr.AuthLevel != "anonymous" || f.Definition.Route(f.Name) != "openapi.json" ||
		!reflect.DeepEqual(f.Definition.Methods(), []string{"GET", "HEAD"}) || !f.Definition.Forwardable() {
		t.Fatalf("declaration = %s %+v", f.Name, f.Definition)
	}
}

func TestServesTheDocument(t *testing.T) {
	tests := []struct {
		name     string
		host     string
		req      func() *http.Request
		wantHost any // nil: no host member at all
	}{
		{
			name:     "no host configured leaves host out",
			req:      func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil) },
			wantHost: nil,
		},
		{
			name:     "host comes from the handler",
			host:     "d365sap-prod.azurewebsites.net",
			req:      func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil) },
			wantHost: "d365sap-prod.azurewebsites.net",
		},
		{
			name: "a forged Host and forwarding headers change nothing",
			host: "d365sap-prod.azurewebsites.net",
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "https://evil.example/api/openapi.json?host=evil.example", nil)
				r.Host = "evil.example"
				r.Header.Set("X-Forwarded-Host", "evil.example")
				r.Header.Set("X-Original-Host", "evil.example")
				r.Header.Set("Forwarded", "host=evil.example;proto=http")
				return r
			},
			wantHost: "d365sap-prod.azurewebsites.net",
		},
		{
			name: "a forged Host without a configured host does not add one",
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil)
				r.Host = "evil.example"
				r.Header.Set("X-Forwarded-Host", "evil.example")
				return r
			},
			wantHost: nil,
		},
		{
			name:     "a port is kept",
			host:     "localhost:7071",
			req:      func() *http.Request { return httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil) },
			wantHost: "localhost:7071",
		},
	}
	embedded := decode(t, Document())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Function(&Handler{Host: tt.host})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			f.HTTP.ServeHTTP(rec, tt.req())
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if rec.Header().Get("ETag") == "" || rec.Header().Get("Cache-Control") == "" {
				t.Errorf("caching headers missing: %v", rec.Header())
			}
			got := decode(t, rec.Body.Bytes())
			host, has := got["host"]
			if tt.wantHost == nil && has {
				t.Fatalf("host = %v, want none", host)
			}
			if tt.wantHost != nil && host != tt.wantHost {
				t.Fatalf("host = %v, want %v", host, tt.wantHost)
			}
			// Apart from host, the served document is the embedded one.
			delete(got, "host")
			if !reflect.DeepEqual(got, embedded) {
				t.Fatal("the served document differs from the embedded one beyond host")
			}
			if tt.wantHost == nil && !bytes.Equal(rec.Body.Bytes(), Document()) {
				t.Fatal("without a host the document should be served byte for byte")
			}
		})
	}
}

func TestEmbeddedDocumentHasNoHost(t *testing.T) {
	if _, has := decode(t, Document())["host"]; has {
		t.Fatal("openapi.json must not name a host: it is filled from WEBSITE_HOSTNAME when served")
	}
}

func TestRejectsABadHostAtStartup(t *testing.T) {
	for _, host := range []string{
		"https://d365sap.azurewebsites.net",
		"d365sap.azurewebsites.net/api",
		"user@d365sap.azurewebsites.net",
		"d365sap.azurewebsites.net:https",
		"d365sap..net",
		"-bad.example",
		"d365sap.azurewebsites.net?x=1",
		"exa mple.com",
	} {
		t.Run(host, func(t *testing.T) {
			if _, err := Function(&Handler{Host: host}); err == nil {
				t.Fatalf("Function accepted host %q", host)
			}
		})
	}
	for _, host := range []string{"d365sap.azurewebsites.net", "127.0.0.1:7071", "[::1]:7071", "localhost"} {
		t.Run("accepts "+host, func(t *testing.T) {
			if _, err := Function(&Handler{Host: host}); err != nil {
				t.Fatalf("Function refused host %q: %v", host, err)
			}
		})
	}
}

func TestConditionalAndMethods(t *testing.T) {
	f, err := Function(&Handler{Host: "d365sap.azurewebsites.net"})
	if err != nil {
		t.Fatal(err)
	}
	first := httptest.NewRecorder()
	f.HTTP.ServeHTTP(first, httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil))
	etag := first.Header().Get("ETag")

	other, err := Function(&Handler{Host: "other.azurewebsites.net"})
	if err != nil {
		t.Fatal(err)
	}
	otherRec := httptest.NewRecorder()
	other.HTTP.ServeHTTP(otherRec, httptest.NewRequest(http.MethodGet, "/api/openapi.json", nil))
	if otherRec.Header().Get("ETag") == etag {
		t.Fatal("two hosts give the same ETag; a cache could serve one app's host for another")
	}

	tests := []struct {
		name        string
		method      string
		ifNoneMatch []string // If-None-Match's field lines
		status      int
		bodyEmpty   bool
	}{
		{"matching ETag", http.MethodGet, []string{etag}, http.StatusNotModified, true},
		{"weak form of the ETag", http.MethodGet, []string{"W/" + etag}, http.StatusNotModified, true},
		{"one of several ETags", http.MethodGet, []string{`"abc", ` + etag}, http.StatusNotModified, true},
		{"the ETag on a second line", http.MethodGet, []string{`"abc"`, etag}, http.StatusNotModified, true},
		{"stale ETags on two lines", http.MethodGet, []string{`"stale"`, `W/"old"`}, http.StatusOK, false},
		{"stale ETag", http.MethodGet, []string{`"stale"`}, http.StatusOK, false},
		{"HEAD", http.MethodHead, nil, http.StatusOK, true},
		{"POST", http.MethodPost, nil, http.StatusMethodNotAllowed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/api/openapi.json", nil)
			for _, v := range tt.ifNoneMatch {
				r.Header.Add("If-None-Match", v)
			}
			rec := httptest.NewRecorder()
			f.HTTP.ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if (rec.Body.Len() == 0) != tt.bodyEmpty {
				t.Fatalf("body length %d, want empty=%v", rec.Body.Len(), tt.bodyEmpty)
			}
			if tt.status == http.StatusOK && tt.method == http.MethodGet && !bytes.Equal(rec.Body.Bytes(), first.Body.Bytes()) {
				t.Fatal("the body changed between requests")
			}
			if tt.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Fatalf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
}
