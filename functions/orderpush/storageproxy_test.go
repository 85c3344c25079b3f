package orderpush_test

import (
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingProxy stands between the handler and Azurite and counts the storage round trips the handler makes,
// by kind, so a benchmark can report them per push.
type countingProxy struct {
	conn  string // the connection string through the proxy
	n     atomic.Int64
	mu    sync.Mutex
	byKey map[string]int
}

var endpointRe = regexp.MustCompile(`(Blob|Queue|Table)Endpoint=(http://[^;/]+)(/[^;]*)?`)

// startCountingProxy rewrites a connection string's three endpoints to proxies of its own on loopback.
func startCountingProxy(tb testing.TB, conn string) *countingProxy {
	tb.Helper()
	p := &countingProxy{byKey: map[string]int{}}
	out := conn
	for _, m := range endpointRe.FindAllStringSubmatch(conn, -1) {
		service, target := m[1], m[2]
		u, err := url.Parse(target)
		if err != nil {
			tb.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.n.Add(1)
			p.mu.Lock()
			p.byKey[service+" "+r.Method+" "+kindOf(r.URL.Path)]++
			p.mu.Unlock()
			rp.ServeHTTP(w, r)
		})}
		go func() { _ = srv.Serve(ln) }()
		tb.Cleanup(func() { _ = srv.Close() })
		out = strings.Replace(out, m[0], service+"Endpoint=http://"+ln.Addr().String()+m[3], 1)
	}
	p.conn = out
	return p
}

func (p *countingProxy) count() int64 { return p.n.Load() }

func (p *countingProxy) kinds() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.byKey)
}

// kindOf names what a storage path addresses, without its keys.
func kindOf(path string) string {
	switch {
	case strings.Contains(path, "$batch"):
		return "transaction"
	case strings.Contains(path, "/messages"):
		return "queue message"
	case strings.Contains(path, "(PartitionKey="):
		return "entity"
	case strings.Count(strings.Trim(path, "/"), "/") >= 2:
		return "blob"
	}
	return "resource"
}
