package eventsin_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/eventsin"
	"github.com/d365sap/d365sap/infra/local/idpsim"
	"github.com/d365sap/d365sap/shared/bearer"
)

const (
	meshClient = "event-mesh"
	eventsAud  = "api://d365sap-events"
)

func bearerHandler(t *testing.T, q *fakeQueue) (*idpsim.Server, *eventsin.Handler) {
	t.Helper()
	idp, err := idpsim.Start(idpsim.Options{Clients: map[string]string{meshClient: "s3cret", "intruder": "x"}, TokenVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	v := &bearer.Verifier{Keys: bearer.NewRemoteKeys(t.Context(), bearer.KeysOptions{URL: idp.KeysURL(), Client: http.DefaultClient, RefetchEvery: 200 * time.Millisecond}),
		Issuers: []string{idp.Issuer()}, Audiences: []string{eventsAud}, Clients: []string{meshClient}}
	return idp, &eventsin.Handler{Queue: q, QueueName: "q", Auth: eventsin.Bearer{Verifier: v}}
}

// TestEventsUnderOAuth2TakeOnlyTheMeshClientsToken: under oauth2 a push and the handshake need a bearer token
// the provider signed for the events API and issued to the Event Mesh client; anything else is a 401 with a
// Bearer challenge and nothing enqueued.
func TestEventsUnderOAuth2TakeOnlyTheMeshClientsToken(t *testing.T) {
	q := &fakeQueue{}
	idp, h := bearerHandler(t, q)
	tok := func(client, aud string, edit func(idpsim.Claims)) string {
		c := idp.ClaimsFor(client, aud)
		if edit != nil {
			edit(c)
		}
		s, err := idp.Sign(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := tok(meshClient, eventsAud, nil)
	refused := map[string]string{
		"no Authorization":          "",
		"Basic credentials":         "Basic bWVzaDpzM2NyZXQ=",
		"another client's token":    "Bearer " + tok("intruder", eventsAud, nil),
		"a token for another API":   "Bearer " + tok(meshClient, "https://graph.microsoft.com", nil),
		"an expired token":          "Bearer " + tok(meshClient, eventsAud, func(c idpsim.Claims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }),
		"the function key as token": "Bearer " + strings.Repeat("k", 40),
	}
	for name, auth := range refused {
		t.Run(name, func(t *testing.T) {
			before := len(q.bodies)
			w := serve(h, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", auth)
			if w.Code != http.StatusUnauthorized || len(q.bodies) != before {
				t.Fatalf("status %d, %d enqueued; want 401 and none: %s", w.Code, len(q.bodies)-before, w.Body)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
			}
			if len(auth) > 30 && strings.Contains(w.Body.String(), auth[7:]) {
				t.Error("the answer echoes the token")
			}
			hs := serve(h, http.MethodOptions, "", "", "WebHook-Request-Origin", "eventmesh.example.com", "Authorization", auth)
			if hs.Code != http.StatusUnauthorized || hs.Header().Get("WebHook-Allowed-Origin") != "" {
				t.Fatalf("the handshake answered %d with origin %q", hs.Code, hs.Header().Get("WebHook-Allowed-Origin"))
			}
		})
	}
	if a := answer(t, serve(h, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", "Bearer "+good)); a.Enqueued != 1 {
		t.Fatalf("answer %+v", a)
	}
	hs := serve(h, http.MethodOptions, "", "", "WebHook-Request-Origin", "eventmesh.example.com", "Authorization", "Bearer "+good)
	if hs.Code != http.StatusOK || hs.Header().Get("WebHook-Allowed-Origin") != "eventmesh.example.com" {
		t.Fatalf("the handshake with the token answered %d, origin %q", hs.Code, hs.Header().Get("WebHook-Allowed-Origin"))
	}
}

// TestEventsUnderOAuth2AnswerUnavailableWhileNoKeyIsKnown: with the provider's key set unreachable a token
// cannot be judged, and the push is answered 503 with Retry-After, so Event Mesh keeps the message and delivers
// it again, rather than 401.
func TestEventsUnderOAuth2AnswerUnavailableWhileNoKeyIsKnown(t *testing.T) {
	q := &fakeQueue{}
	idp, h := bearerHandler(t, q)
	idp.SetKeysDown(true)
	s, err := idp.Sign(idp.ClaimsFor(meshClient, eventsAud), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := serve(h, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", "Bearer "+s)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || len(q.bodies) != 0 {
		t.Fatalf("status %d, Retry-After %q, %d enqueued; want 503 with Retry-After and none", w.Code, w.Header().Get("Retry-After"), len(q.bodies))
	}
	idp.SetKeysDown(false)
	time.Sleep(300 * time.Millisecond)
	if a := answer(t, serve(h, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", "Bearer "+s)); a.Enqueued != 1 {
		t.Fatalf("answer %+v", a)
	}
}
