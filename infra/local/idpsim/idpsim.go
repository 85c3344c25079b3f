// Package idpsim is an identity provider that issues signed JWT access tokens by the OAuth 2.0 client-credentials
// grant, as Microsoft Entra ID does (v2.0 endpoints) and as an SAP Event Mesh webhook's OAuth2 security fetches
// them: POST /{tenant}/oauth2/v2.0/token, the key set at /{tenant}/discovery/v2.0/keys and the OpenID
// configuration at /{tenant}/v2.0/.well-known/openid-configuration.
//
// Its tokens carry the claims Entra writes for the token version an API asks for (v1 by default), so a verifier
// set up against it is set up as it must be for Entra. It fails the ways a real provider does for the side that
// checks its tokens: it rolls its signing key over (the
// new key published first, or, as during a rollover's propagation, signing before the key set shows it), its key
// set goes down, its tokens expire on its clock, and it will issue a token to any client it knows for any
// audience, so the checking side must hold tokens to its own client and audience.
package idpsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Options configure a provider.
type Options struct {
	// Tenant is the path segment of every endpoint (Entra's tenant id).
	Tenant string
	// Clients are the client ids it issues tokens to, with their secrets.
	Clients map[string]string
	// APIs are the API registrations tokens can be asked for: App ID URI (the scope's resource part) to the
	// API's client id. A scope naming neither is refused, as Entra refuses a resource it does not know.
	APIs map[string]string
	// TokenVersion is the access-token version the APIs ask for (their manifest's requestedAccessTokenVersion):
	// 1 (Entra's default when the manifest says nothing) or 2. v1 tokens carry iss https://sts.windows.net/<tenant>/,
	// appid and the App ID URI as aud; v2 tokens iss https://login.microsoftonline.com/<tenant>/v2.0, azp and
	// the API's client id as aud.
	TokenVersion int
	// TTL is a token's lifetime (default an hour, Entra's usual).
	TTL time.Duration
	// Now is the clock the tokens are stamped with (nil: time.Now).
	Now func() time.Time
}

// Server is a running provider.
type Server struct {
	opts Options
	srv  *httptest.Server

	mu sync.Mutex
	// keys are signing keys by id; published says which the key set shows; signer is the key tokens are signed with.
	keys      map[string]*rsa.PrivateKey
	published []string
	signer    string
	keysDown  bool

	issued, keyFetches atomic.Int64
}

// Start runs a provider on a loopback port; Close stops it.
func Start(o Options) (*Server, error) {
	if o.TTL == 0 {
		o.TTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tenant == "" {
		o.Tenant = "00000000-0000-0000-0000-0000000000aa"
	}
	if o.TokenVersion == 0 {
		o.TokenVersion = 1
	}
	s := &Server{opts: o, keys: map[string]*rsa.PrivateKey{}}
	id, err := s.newKey()
	if err != nil {
		return nil, err
	}
	s.published, s.signer = []string{id}, id
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.serveKeys)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.serveConfig)
	s.srv = httptest.NewServer(mux)
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the provider's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Issuer is the iss of its tokens, as Entra writes it for the configured token version (a name, never fetched).
func (s *Server) Issuer() string { return IssuerOf(s.opts.Tenant, s.opts.TokenVersion) }

// IssuerOf is Entra's iss for a tenant's tokens of a version.
func IssuerOf(tenant string, version int) string {
	if version == 2 {
		return "https://login.microsoftonline.com/" + tenant + "/v2.0"
	}
	return "https://sts.windows.net/" + tenant + "/"
}

// Audience is the aud a token for the API with App ID URI uri carries under the configured version.
func (s *Server) Audience(uri string) string {
	if s.opts.TokenVersion == 2 {
		return s.opts.APIs[uri]
	}
	return uri
}

// TokenURL is the token endpoint an Event Mesh webhook's OAuth2 security is given.
func (s *Server) TokenURL() string { return s.srv.URL + "/" + s.opts.Tenant + "/oauth2/v2.0/token" }

// KeysURL is the key set (JWKS) the checking side fetches.
func (s *Server) KeysURL() string { return s.srv.URL + "/" + s.opts.Tenant + "/discovery/v2.0/keys" }

// Issued counts the tokens handed out; KeyFetches the key-set requests answered 200.
func (s *Server) Issued() int64     { return s.issued.Load() }
func (s *Server) KeyFetches() int64 { return s.keyFetches.Load() }

func (s *Server) newKey() (string, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", fmt.Errorf("generating a signing key: %w", err)
	}
	sum := sha256.Sum256(k.N.Bytes())
	id := base64.RawURLEncoding.EncodeToString(sum[:12])
	s.keys[id] = k
	return id, nil
}

// Rotate rolls the signing key over. published says whether the key set shows the new key before tokens are
// signed with it (Entra's practice); false signs with a key the key set does not show yet, which the checking side
// can only refuse. The old key stays published either way.
func (s *Server) Rotate(published bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := s.newKey()
	if err != nil {
		return "", err
	}
	if published {
		s.published = append(s.published, id)
	}
	s.signer = id
	return id, nil
}

// Publish adds a key to the key set (the end of a rollover's propagation).
func (s *Server) Publish(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = append(s.published, id)
}

// Retire removes every key but the signer from the key set.
func (s *Server) Retire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.published = []string{s.signer}
}

// SetKeysDown makes the key set answer 503 (true) or serve again.
func (s *Server) SetKeysDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keysDown = down
}

// Claims are a token's, for tests that want to sign something the endpoint would not.
type Claims = jwt.MapClaims

// Sign signs claims with the current signing key, with header entries added (kid and alg are set).
func (s *Server) Sign(c Claims, header map[string]any) (string, error) {
	s.mu.Lock()
	id, key := s.signer, s.keys[s.signer]
	s.mu.Unlock()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = id
	for k, v := range header {
		t.Header[k] = v
	}
	return t.SignedString(key)
}

// ClaimsFor are the claims a token issued to client with aud audience carries, as Entra writes them for the
// configured version (v1: appid, appidacr; v2: azp, azpacr).
func (s *Server) ClaimsFor(client, audience string) Claims {
	now := s.opts.Now()
	c := Claims{
		"aud": audience, "iss": s.Issuer(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.opts.TTL).Unix(),
		"sub": "sp-" + client, "oid": "sp-" + client, "tid": s.opts.Tenant, "idtyp": "app",
	}
	if s.opts.TokenVersion == 2 {
		c["azp"], c["azpacr"], c["ver"] = client, "1", "2.0"
	} else {
		c["appid"], c["appidacr"], c["ver"] = client, "1", "1.0"
	}
	return c
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc})
	}
	if r.PathValue("tenant") != s.opts.Tenant {
		fail(http.StatusBadRequest, "invalid_tenant", "Tenant '"+r.PathValue("tenant")+"' not found.")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		fail(http.StatusBadRequest, "unsupported_grant_type", "The app requested an unsupported grant type.")
		return
	}
	// The client authenticates in the form (client_secret_post) or with HTTP Basic (client_secret_basic), which
	// is how SAP's OAuth2 client-credentials destinations send it.
	// In Basic, both are form-encoded first (RFC 6749 section 2.3.1).
	client, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		du, uerr := url.QueryUnescape(u)
		dp, perr := url.QueryUnescape(p)
		if uerr != nil || perr != nil {
			fail(http.StatusBadRequest, "invalid_request", "The client credentials in the Authorization header are not form-encoded.")
			return
		}
		client, secret = du, dp
	}
	want, known := s.opts.Clients[client]
	if !known || secret == "" || secret != want {
		fail(http.StatusUnauthorized, "invalid_client", "Invalid client secret provided.")
		return
	}
	scope := r.PostForm.Get("scope")
	resource, ok := strings.CutSuffix(scope, "/.default")
	if !ok || resource == "" || strings.Contains(resource, " ") {
		fail(http.StatusBadRequest, "invalid_scope", "The provided value for the input parameter 'scope' is not valid. The scope "+scope+" is not valid.")
		return
	}
	// The resource is the API's App ID URI or its client id.
	uri := resource
	for u, id := range s.opts.APIs {
		if id == resource {
			uri = u
		}
	}
	if _, known := s.opts.APIs[uri]; !known {
		fail(http.StatusBadRequest, "invalid_resource", "Resource principal named "+resource+" was not found in the tenant.")
		return
	}
	tok, err := s.Sign(s.ClaimsFor(client, s.Audience(uri)), nil)
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	s.issued.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ttl := int(s.opts.TTL.Seconds())
	json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": tok})
}

func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.keysDown
	var keys []map[string]any
	for _, id := range s.published {
		pub := s.keys[id].PublicKey
		// As Entra publishes them: no alg (so a verifier cannot lean on one).
		keys = append(keys, map[string]any{"kty": "RSA", "use": "sig", "kid": id,
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
	}
	s.mu.Unlock()
	if down || r.PathValue("tenant") != s.opts.Tenant {
		http.Error(w, "the key set is unavailable", http.StatusServiceUnavailable)
		return
	}
	s.keyFetches.Add(1)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

func (s *Server) serveConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"issuer": s.Issuer(), "token_endpoint": s.TokenURL(), "jwks_uri": s.KeysURL(),
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
		"id_token_signing_alg_values_supported": []string{"RS256"}})
}
