package eventsin_test

// Cases from a second outside review of POST/OPTIONS /api/events under EVENTS_AUTH_MODE=oauth2. TestAttack2...
// cases that fail name what goes wrong; TestAttack2Held... cases are attacks that held.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/d365sap/d365sap/functions/eventsin"
	"github.com/d365sap/d365sap/infra/local/idpsim"
)

// TestAttack2ChallengeForARequestWithoutATokenHasNoErrorCode: RFC 6750 §3.1: when the request carries no
// authentication information (none at all, or another scheme), the resource server SHOULD NOT include an error
// code in its challenge; "invalid_token" is for a token that was sent and refused. A sender (or an operator
// reading the answer) told invalid_token for a subscription that sends no token looks in the wrong place.
func TestAttack2ChallengeForARequestWithoutATokenHasNoErrorCode(t *testing.T) {
	q := &fakeQueue{}
	_, h := bearerHandler(t, q)
	for name, auth := range map[string]string{"no Authorization": "", "Basic credentials": "Basic bWVzaDpzM2NyZXQ="} {
		t.Run(name, func(t *testing.T) {
			w := serve(h, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", auth)
			got := w.Header().Get("WWW-Authenticate")
			if w.Code != http.StatusUnauthorized || !strings.HasPrefix(got, "Bearer") {
				t.Fatalf("status %d, WWW-Authenticate %q; want 401 with a Bearer challenge", w.Code, got)
			}
			if strings.Contains(got, "error=") {
				t.Fatalf("WWW-Authenticate %q names an error for a request that sent no token", got)
			}
		})
	}
}

// TestAttack2HeldRefusalsEchoNoTokenInAnswersOrLogs: whatever token is refused (a stranger's signature, an
// expired or another client's token, a kid carrying a forged log line, a token too long), neither the answer nor
// the log holds the token or its signature, and the log keeps one line per refusal.
func TestAttack2HeldRefusalsEchoNoTokenInAnswersOrLogs(t *testing.T) {
	q := &fakeQueue{}
	idp, h := bearerHandler(t, q)
	var logs bytes.Buffer
	b := h.Auth.(eventsin.Bearer)
	b.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.Auth = b
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	foreign := jwt.NewWithClaims(jwt.SigningMethodRS256, idp.ClaimsFor(meshClient, eventsAud))
	foreign.Header["kid"] = "x"
	foreignTok, _ := foreign.SignedString(stranger)
	sign := func(c idpsim.Claims, hdr map[string]any) string {
		s, err := idp.Sign(c, hdr)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	expired := idp.ClaimsFor(meshClient, eventsAud)
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	tokens := map[string]string{
		"a stranger's signature": foreignTok,
		"expired":                sign(expired, nil),
		"another client's":       sign(idp.ClaimsFor("intruder", eventsAud), nil),
		"a kid with a log line":  sign(idp.ClaimsFor(meshClient, eventsAud), map[string]any{"kid": "k\nlevel=ERROR msg=\"forged\" admin=true"}),
		"too long":               sign(idp.ClaimsFor(meshClient, eventsAud), map[string]any{"pad": strings.Repeat("p", 20<<10)}),
	}
	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			logs.Reset()
			w := serve(h, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", "Bearer "+tok)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d", w.Code)
			}
			if logs.Len() == 0 {
				t.Fatal("the refusal was not logged")
			}
			sig := tok[strings.LastIndex(tok, ".")+1:]
			for what, text := range map[string]string{"answer": w.Body.String(), "log": logs.String()} {
				if strings.Contains(text, sig) || strings.Contains(text, tok) {
					t.Errorf("the %s holds the token: %s", what, text)
				}
			}
			if n := strings.Count(strings.TrimSpace(logs.String()), "\n"); n != 0 {
				t.Errorf("one refusal logged as %d lines: %s", n+1, logs.String())
			}
		})
	}
	if len(q.bodies) != 0 {
		t.Fatalf("%d enqueued", len(q.bodies))
	}
	// The token taken is not logged either, even at debug.
	logs.Reset()
	good := sign(idp.ClaimsFor(meshClient, eventsAud), nil)
	answer(t, serve(h, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", "Bearer "+good))
	if strings.Contains(logs.String(), good[strings.LastIndex(good, ".")+1:]) {
		t.Errorf("the log holds the token taken: %s", logs.String())
	}
}

// countingBody records whether anything read it.
type countingBody struct {
	r    io.Reader
	read atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.read.Add(int64(n))
	return n, err
}

// TestAttack2HeldARefusedSenderIsNotReadNorEnqueued: a refused sender's body is not read at all (a large body
// costs nothing before the token is checked), and with the key set down nothing is enqueued and the handshake
// grants nothing: 503 with Retry-After and no WebHook-Allowed-Origin.
func TestAttack2HeldARefusedSenderIsNotReadNorEnqueued(t *testing.T) {
	q := &fakeQueue{}
	_, h := bearerHandler(t, q)
	body := &countingBody{r: strings.NewReader("[" + strings.Repeat(orderChanged+",", 1000) + orderChanged + "]")}
	r := httptest.NewRequest(http.MethodPost, "/api/events", body)
	r.Header.Set("Content-Type", "application/cloudevents-batch+json")
	r.Header.Set("Authorization", "Bearer "+strings.Repeat("a", 30)+"."+strings.Repeat("b", 30)+"."+strings.Repeat("c", 30))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || body.read.Load() != 0 || len(q.bodies) != 0 {
		t.Fatalf("status %d, %d bytes read, %d enqueued; want 401, none read, none enqueued", w.Code, body.read.Load(), len(q.bodies))
	}

	idp2, h3 := bearerHandler(t, q) // a cold instance whose provider's key set is down
	idp2.SetKeysDown(true)
	tok, _ := idp2.Sign(idp2.ClaimsFor(meshClient, eventsAud), nil)
	hs := serve(h3, http.MethodOptions, "", "", "WebHook-Request-Origin", "eventmesh.example.com", "Authorization", "Bearer "+tok)
	if hs.Code != http.StatusServiceUnavailable || hs.Header().Get("Retry-After") == "" || hs.Header().Get("WebHook-Allowed-Origin") != "" {
		t.Fatalf("handshake with the key set down: %d, Retry-After %q, origin %q", hs.Code, hs.Header().Get("Retry-After"), hs.Header().Get("WebHook-Allowed-Origin"))
	}
	if p := serve(h3, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", "Bearer "+tok); p.Code != http.StatusServiceUnavailable || len(q.bodies) != 0 {
		t.Fatalf("push with the key set down: %d, %d enqueued", p.Code, len(q.bodies))
	}
}

// TestAttack2HeldTwoAuthorizationHeadersAreRefused: a request carrying a good token and a second Authorization
// header (an intermediary adding its own) is refused, whichever comes first, and nothing is enqueued.
func TestAttack2HeldTwoAuthorizationHeadersAreRefused(t *testing.T) {
	q := &fakeQueue{}
	idp, h := bearerHandler(t, q)
	good, _ := idp.Sign(idp.ClaimsFor(meshClient, eventsAud), nil)
	for name, hdrs := range map[string][]string{
		"good first":           {"Bearer " + good, "Basic bWVzaDpzM2NyZXQ="},
		"good second":          {"Basic bWVzaDpzM2NyZXQ=", "Bearer " + good},
		"the same token twice": {"Bearer " + good, "Bearer " + good},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/events", strings.NewReader(orderChanged))
			r.Header.Set("Content-Type", "application/cloudevents+json")
			for _, v := range hdrs {
				r.Header.Add("Authorization", v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized || len(q.bodies) != 0 {
				t.Fatalf("status %d, %d enqueued", w.Code, len(q.bodies))
			}
		})
	}
}
