package eventsin

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/bearer"
	"github.com/d365sap/d365sap/shared/problem"
)

// Authenticator checks the sender of a request. The host has checked the function key already (authLevel
// function); an Authenticator adds what an Event Mesh push configuration sends besides the URL.
type Authenticator interface {
	Authenticate(r *http.Request) error
}

// Basic checks HTTP Basic credentials, which an Event Mesh webhook sends when its subscription's security is
// basic authentication. The comparison takes the same time whatever part of the credentials is wrong.
type Basic struct {
	Username string
	Password string
}

// Authenticate refuses a request without the configured credentials with 401 and a challenge.
func (b Basic) Authenticate(r *http.Request) error {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return &challenge{err: &problem.Error{Kind: problem.Unauthorized, Detail: "the request has no Basic credentials; the events endpoint is set up for basic authentication"}, header: basicChallenge}
	}
	// Hashed first, so the comparison does not reveal the length of the configured values either.
	u1, u2 := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(b.Username))
	p1, p2 := sha256.Sum256([]byte(pass)), sha256.Sum256([]byte(b.Password))
	if subtle.ConstantTimeCompare(u1[:], u2[:])&subtle.ConstantTimeCompare(p1[:], p2[:]) != 1 {
		return &challenge{err: &problem.Error{Kind: problem.Unauthorized, Detail: "the Basic credentials are not the ones the events endpoint is set up with"}, header: basicChallenge}
	}
	return nil
}

// Bearer checks the OAuth 2.0 bearer token an Event Mesh webhook sends when its subscription's security is
// OAuth2 client credentials: it fetches the token from the token URL it was given (Entra ID, XSUAA) and sends it
// on the handshake and on every push.
type Bearer struct {
	Verifier *bearer.Verifier
	Log      *slog.Logger
}

// Authenticate refuses a request without a token the verifier takes: 401 with a Bearer challenge, or 503 when no
// signing key could be fetched, so the sender tries again rather than counting the push as refused for good.
func (b Bearer) Authenticate(r *http.Request) error {
	claims, err := b.Verifier.FromRequest(r.Context(), r)
	if err == nil {
		if b.Log != nil {
			b.Log.DebugContext(r.Context(), "bearer token taken", "issuer", claims.Issuer, "client", claims.Client)
		}
		return nil
	}
	var be *bearer.Error
	if errors.As(err, &be) && be.Reason == bearer.Unavailable {
		if b.Log != nil {
			b.Log.WarnContext(r.Context(), "cannot check a bearer token", "err", err)
		}
		return &problem.Error{Kind: problem.Unavailable, Detail: "the identity provider's signing keys could not be fetched; try again", RetryAfter: 30 * time.Second}
	}
	detail := "the bearer token was refused"
	if be != nil {
		detail = be.Detail
	}
	if b.Log != nil {
		b.Log.InfoContext(r.Context(), "bearer token refused", "err", err)
	}
	// RFC 6750 section 3.1: a request that sent no token is told the scheme, one whose token was refused why.
	header := bearerRealm + `, error="invalid_token"`
	if be != nil && be.Reason == bearer.Missing {
		header = bearerRealm
	}
	return &challenge{err: &problem.Error{Kind: problem.Unauthorized, Detail: detail}, header: header}
}

// challenge is a 401 that names its scheme in WWW-Authenticate (RFC 6750 section 3).
type challenge struct {
	err    *problem.Error
	header string
}

func (c *challenge) Error() string { return c.err.Error() }
func (c *challenge) Unwrap() error { return c.err }

const (
	basicChallenge = `Basic realm="d365sap events", charset="UTF-8"`
	bearerRealm    = `Bearer realm="d365sap events"`
)

// writeAuthError answers a refused sender, with the challenge of its scheme on a 401.
func writeAuthError(w http.ResponseWriter, err error, instance string) {
	var c *challenge
	if errors.As(err, &c) {
		w.Header().Set("WWW-Authenticate", c.header)
	}
	problem.Write(w, err, instance)
}

func (h *Handler) authenticate(r *http.Request) error {
	if h.Auth == nil {
		return nil
	}
	return h.Auth.Authenticate(r)
}

// handshake answers the CloudEvents webhook validation (the abuse protection of the HTTP webhook spec, which
// Event Mesh and Event Grid both run before delivering): OPTIONS with WebHook-Request-Origin is answered 200 with
// WebHook-Allowed-Origin echoing it, and WebHook-Allowed-Rate when a rate was asked for. The sender checks the
// handshake with the credentials it will deliver with, so they are checked here too.
func (h *Handler) handshake(w http.ResponseWriter, r *http.Request, instance string) {
	origin := strings.TrimSpace(r.Header.Get("WebHook-Request-Origin"))
	if origin == "" {
		w.Header().Set("Allow", "POST, OPTIONS")
		problem.Write(w, &problem.Error{Kind: problem.Invalid, Detail: "OPTIONS is the webhook validation handshake and needs a WebHook-Request-Origin header",
			Fields: []problem.FieldError{{Field: "WebHook-Request-Origin", Reason: "missing"}}}, instance)
		return
	}
	if len(origin) > 255 || strings.ContainsFunc(origin, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		// It is echoed in a header: nothing but a short printable host name is.
		problem.Write(w, &problem.Error{Kind: problem.Invalid, Detail: "WebHook-Request-Origin is not a host name",
			Fields: []problem.FieldError{{Field: "WebHook-Request-Origin", Reason: "not a host name"}}}, instance)
		return
	}
	if err := h.authenticate(r); err != nil {
		writeAuthError(w, err, instance)
		return
	}
	if !h.allows(origin) {
		problem.Write(w, &problem.Error{Kind: problem.Forbidden, Detail: "origin " + cut(origin) + " is not one EVENTS_ALLOWED_ORIGINS lists",
			Fields: []problem.FieldError{{Field: "WebHook-Request-Origin", Reason: "not allowed"}}}, instance)
		return
	}
	w.Header().Set("Allow", "POST, OPTIONS")
	w.Header().Set("WebHook-Allowed-Origin", origin)
	if r.Header.Get("WebHook-Request-Rate") != "" {
		// Any rate: the endpoint only enqueues, and the queue absorbs bursts.
		w.Header().Set("WebHook-Allowed-Rate", "*")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) allows(origin string) bool {
	if len(h.Origins) == 0 {
		return true
	}
	for _, o := range h.Origins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}
