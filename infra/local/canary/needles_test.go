package canary

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// The scan must find the canary however the app might have spelt it; a leak test whose search misses a form
// passes by not looking.
func TestEverySpellingOfTheCanaryIsFound(t *testing.T) {
	c := New()
	b64 := base64.StdEncoding.EncodeToString
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.Bytes()
	}
	logLine, _ := json.Marshal(map[string]string{"msg": "calling SAP", "password": c})
	tests := []struct {
		name string
		doc  []byte
	}{
		{"as set", []byte("password=" + c)},
		{"upper-cased", []byte(strings.ToUpper(c))},
		{"in a JSON log line (& escaped as \\u0026)", logLine},
		{"in a query string", []byte("https://x/token?client_secret=" + url.QueryEscape(c) + "&grant_type=client_credentials")},
		{"in a path", []byte("/secrets/" + url.PathEscape(c) + "/x")},
		{"a Basic auth header", []byte("Authorization: Basic " + b64([]byte("INTEGRATION_USER:"+c)))},
		{"base64 at offset 1", []byte(b64([]byte("x" + c + "tail")))},
		{"base64 at offset 2", []byte("prefix " + b64([]byte("xy"+c)) + " suffix")},
		{"base64url", []byte(base64.URLEncoding.EncodeToString([]byte("abc:" + c)))},
		{"a queue message: base64 of JSON", []byte(b64(logLine))},
		{"a gzip blob", gz(`{"order":{"note":"` + c + `"}}`)},
		{"a gzip blob of base64", gz(b64([]byte(c)))},
		{"a JSON property holding base64 of gzip", []byte(`{"PartitionKey":"p","Payload":"` + b64(gz("..."+c+"...")) + `"}`)},
		{"a JSON property holding a URL-encoded form", []byte(`{"body":"grant_type=client_credentials&client_secret=` + url.QueryEscape(c) + `"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewScan(Needles("the canary", c, "INTEGRATION_USER:"+c))
			s.Check("doc", tt.name, tt.doc)
			if len(s.Findings()) == 0 {
				t.Fatalf("not found in %q", tt.doc)
			}
		})
	}
}

func TestCleanDocumentsHaveNoFindings(t *testing.T) {
	c := New()
	key := "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	s := NewScan(Needles("the canary", c, "U:"+c), Needles("the storage account key", key))
	for _, doc := range []string{
		`{"time":"2026-01-01T00:00:00Z","level":"INFO","msg":"order push","salesorderid":"0c0ffee0-0000-4000-8000-0000000f0001"}`,
		base64.StdEncoding.EncodeToString([]byte(`{"salesorderid":"0c0ffee0-0000-4000-8000-0000000f0001","action":"push"}`)),
		"canary-" + strings.Repeat("0", 24), // the prefix alone is not the canary
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("U:other")),
		"AccountName=devstoreaccount1;AccountKey=[redacted]",
	} {
		s.Check("doc", doc, []byte(doc))
	}
	if f := s.Findings(); len(f) > 0 {
		t.Fatalf("findings in clean documents: %v", f)
	}
	if got := s.Counts()["doc"]; got != 5 {
		t.Fatalf("counted %d documents, want 5", got)
	}
}

func TestTheCanaryChangesUnderEscaping(t *testing.T) {
	c := New()
	if !strings.HasPrefix(c, "canary-") || url.QueryEscape(c) == c || jsonEscaped(c, true) == c || New() == c {
		t.Fatalf("canary %q: each run's must differ and escaping must change it", c)
	}
}
