package canary_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// storageWatch stands between the handler and Azurite's three services and notes every table, container and
// queue the handler writes to. The scan reads only names with the world's prefix: a write anywhere else (a
// name built in the code rather than taken from the settings) would escape it, so the test fails on one.
type storageWatch struct {
	mu      sync.Mutex
	written map[string]int // "table x", "container y", "queue z" → writes
}

// writes are the requests that change something; a read cannot leave a secret behind.
var writes = map[string]bool{http.MethodPut: true, http.MethodPost: true, http.MethodPatch: true, "MERGE": true, http.MethodDelete: true}

// batchTarget finds the tables an entity-group transaction writes to: its operations are addressed as
// <endpoint>/<account>/<table>(...) inside the multipart body.
var batchTarget = regexp.MustCompile(`(?m)^(?:POST|PUT|PATCH|MERGE|DELETE) \S*?/([A-Za-z][A-Za-z0-9]{2,62})(?:\(|\s|\?)`)

func (s *storageWatch) note(kind, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written[kind+" "+name]++
}

// proxy is the watch over one service: kind names what its first path segment (after the account) is.
func (s *storageWatch) proxy(kind string, target *url.URL) http.Handler {
	next := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if writes[r.Method] {
			rest := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, target.Path), "/")
			name, _, _ := strings.Cut(rest, "/")
			name, _, _ = strings.Cut(name, "(")
			switch {
			case kind == "table" && name == "$batch":
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				for _, m := range batchTarget.FindAllSubmatch(body, -1) {
					s.note(kind, string(m[1]))
				}
			case kind == "table" && name == "Tables":
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				var create struct{ TableName string }
				if json.Unmarshal(body, &create) == nil && create.TableName != "" {
					s.note(kind, create.TableName)
				}
			case name != "":
				s.note(kind, name)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// startStorageWatch serves a watch in front of each endpoint of conn and returns conn leading through them.
func startStorageWatch(t *testing.T, conn string) (*storageWatch, string) {
	t.Helper()
	s := &storageWatch{written: map[string]int{}}
	kinds := map[string]string{"blobendpoint": "container", "queueendpoint": "queue", "tableendpoint": "table"}
	parts := strings.Split(conn, ";")
	watched := 0
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		kind, known := kinds[strings.ToLower(k)]
		if !ok || !known {
			continue
		}
		target, err := url.Parse(v)
		if err != nil {
			t.Fatalf("the %s endpoint %q: %v", kind, v, err)
		}
		ts := httptest.NewServer(s.proxy(kind, target))
		t.Cleanup(ts.Close)
		parts[i] = k + "=" + ts.URL + target.Path
		watched++
	}
	if watched != len(kinds) {
		t.Fatalf("the storage connection string names %d of the three endpoints", watched)
	}
	return s, strings.Join(parts, ";")
}

// count is the writes noted for one "kind name".
func (s *storageWatch) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written[key]
}

// reset forgets what was noted.
func (s *storageWatch) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.written)
}

// seen says whether the handler wrote anything through the watch.
func (s *storageWatch) seen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.written) > 0
}

// outside are the names written to that do not start with prefix.
func (s *storageWatch) outside(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s.written)) {
		if _, name, _ := strings.Cut(k, " "); !strings.HasPrefix(strings.ToLower(name), strings.ToLower(prefix)) {
			out = append(out, k)
		}
	}
	return out
}

// String lists the names written to, with the count of writes.
func (s *storageWatch) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.written) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.written)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, s.written[k]))
	}
	return strings.Join(parts, ", ")
}
