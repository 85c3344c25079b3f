package bearer_test

// Cases from a second outside review of the bearer verifier. TestAttack2... cases that fail name what goes wrong;
// TestAttack2Held... cases are attacks that held, kept as regression tests.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/d365sap/d365sap/infra/local/idpsim"
	"github.com/d365sap/d365sap/shared/bearer"
)

const issuer2 = "https://login.example/tenant/v2.0"

// keySet is a JWKS endpoint whose keys, latency and health a test sets.
type keySet struct {
	mu      sync.Mutex
	keys    []map[string]any
	delay   time.Duration
	down    bool
	fetches atomic.Int64
	srv     *httptest.Server
}

func newKeySet(t *testing.T, keys ...map[string]any) *keySet {
	t.Helper()
	ks := &keySet{keys: keys}
	ks.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.mu.Lock()
		keys, delay, down := ks.keys, ks.delay, ks.down
		ks.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ks.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	t.Cleanup(ks.srv.Close)
	return ks
}

func (ks *keySet) set(f func(ks *keySet)) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	f(ks)
}

func rsaJWK(kid string, pub *rsa.PublicKey, extra map[string]any) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

func claims2() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"iss": issuer2, "aud": audience, "azp": client, "sub": "sp", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix()}
}

func signWith(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims, header map[string]any) string {
	t.Helper()
	tk := jwt.NewWithClaims(m, c)
	if kid != "" {
		tk.Header["kid"] = kid
	}
	for k, v := range header {
		tk.Header[k] = v
	}
	s, err := tk.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifierFor(t *testing.T, ks *keySet, every time.Duration) *bearer.Verifier {
	t.Helper()
	keys := bearer.NewRemoteKeys(t.Context(), bearer.KeysOptions{URL: ks.srv.URL, Client: http.DefaultClient, RefetchEvery: every})
	return &bearer.Verifier{Keys: keys, Issuers: []string{issuer2}, Audiences: []string{audience}, Clients: []string{client}}
}

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
	ecKey   *ecdsa.PrivateKey
)

func keys2(t *testing.T) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
	return rsaKey, ecKey
}

// TestAttack2HeldKeySetShapesAdmitNoForgery: a key set that carries a symmetric ('oct') key, a key published for
// one algorithm, or keys of another type, lets no token through that its owner did not sign with the right
// algorithm: HS256 is refused before any key is looked up, a kid naming an RS256 key does not take a PS256 or
// ES256 signature, and tokens whose header fields have the wrong JSON type are refused.
func TestAttack2HeldKeySetShapesAdmitNoForgery(t *testing.T) {
	rk, ek := keys2(t)
	secret := []byte("a-shared-secret-that-the-key-set-publishes-32b")
	ks := newKeySet(t,
		rsaJWK("rs", &rk.PublicKey, map[string]any{"alg": "RS256", "use": "sig"}),
		map[string]any{"kty": "oct", "kid": "sym", "alg": "HS256", "k": base64.RawURLEncoding.EncodeToString(secret)},
		map[string]any{"kty": "oct", "kid": "sym-noalg", "k": base64.RawURLEncoding.EncodeToString(secret)},
	)
	v := verifierFor(t, ks, time.Minute)
	good := signWith(t, jwt.SigningMethodRS256, rk, "rs", claims2(), nil)
	if _, err := v.Verify(t.Context(), good); err != nil {
		t.Fatalf("the key set's own RS256 token: %v", err)
	}
	cases := []struct {
		name  string
		token string
	}{
		{"HS256 under the key set's oct key", signWith(t, jwt.SigningMethodHS256, secret, "sym", claims2(), nil)},
		{"HS256 under an oct key without alg", signWith(t, jwt.SigningMethodHS256, secret, "sym-noalg", claims2(), nil)},
		{"HS256 without kid, against every key", signWith(t, jwt.SigningMethodHS256, secret, "", claims2(), nil)},
		{"PS256 by the RSA key published for RS256", signWith(t, jwt.SigningMethodPS256, rk, "rs", claims2(), nil)},
		{"ES256 under the RSA key's kid", signWith(t, jwt.SigningMethodES256, ek, "rs", claims2(), nil)},
		{"RS256 under the oct key's kid", signWith(t, jwt.SigningMethodRS256, rk, "sym-noalg", claims2(), nil)},
		{"kid a number", signWith(t, jwt.SigningMethodRS256, rk, "", claims2(), map[string]any{"kid": 7})},
		{"kid a path", signWith(t, jwt.SigningMethodRS256, rk, "../../rs", claims2(), nil)},
		{"alg in lower case", func() string {
			s := signWith(t, jwt.SigningMethodRS256, rk, "rs", claims2(), nil)
			return part(map[string]any{"alg": "rs256", "kid": "rs"}) + s[len(part(map[string]any{"alg": "RS256", "kid": "rs", "typ": "JWT"})):]
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := v.Verify(t.Context(), c.token); reasonOf(err) != bearer.Invalid {
				t.Fatalf("reason %d, want Invalid (err %v)", reasonOf(err), err)
			}
		})
	}
}

// TestAttack2HeldOddClaimShapesAreRefused: claims of the wrong JSON type, empty or null where the verifier needs a
// value, are refused even under a good signature.
func TestAttack2HeldOddClaimShapesAreRefused(t *testing.T) {
	rk, _ := keys2(t)
	ks := newKeySet(t, rsaJWK("rs", &rk.PublicKey, map[string]any{"alg": "RS256", "use": "sig"}))
	v := verifierFor(t, ks, time.Minute)
	edit := func(f func(jwt.MapClaims)) string {
		c := claims2()
		f(c)
		return signWith(t, jwt.SigningMethodRS256, rk, "rs", c, nil)
	}
	cases := map[string]string{
		"aud an empty list":           edit(func(c jwt.MapClaims) { c["aud"] = []any{} }),
		"aud null":                    edit(func(c jwt.MapClaims) { c["aud"] = nil }),
		"aud a list with null":        edit(func(c jwt.MapClaims) { c["aud"] = []any{nil, audience} }),
		"aud an object":               edit(func(c jwt.MapClaims) { c["aud"] = map[string]any{"aud": audience} }),
		"iss a list":                  edit(func(c jwt.MapClaims) { c["iss"] = []any{issuer2} }),
		"exp zero":                    edit(func(c jwt.MapClaims) { c["exp"] = 0 }),
		"exp negative":                edit(func(c jwt.MapClaims) { c["exp"] = -1 }),
		"exp beyond int64":            edit(func(c jwt.MapClaims) { c["exp"] = 1e300 }),
		"exp null":                    edit(func(c jwt.MapClaims) { c["exp"] = nil }),
		"nbf null":                    edit(func(c jwt.MapClaims) { c["nbf"] = nil }),
		"iat a string":                edit(func(c jwt.MapClaims) { c["iat"] = "now" }),
		"azp empty, nothing else":     edit(func(c jwt.MapClaims) { c["azp"] = "" }),
		"azp a list with ours":        edit(func(c jwt.MapClaims) { c["azp"] = []any{client} }),
		"client_id ours, azp another": edit(func(c jwt.MapClaims) { c["azp"] = "other-app"; c["client_id"] = client }),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(t.Context(), tok); reasonOf(err) != bearer.Invalid {
				t.Fatalf("reason %d, want Invalid (err %v)", reasonOf(err), err)
			}
		})
	}
}

// TestAttack2KeyPublishedForEncryptionDoesNotVerifySignatures: a JWK with "use":"enc" is published for
// encrypting to its owner (RFC 7517 §4.2), not for checking its signatures; keyfunc takes any use unless given a
// whitelist, and RemoteKeys gives none, so a token signed with an encryption key verifies.
func TestAttack2KeyPublishedForEncryptionDoesNotVerifySignatures(t *testing.T) {
	rk, _ := keys2(t)
	ks := newKeySet(t, rsaJWK("enc-key", &rk.PublicKey, map[string]any{"use": "enc"}))
	v := verifierFor(t, ks, time.Minute)
	tok := signWith(t, jwt.SigningMethodRS256, rk, "enc-key", claims2(), nil)
	if _, err := v.Verify(t.Context(), tok); reasonOf(err) != bearer.Invalid {
		t.Fatalf("a token under a key published with use=enc: reason %d (err %v), want Invalid", reasonOf(err), err)
	}
}

// TestAttack2UnknownCriticalHeaderIsRefused: RFC 7515 §4.1.11: a JWS whose "crit" names an extension the
// recipient does not understand MUST be rejected; golang-jwt ignores crit, so the verifier takes it.
func TestAttack2UnknownCriticalHeaderIsRefused(t *testing.T) {
	rk, _ := keys2(t)
	ks := newKeySet(t, rsaJWK("rs", &rk.PublicKey, map[string]any{"alg": "RS256", "use": "sig"}))
	v := verifierFor(t, ks, time.Minute)
	for name, h := range map[string]map[string]any{
		"an unknown extension": {"crit": []any{"urn:example:bound-to"}, "urn:example:bound-to": "another-api"},
		"b64 false (RFC 7797)": {"crit": []any{"b64"}, "b64": false},
	} {
		t.Run(name, func(t *testing.T) {
			tok := signWith(t, jwt.SigningMethodRS256, rk, "rs", claims2(), h)
			if _, err := v.Verify(t.Context(), tok); reasonOf(err) != bearer.Invalid {
				t.Fatalf("crit %v taken: reason %d (err %v), want Invalid", h["crit"], reasonOf(err), err)
			}
		})
	}
}

// TestAttack2TimesBeyondInt64AreNotTakenAsThePast: golang-jwt converts a NumericDate to int64 seconds without a
// range check; on amd64 a value past 2^63 becomes math.MinInt64, the distant past. An nbf of 1e19 ("not before
// the year 300 billion") or an iat of 1e19 (issued in the far future) passes as long ago.
func TestAttack2TimesBeyondInt64AreNotTakenAsThePast(t *testing.T) {
	rk, _ := keys2(t)
	ks := newKeySet(t, rsaJWK("rs", &rk.PublicKey, map[string]any{"alg": "RS256", "use": "sig"}))
	v := verifierFor(t, ks, time.Minute)
	for name, f := range map[string]func(jwt.MapClaims){
		"nbf 1e19": func(c jwt.MapClaims) { c["nbf"] = 1e19 },
		"iat 1e19": func(c jwt.MapClaims) { c["iat"] = 1e19 },
	} {
		t.Run(name, func(t *testing.T) {
			c := claims2()
			f(c)
			if _, err := v.Verify(t.Context(), signWith(t, jwt.SigningMethodRS256, rk, "rs", c, nil)); reasonOf(err) != bearer.Invalid {
				t.Fatalf("reason %d (err %v), want Invalid: the token is not valid before the far future", reasonOf(err), err)
			}
		})
	}
}

// TestAttack2AnAbortedRequestDoesNotSpendTheKeyRefetch: an unknown kid spends the once-a-minute refetch, and the
// refetch runs under the request's own context. A sender that names a made-up kid and hangs up (or times out)
// before the key set answers spends the allowance on a fetch that is cancelled: a genuine token under a key the
// provider has just published is then refused for the rest of the minute, and an attacker who repeats this once
// a minute keeps a rolled-over key out until the hourly refresh.
func TestAttack2AnAbortedRequestDoesNotSpendTheKeyRefetch(t *testing.T) {
	// rollover publishes a new signing key after a first token loaded the keys, lets a sender name a made-up kid
	// (hanging up after 30 ms when abort is set), and verifies a genuine token under the new key.
	rollover := func(t *testing.T, abort bool) error {
		idp, err := idpsim.Start(idpsim.Options{Clients: map[string]string{client: "s3cret"}, TokenVersion: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(idp.Close)
		// The provider's key set, a little slow to answer (as over the internet).
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(150 * time.Millisecond)
			resp, err := http.Get(idp.KeysURL())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(resp.StatusCode)
			var b json.RawMessage
			json.NewDecoder(resp.Body).Decode(&b)
			w.Write(b)
		}))
		t.Cleanup(slow.Close)
		keys := bearer.NewRemoteKeys(t.Context(), bearer.KeysOptions{URL: slow.URL, Client: http.DefaultClient}) // the shipped minute
		v := &bearer.Verifier{Keys: keys, Issuers: []string{idp.Issuer()}, Audiences: []string{audience}, Clients: []string{client}}
		if _, err := v.Verify(t.Context(), sign(t, idp, nil, nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := idp.Rotate(true); err != nil { // the new key is published before it signs
			t.Fatal(err)
		}
		ctx := t.Context()
		if abort {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 30*time.Millisecond)
			defer cancel()
		}
		_, _ = v.Verify(ctx, sign(t, idp, nil, map[string]any{"kid": "made-up"}))
		_, err = v.Verify(t.Context(), sign(t, idp, nil, nil))
		return err
	}
	t.Run("control: the made-up kid's request waits for its answer", func(t *testing.T) {
		if err := rollover(t, false); err != nil {
			t.Fatalf("the refetch the made-up kid caused should have brought the new key: %v", err)
		}
	})
	t.Run("the made-up kid's sender hangs up", func(t *testing.T) {
		if err := rollover(t, true); err != nil {
			t.Fatalf("a genuine token under the newly published key, after an aborted request named a made-up kid: reason %d (%v)", reasonOf(err), err)
		}
	})
}

// TestAttack2KeySetDownDuringARolloverIsUnavailable: once keys were fetched, a token under a key the verifier
// does not have is refused with Invalid (a 401) even when the refetch that should have found it failed because
// the key set is down: the token was never judged, as when no key was ever fetched, yet the sender is told its
// credentials are bad.
func TestAttack2KeySetDownDuringARolloverIsUnavailable(t *testing.T) {
	idp, v := start(t)
	if _, err := v.Verify(t.Context(), sign(t, idp, nil, nil)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(refetch + 50*time.Millisecond)
	idp.SetKeysDown(true)
	if _, err := idp.Rotate(true); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(t.Context(), sign(t, idp, nil, nil))
	if reasonOf(err) != bearer.Unavailable {
		t.Fatalf("a token under the provider's new key while its key set is down: reason %d (err %v), want Unavailable (503)", reasonOf(err), err)
	}
}

// TestAttack2HangingKeySetAtColdStartCostsOneFetchTimeout: with the key set hanging, the first token waits for
// the first fetch (5 s) and then for the unknown-kid refetch it triggers at once (5 s more): ten seconds before
// the first push is answered, twice what fetchTimeout says bounds a fetch.
func TestAttack2HangingKeySetAtColdStartCostsOneFetchTimeout(t *testing.T) {
	rk, _ := keys2(t)
	ks := newKeySet(t, rsaJWK("rs", &rk.PublicKey, map[string]any{"alg": "RS256"}))
	ks.set(func(ks *keySet) { ks.delay = time.Hour })
	v := verifierFor(t, ks, time.Minute)
	began := time.Now()
	_, err := v.Verify(t.Context(), signWith(t, jwt.SigningMethodRS256, rk, "rs", claims2(), nil))
	took := time.Since(began)
	if reasonOf(err) != bearer.Unavailable {
		t.Errorf("reason %d (err %v), want Unavailable", reasonOf(err), err)
	}
	if took > 7*time.Second {
		t.Fatalf("the first token under a hanging key set was answered after %v; one fetch is bounded by 5 s", took.Round(time.Second))
	}
}

// TestAttack2HeldEmptyKeySetAfterLoadIsUnavailable: a key set that answers 200 with no keys (a provider glitch)
// empties the cache; tokens are then answered Unavailable, not taken, and taken again once the keys are back.
func TestAttack2HeldEmptyKeySetAfterLoadIsUnavailable(t *testing.T) {
	rk, _ := keys2(t)
	jwk := rsaJWK("rs", &rk.PublicKey, map[string]any{"alg": "RS256"})
	ks := newKeySet(t, jwk)
	v := verifierFor(t, ks, 200*time.Millisecond)
	tok := signWith(t, jwt.SigningMethodRS256, rk, "rs", claims2(), nil)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	ks.set(func(ks *keySet) { ks.keys = nil })
	time.Sleep(250 * time.Millisecond)
	if _, err := v.Verify(t.Context(), signWith(t, jwt.SigningMethodRS256, rk, "other", claims2(), nil)); reasonOf(err) != bearer.Unavailable {
		t.Fatalf("after the key set emptied: reason %d (err %v), want Unavailable", reasonOf(err), err)
	}
	if _, err := v.Verify(t.Context(), tok); err == nil {
		t.Fatal("a token was taken with no key known")
	}
	ks.set(func(ks *keySet) { ks.keys = []map[string]any{jwk} })
	time.Sleep(250 * time.Millisecond)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("the keys back: %v", err)
	}
}

// TestAttack2HeldConcurrentUnknownKidsCostOneFetch: 64 concurrent tokens naming made-up keys cost one key-set
// fetch between them and none of them waits for the limiter.
func TestAttack2HeldConcurrentUnknownKidsCostOneFetch(t *testing.T) {
	rk, _ := keys2(t)
	ks := newKeySet(t, rsaJWK("rs", &rk.PublicKey, map[string]any{"alg": "RS256"}))
	v := verifierFor(t, ks, time.Minute)
	if _, err := v.Verify(t.Context(), signWith(t, jwt.SigningMethodRS256, rk, "rs", claims2(), nil)); err != nil {
		t.Fatal(err)
	}
	before := ks.fetches.Load()
	var wg sync.WaitGroup
	began := time.Now()
	for i := range 64 {
		wg.Go(func() {
			tok := signWith(t, jwt.SigningMethodRS256, rk, "made-up-"+string(rune('a'+i%26))+string(rune('a'+i/26)), claims2(), nil)
			if _, err := v.Verify(t.Context(), tok); reasonOf(err) != bearer.Invalid {
				t.Errorf("made-up kid: reason %d (%v)", reasonOf(err), err)
			}
		})
	}
	wg.Wait()
	if d := ks.fetches.Load() - before; d > 1 {
		t.Errorf("64 made-up kids cost %d fetches", d)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
}
