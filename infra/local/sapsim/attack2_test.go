package sapsim_test

// Fidelity cases from a second outside review of the Event Mesh webhook client against the CloudEvents HTTP
// webhook spec (cloudevents/spec http-webhook.md, the kit's sap-events.md B).

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// TestAttack2WebhookFollowsNoRedirect: §2.2: "The response MUST NOT use any of the 3xx HTTP Redirect status codes
// and the client MUST NOT follow any such redirection." The webhook uses an http.Client that follows them: a
// 307 to another path is re-posted there, with the subscription's Authorization header (same host), and counted
// as delivered when that path answers 2xx.
func TestAttack2WebhookFollowsNoRedirect(t *testing.T) {
	var mu sync.Mutex
	var elsewhere []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/events":
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		case "/elsewhere":
			io.Copy(io.Discard, r.Body)
			mu.Lock()
			elsewhere = append(elsewhere, r.Header.Get("Authorization"))
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	t.Cleanup(srv.Close)
	hook := &sapsim.Webhook{Endpoint: srv.URL + "/api/events", Basic: &sapsim.BasicCredentials{Username: "mesh", Password: "s3cret"}}
	err := hook.Deliver([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{}}`))
	mu.Lock()
	defer mu.Unlock()
	if err == nil || len(elsewhere) > 0 {
		t.Fatalf("a 307 was followed (err %v); the redirect target got %d pushes with Authorization %q", err, len(elsewhere), elsewhere)
	}
}

// TestAttack2WebhookDeliveriesCarryTheHandshakeOrigin: §4.1.2: "After the handshake and if permission has been
// granted, the sender MUST use the WebHook-Request-Origin request header for each delivery request, with the
// value matching that of this header." The webhook sends it on the handshake only.
func TestAttack2WebhookDeliveriesCarryTheHandshakeOrigin(t *testing.T) {
	var mu sync.Mutex
	var origins []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			w.Header().Set("WebHook-Allowed-Origin", r.Header.Get("WebHook-Request-Origin"))
			w.Header().Set("WebHook-Allowed-Rate", "*")
			return
		}
		mu.Lock()
		origins = append(origins, r.Header.Get("WebHook-Request-Origin"))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	hook := &sapsim.Webhook{Endpoint: srv.URL}
	if err := hook.Handshake("eventmesh.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := hook.Deliver([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{}}`)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(origins) != 1 || origins[0] != "eventmesh.example.com" {
		t.Fatalf("the delivery carried WebHook-Request-Origin %q, want the handshake's eventmesh.example.com", origins)
	}
}
