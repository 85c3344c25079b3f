package canary_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// queueGate stands between the host stand-in and Azurite's queue service. Shut, it refuses the host's dequeues
// (503, as a busy account answers) and passes everything else: the host finishes and deletes the messages it
// holds and takes no new ones. Without it, a dequeue cut off by the host's shutdown would leave its messages
// invisible for the host's ten minutes, where no drain can read them, while an app retrying a refused
// credential keeps its queue busy to the end.
type queueGate struct {
	next     http.Handler
	shut     atomic.Bool
	inFlight atomic.Int64 // dequeues under way
}

func (g *queueGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	dequeue := r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/messages") && r.URL.Query().Get("peekonly") != "true"
	if dequeue {
		g.inFlight.Add(1)
		defer g.inFlight.Add(-1)
		if g.shut.Load() {
			http.Error(w, "the test has shut the queue gate", http.StatusServiceUnavailable)
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// close shuts the gate and waits until the host has every message a dequeue passed before gave it, so closing
// the host then cuts off none.
func (g *queueGate) close() {
	g.shut.Store(true)
	for g.inFlight.Load() > 0 { // those refused end at once; those passed end when Azurite answers
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the host reads the last answer's body
}

// startQueueGate serves a gate to conn's queue endpoint and returns it with conn leading there instead.
func startQueueGate(t *testing.T, conn string) (*queueGate, string) {
	t.Helper()
	parts := strings.Split(conn, ";")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(k, "QueueEndpoint") {
			continue
		}
		target, err := url.Parse(v)
		if err != nil {
			t.Fatalf("the queue endpoint %q: %v", v, err)
		}
		g := &queueGate{next: httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})}
		ts := httptest.NewServer(g)
		t.Cleanup(ts.Close)
		parts[i] = "QueueEndpoint=" + ts.URL + target.Path
		return g, strings.Join(parts, ";")
	}
	t.Fatal("the storage connection string names no QueueEndpoint")
	return nil, ""
}
