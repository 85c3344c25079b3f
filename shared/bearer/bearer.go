// Package bearer checks OAuth 2.0 bearer tokens (RFC 6750) that are JWTs signed by an identity provider: the
// tokens an SAP Event Mesh webhook subscription with OAuth2 client-credentials security fetches from the token URL
// it is given (Microsoft Entra ID, SAP XSUAA) and sends on every push and on the validation handshake.
//
// A token is taken only when its signature verifies against a key of the provider's published key set (JWKS, at a
// URL from the settings, never from the token: jku, x5u and embedded keys are ignored), with an asymmetric
// algorithm, from one of the configured issuers, for one of the configured audiences, within its lifetime, and
// issued to one of the configured clients. An Entra token for an API can be had by any application in the tenant
// unless the API requires an assignment, so the client check is not optional.
package bearer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// Algorithms are the signing algorithms taken: asymmetric only, so a key set's public key can never be used as
// an HMAC secret ("alg confusion"), and never "none".
var Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// MaxTokenBytes bounds the token looked at; Entra's and XSUAA's are a few kilobytes.
const MaxTokenBytes = 16 << 10

// Leeway is the clock skew allowed on exp, nbf and iat.
const Leeway = time.Minute

// Keys finds the verification key of a token; keyfunc's Keyfunc over a remote key set is the production one.
type Keys interface {
	KeyfuncCtx(ctx context.Context) jwt.Keyfunc
	// Loaded says whether the keys are known to be current: false while none was ever fetched, or while the last
	// fetch failed; a token whose key is not found cannot be judged then (a 503, not a 401).
	Loaded(ctx context.Context) bool
}

// Verifier checks tokens against one provider's settings.
type Verifier struct {
	Keys      Keys
	Issuers   []string
	Audiences []string
	// Clients are the application (client) ids a token may be issued to: azp (Entra v2), appid (Entra v1) or
	// client_id / cid (XSUAA).
	Clients []string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Reason says why a token was refused; callers answer 401 for all but Unavailable.
type Reason int

const (
	// Missing: no Authorization header with the Bearer scheme.
	Missing Reason = iota + 1
	// Malformed: not a JWT, two Authorization headers, a token too long.
	Malformed
	// Invalid: the signature, algorithm, issuer, audience, lifetime or client is not what the settings allow.
	Invalid
	// Unavailable: no signing key is known, because the key set could not be fetched.
	Unavailable
)

// Error is a refused token. Detail names what was wrong without echoing the token.
type Error struct {
	Reason Reason
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Claims are what a taken token says, for the log.
type Claims struct {
	Issuer, Client, Subject string
	Expires                 time.Time
}

// FromRequest takes the bearer token of r's Authorization header and verifies it.
func (v *Verifier) FromRequest(ctx context.Context, r *http.Request) (Claims, error) {
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return Claims{}, &Error{Reason: Missing, Detail: "the request has no Authorization header with a bearer token"}
	case len(values) > 1:
		return Claims{}, &Error{Reason: Malformed, Detail: "the request has more than one Authorization header"}
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Claims{}, &Error{Reason: Missing, Detail: "the Authorization header is not a bearer token"}
	}
	return v.Verify(ctx, strings.TrimSpace(token))
}

// Verify checks one compact JWT.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	switch {
	case token == "":
		return Claims{}, &Error{Reason: Malformed, Detail: "the bearer token is empty"}
	case len(token) > MaxTokenBytes:
		return Claims{}, &Error{Reason: Malformed, Detail: fmt.Sprintf("the bearer token is longer than %d bytes", MaxTokenBytes)}
	case strings.Count(token, ".") != 2 || strings.ContainsFunc(token, notBase64URL):
		return Claims{}, &Error{Reason: Malformed, Detail: "the bearer token is not a signed JWT (three base64url parts)"}
	}
	if err := checkHeader(token); err != nil {
		return Claims{}, err
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	p := jwt.NewParser(jwt.WithValidMethods(Algorithms), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(Leeway), jwt.WithTimeFunc(now), jwt.WithStrictDecoding())
	var mc jwt.MapClaims
	if _, err := p.ParseWithClaims(token, &mc, v.Keys.KeyfuncCtx(ctx)); err != nil {
		if errors.Is(err, jwt.ErrTokenUnverifiable) && !v.Keys.Loaded(ctx) {
			return Claims{}, &Error{Reason: Unavailable, Detail: "no signing key of the identity provider is known: its key set could not be fetched", Err: err}
		}
		return Claims{}, &Error{Reason: Invalid, Detail: "the bearer token was refused", Err: err}
	}
	for _, c := range []string{"exp", "nbf", "iat"} {
		// golang-jwt turns a number past int64 into the distant past (a "not before" that is always over).
		if f, ok := mc[c].(float64); ok && (f < 0 || f > maxNumericDate) {
			return Claims{}, &Error{Reason: Invalid, Detail: fmt.Sprintf("the bearer token's %s is not a date", c)}
		}
	}
	iss, _ := mc.GetIssuer()
	if !slices.Contains(v.Issuers, iss) {
		return Claims{}, &Error{Reason: Invalid, Detail: fmt.Sprintf("the bearer token's issuer %q is not one the settings name", cut(iss))}
	}
	aud, _ := mc.GetAudience()
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(v.Audiences, a) }) {
		return Claims{}, &Error{Reason: Invalid, Detail: "the bearer token is not for an audience the settings name"}
	}
	client := clientOf(mc)
	if client == "" || !slices.Contains(v.Clients, client) {
		return Claims{}, &Error{Reason: Invalid, Detail: fmt.Sprintf("the bearer token was issued to client %q, not one the settings name", cut(client))}
	}
	exp, _ := mc.GetExpirationTime()
	sub, _ := mc.GetSubject()
	return Claims{Issuer: iss, Client: client, Subject: cut(sub), Expires: exp.Time}, nil
}

// maxNumericDate bounds exp, nbf and iat (seconds since 1970): the year 5138, far past any token's life.
const maxNumericDate = 1e11

// checkHeader refuses a token whose header names critical extensions (RFC 7515 section 4.1.11: a recipient that
// does not understand one must refuse the token; this one understands none) or is not a JSON object.
func checkHeader(token string) error {
	seg, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	var h map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil {
		return &Error{Reason: Malformed, Detail: "the bearer token's header is not base64url JSON"}
	}
	if _, ok := h["crit"]; ok {
		return &Error{Reason: Invalid, Detail: "the bearer token names critical header extensions, which are not supported"}
	}
	return nil
}

// clientOf is the application the token was issued to; the first of the claims providers use that is a string.
func clientOf(mc jwt.MapClaims) string {
	for _, c := range []string{"azp", "appid", "client_id", "cid"} {
		if s, ok := mc[c].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func notBase64URL(r rune) bool {
	return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
}

func cut(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// RemoteKeys is a key set fetched from a JWKS URL and kept fresh: refetched every RefreshInterval, and at once
// (at most once a minute by default) when a token names a key it does not have, as when the provider rolls its keys over.
// Nothing is fetched before the first token arrives, so a cold start does not wait for the provider.
type RemoteKeys struct {
	ctx  context.Context
	opts KeysOptions

	once sync.Once
	kf   keyfunc.Keyfunc
	err  error
	// failedAt is when a fetch last failed (Unix nanoseconds; 0 for never).
	failedAt atomic.Int64
}

// KeysOptions say where a key set is and how it is fetched.
type KeysOptions struct {
	URL    string
	Client *http.Client
	// OnError hears of each fetch that failed.
	OnError func(error)
	// RefetchEvery bounds the refetches an unknown key id causes (default a minute).
	RefetchEvery time.Duration
}

// RefreshInterval is how often the key set is fetched again; fetchTimeout bounds one fetch.
const (
	RefreshInterval = time.Hour
	fetchTimeout    = 5 * time.Second
)

// NewRemoteKeys is a key set fetched as o says; ctx ends its refreshes. A fetch that fails is not fatal: tokens
// are answered Unavailable until one succeeds.
func NewRemoteKeys(ctx context.Context, o KeysOptions) *RemoteKeys {
	if o.RefetchEvery <= 0 {
		o.RefetchEvery = time.Minute
	}
	return &RemoteKeys{ctx: ctx, opts: o}
}

func (k *RemoteKeys) start() (keyfunc.Keyfunc, error) {
	k.once.Do(func() {
		report := func(string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				k.failedAt.Store(time.Now().UnixNano())
				if k.opts.OnError != nil {
					k.opts.OnError(err)
				}
			}
		}
		limiter := rate.NewLimiter(rate.Every(k.opts.RefetchEvery), 1)
		kf, err := keyfunc.NewDefaultOverrideCtx(k.ctx, []string{k.opts.URL}, keyfunc.Override{
			Client: k.opts.Client, HTTPTimeout: fetchTimeout, RefreshInterval: RefreshInterval,
			RefreshErrorHandlerFunc: report,
			// One refetch per RefetchEvery for an unknown key id. RateLimitWaitMax bounds the wait for the
			// limiter and the refetch together: a request that would wait longer is refused at once (the
			// limiter knows), so a stream of tokens naming made-up keys costs one fetch a minute and stalls
			// no request for more than the last few seconds of each minute.
			RefreshUnknownKID: limiter, RateLimitWaitMax: fetchTimeout,
		})
		if err != nil {
			k.err = fmt.Errorf("starting the key set of %s: %w", k.opts.URL, err)
			return
		}
		if all, err := kf.Storage().KeyReadAll(k.ctx); err != nil || len(all) == 0 {
			// The first fetch failed: the token that caused it does not wait for a second one at once.
			limiter.Allow()
		}
		// Keys published for encryption never verify a signature (RFC 7517 section 4.2).
		k.kf, k.err = keyfunc.New(keyfunc.Options{Ctx: k.ctx, Storage: kf.Storage(), UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
	})
	return k.kf, k.err
}

// KeyfuncCtx finds a token's key. A refetch it causes runs to its end (within fetchTimeout) even when the
// request's context ends first: a sender hanging up must not spend the minute's refetch on nothing.
func (k *RemoteKeys) KeyfuncCtx(ctx context.Context) jwt.Keyfunc {
	kf, err := k.start()
	if err != nil {
		return func(*jwt.Token) (any, error) { return nil, err }
	}
	return kf.KeyfuncCtx(context.WithoutCancel(ctx))
}

// Loaded is false while no key was ever fetched, and for RefetchEvery after a fetch failed (a refetch that
// succeeds is not reported, so a failure counts until the next refetch could have been made).
func (k *RemoteKeys) Loaded(ctx context.Context) bool {
	kf, err := k.start()
	if err != nil {
		return false
	}
	if at := k.failedAt.Load(); at != 0 && time.Since(time.Unix(0, at)) < k.opts.RefetchEvery {
		return false
	}
	all, err := kf.Storage().KeyReadAll(ctx)
	return err == nil && len(all) > 0
}
