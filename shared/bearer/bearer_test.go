package bearer_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/d365sap/d365sap/infra/local/idpsim"
	"github.com/d365sap/d365sap/shared/bearer"
)

const (
	client   = "event-mesh-client"
	audience = "api://d365sap-events"
)

// refetch is the test's allowance of key-set refetches for unknown key ids.
const refetch = 300 * time.Millisecond

func start(t *testing.T) (*idpsim.Server, *bearer.Verifier) {
	t.Helper()
	idp, err := idpsim.Start(idpsim.Options{Clients: map[string]string{client: "s3cret", "other-app": "x"}, TokenVersion: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	keys := bearer.NewRemoteKeys(t.Context(), bearer.KeysOptions{URL: idp.KeysURL(), Client: http.DefaultClient, RefetchEvery: refetch})
	return idp, &bearer.Verifier{Keys: keys, Issuers: []string{idp.Issuer()}, Audiences: []string{audience}, Clients: []string{client}}
}

func sign(t *testing.T, idp *idpsim.Server, edit func(idpsim.Claims), header map[string]any) string {
	t.Helper()
	c := idp.ClaimsFor(client, audience)
	if edit != nil {
		edit(c)
	}
	tok, err := idp.Sign(c, header)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// part base64url-encodes v as a JWT segment.
func part(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func reasonOf(err error) bearer.Reason {
	var be *bearer.Error
	if errors.As(err, &be) {
		return be.Reason
	}
	return 0
}

// TestVerifyTakesOnlyWhatTheSettingsAllow: every way a token can be wrong is refused with the reason callers
// answer on, and the provider's own token is taken.
func TestVerifyTakesOnlyWhatTheSettingsAllow(t *testing.T) {
	idp, v := start(t)
	now := time.Now()
	good := sign(t, idp, nil, nil)
	parts := strings.Split(good, ".")
	// A token signed with HS256 using the provider's public key as the secret: the classic algorithm confusion.
	var pub struct {
		Keys []struct{ N, E string } `json:"keys"`
	}
	resp, err := http.Get(idp.KeysURL())
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&pub)
	resp.Body.Close()
	var kid string
	if tok, _, err := jwt.NewParser().ParseUnverified(good, jwt.MapClaims{}); err == nil {
		kid, _ = tok.Header["kid"].(string)
	}
	confused := func(secret []byte) string {
		head := part(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid})
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(head + "." + parts[1]))
		return head + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	foreign := jwt.NewWithClaims(jwt.SigningMethodRS256, idp.ClaimsFor(client, audience))
	foreign.Header["kid"] = kid
	foreignTok, _ := foreign.SignedString(stranger)
	// A token naming its own key in jku and jwk: the verifier must not go and fetch it or trust it.
	var fetched atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) }))
	defer evil.Close()
	embedded := jwt.NewWithClaims(jwt.SigningMethodRS256, idp.ClaimsFor(client, audience))
	embedded.Header["kid"] = "attacker"
	embedded.Header["jku"] = evil.URL
	embedded.Header["jwk"] = map[string]any{"kty": "RSA", "n": base64.RawURLEncoding.EncodeToString(stranger.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(stranger.E)).Bytes())}
	embeddedTok, _ := embedded.SignedString(stranger)

	cases := []struct {
		name  string
		token string
		want  bearer.Reason
	}{
		{"the provider's token", good, 0},
		{"empty", "", bearer.Malformed},
		{"not a JWT", "opaque-token-from-dvsim", bearer.Malformed},
		{"two parts", parts[0] + "." + parts[1], bearer.Malformed},
		{"four parts", good + ".x", bearer.Malformed},
		{"a space inside", parts[0] + ". " + parts[1] + "." + parts[2], bearer.Malformed},
		{"too long", good[:len(good)-1] + strings.Repeat("A", bearer.MaxTokenBytes), bearer.Malformed},
		{"alg none", part(map[string]any{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".", bearer.Invalid},
		{"HS256 with the public key's modulus as secret", confused([]byte(pub.Keys[0].N)), bearer.Invalid},
		{"HS256 with an empty secret", confused(nil), bearer.Invalid},
		{"signed by a stranger under the provider's kid", foreignTok, bearer.Invalid},
		{"a key of its own in jku and jwk", embeddedTok, bearer.Invalid},
		{"a signature cut short", good[:len(good)-4], bearer.Invalid},
		{"claims swapped under a valid signature", parts[0] + "." + part(idp.ClaimsFor("other-app", audience)) + "." + parts[2], bearer.Invalid},
		{"expired", sign(t, idp, func(c idpsim.Claims) { c["exp"] = now.Add(-2 * bearer.Leeway).Unix() }, nil), bearer.Invalid},
		{"expired within the leeway", sign(t, idp, func(c idpsim.Claims) { c["exp"] = now.Add(-bearer.Leeway / 2).Unix() }, nil), 0},
		{"no exp", sign(t, idp, func(c idpsim.Claims) { delete(c, "exp") }, nil), bearer.Invalid},
		{"exp a string", sign(t, idp, func(c idpsim.Claims) { c["exp"] = "tomorrow" }, nil), bearer.Invalid},
		{"not yet valid", sign(t, idp, func(c idpsim.Claims) { c["nbf"] = now.Add(10 * time.Minute).Unix() }, nil), bearer.Invalid},
		{"issued in the future", sign(t, idp, func(c idpsim.Claims) { c["iat"] = now.Add(10 * time.Minute).Unix() }, nil), bearer.Invalid},
		{"another issuer", sign(t, idp, func(c idpsim.Claims) { c["iss"] = "https://sts.windows.net/other/" }, nil), bearer.Invalid},
		{"the issuer with a trailing slash", sign(t, idp, func(c idpsim.Claims) { c["iss"] = idp.Issuer() + "/" }, nil), bearer.Invalid},
		{"no issuer", sign(t, idp, func(c idpsim.Claims) { delete(c, "iss") }, nil), bearer.Invalid},
		{"another audience", sign(t, idp, func(c idpsim.Claims) { c["aud"] = "https://graph.microsoft.com" }, nil), bearer.Invalid},
		{"the audience in a list", sign(t, idp, func(c idpsim.Claims) { c["aud"] = []any{"x", audience} }, nil), 0},
		{"the audience in another case", sign(t, idp, func(c idpsim.Claims) { c["aud"] = strings.ToUpper(audience) }, nil), bearer.Invalid},
		{"no audience", sign(t, idp, func(c idpsim.Claims) { delete(c, "aud") }, nil), bearer.Invalid},
		{"another client", sign(t, idp, func(c idpsim.Claims) { c["azp"] = "other-app" }, nil), bearer.Invalid},
		{"no client claim", sign(t, idp, func(c idpsim.Claims) { delete(c, "azp") }, nil), bearer.Invalid},
		{"the client as a number", sign(t, idp, func(c idpsim.Claims) { c["azp"] = 7 }, nil), bearer.Invalid},
		{"an Entra v1 appid", sign(t, idp, func(c idpsim.Claims) { delete(c, "azp"); c["appid"] = client }, nil), 0},
		{"an XSUAA client_id", sign(t, idp, func(c idpsim.Claims) { delete(c, "azp"); c["client_id"] = client }, nil), 0},
		{"azp another, appid ours", sign(t, idp, func(c idpsim.Claims) { c["azp"] = "other-app"; c["appid"] = client }, nil), bearer.Invalid},
		{"an unknown kid", sign(t, idp, nil, map[string]any{"kid": "not-a-key"}), bearer.Invalid},
		{"no kid", func() string {
			tk := jwt.NewWithClaims(jwt.SigningMethodRS256, idp.ClaimsFor(client, audience))
			s, _ := tk.SignedString(stranger)
			return s
		}(), bearer.Invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), c.token)
			if got := reasonOf(err); got != c.want {
				t.Fatalf("reason %d, want %d (err %v)", got, c.want, err)
			}
			if err != nil && strings.Contains(err.Error(), c.token) && len(c.token) > 20 {
				t.Errorf("the error echoes the token: %v", err)
			}
		})
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("a token's jku was fetched %d times", n)
	}
}

// TestFromRequestReadsOneBearerHeader: the scheme is case-insensitive (RFC 6750 uses RFC 7235's), anything but
// one Authorization header with it is refused.
func TestFromRequestReadsOneBearerHeader(t *testing.T) {
	idp, v := start(t)
	good := sign(t, idp, nil, nil)
	cases := []struct {
		name   string
		values []string
		want   bearer.Reason
	}{
		{"Bearer", []string{"Bearer " + good}, 0},
		{"bearer in lower case", []string{"bearer " + good}, 0},
		{"spaces around", []string{"  Bearer   " + good + " "}, 0},
		{"none", nil, bearer.Missing},
		{"Basic", []string{"Basic dXNlcjpwYXNz"}, bearer.Missing},
		{"the scheme alone", []string{"Bearer"}, bearer.Missing},
		{"the token without a scheme", []string{good}, bearer.Missing},
		{"two headers, the good one second", []string{"Bearer nope", "Bearer " + good}, bearer.Malformed},
		{"two tokens in one header", []string{"Bearer " + good + " " + good}, bearer.Malformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/events", nil)
			for _, h := range c.values {
				r.Header.Add("Authorization", h)
			}
			_, err := v.FromRequest(t.Context(), r)
			if got := reasonOf(err); got != c.want {
				t.Fatalf("reason %d, want %d (err %v)", got, c.want, err)
			}
		})
	}
}

// TestRemoteKeysFollowARollover: a key the provider publishes before signing with it is picked up by refetching
// on the unknown kid; a key signed with before it is published is refused, and once the provider shows the key
// it is taken at the next refetch allowance, without waiting for the hourly refresh. Tokens under the old key
// still verify. (What a burst of unknown keys costs: TestVerifyDoesNotWaitForTheLimiter.)
func TestRemoteKeysFollowARollover(t *testing.T) {
	idp, v := start(t)
	old := sign(t, idp, nil, nil)
	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	fetches := idp.KeyFetches()
	if _, err := idp.Rotate(true); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), sign(t, idp, nil, nil)); err != nil {
		t.Fatalf("a token under the newly published key: %v", err)
	}
	if d := idp.KeyFetches() - fetches; d != 1 {
		t.Errorf("the rollover cost %d key-set fetches, want 1", d)
	}
	time.Sleep(refetch + 50*time.Millisecond)
	id, err := idp.Rotate(false)
	if err != nil {
		t.Fatal(err)
	}
	early := sign(t, idp, nil, nil)
	if _, err := v.Verify(t.Context(), early); reasonOf(err) != bearer.Invalid {
		t.Fatalf("a token under an unpublished key: %v", err)
	}
	idp.Publish(id)
	time.Sleep(refetch + 50*time.Millisecond)
	if _, err := v.Verify(t.Context(), early); err != nil {
		t.Fatalf("the key published, a refetch allowed: %v", err)
	}
	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Fatalf("a token under the old key after the rollover: %v", err)
	}
}

// TestAProviderDownAtStartIsUnavailableNotRefused: with no key ever fetched, a token cannot be judged, and the
// caller hears so (a 503, so Event Mesh delivers again) rather than a 401; a token with alg none is refused all
// the same; once the key set answers, the next allowed refetch takes the token.
func TestAProviderDownAtStartIsUnavailableNotRefused(t *testing.T) {
	idp, v := start(t)
	idp.SetKeysDown(true)
	tok := sign(t, idp, nil, nil)
	if _, err := v.Verify(t.Context(), tok); reasonOf(err) != bearer.Unavailable {
		t.Fatalf("reason %d, want Unavailable (err %v)", reasonOf(err), err)
	}
	if _, err := v.Verify(t.Context(), part(map[string]any{"alg": "none"})+"."+part(idp.ClaimsFor(client, audience))+"."); reasonOf(err) != bearer.Invalid {
		t.Fatalf("alg none while the key set was down: %v, want Invalid", err)
	}
	idp.SetKeysDown(false)
	time.Sleep(refetch + 50*time.Millisecond)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("the key set back: %v", err)
	}
}

// TestVerifyDoesNotWaitForTheLimiter: tokens naming made-up keys are answered at once, not queued behind the
// once-a-minute refetch, and cost one key-set fetch between them.
func TestVerifyDoesNotWaitForTheLimiter(t *testing.T) {
	idp, v := start(t)
	// The shipped allowance, one refetch a minute.
	v.Keys = bearer.NewRemoteKeys(t.Context(), bearer.KeysOptions{URL: idp.KeysURL(), Client: http.DefaultClient})
	if _, err := v.Verify(t.Context(), sign(t, idp, nil, nil)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	began, fetches := time.Now(), idp.KeyFetches()
	for i := range 50 {
		tok := sign(t, idp, nil, map[string]any{"kid": "made-up-" + string(rune('a'+i%26))})
		if _, err := v.Verify(ctx, tok); reasonOf(err) != bearer.Invalid {
			t.Fatalf("a made-up kid: %v", err)
		}
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("50 tokens under made-up keys took %v", took)
	}
	if d := idp.KeyFetches() - fetches; d != 1 {
		t.Errorf("50 tokens under made-up keys cost %d key-set fetches, want 1", d)
	}
}
