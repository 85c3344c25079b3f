package dvsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// answer is a Web API response as a test reads it.
type answer struct {
	status  int
	code    string // error.code
	message string // error.message
	header  http.Header
	body    map[string]any
}

// send makes a Web API request with a token for "test"; header holds name, value pairs.
func send(t *testing.T, r *Running, method, path, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, r.URL+apiPrefix+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.IssueToken("test"))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(b) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&a.body); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, b, err)
		}
		if e, ok := a.body["error"].(map[string]any); ok {
			a.code, _ = e["code"].(string)
			a.message, _ = e["message"].(string)
		}
	}
	return a
}

// mustInsert inserts a row or fails the test.
func mustInsert(t *testing.T, r *Running, set string, rec map[string]any) string {
	t.Helper()
	id, err := r.Insert(set, rec)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// jsonBody encodes v for a request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
