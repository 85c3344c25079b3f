package bearer_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/d365sap/d365sap/shared/bearer"
)

// staticKeys is one RSA key under one id, with no network.
type staticKeys struct {
	kid string
	pub *rsa.PublicKey
}

func (k staticKeys) KeyfuncCtx(context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != k.kid {
			return nil, jwt.ErrTokenUnverifiable
		}
		return k.pub, nil
	}
}

func (staticKeys) Loaded(context.Context) bool { return true }

// FuzzFromRequest reads Authorization headers a sender may send: whatever the header holds, the verifier does not
// panic, and a token it takes is one the key signed for the settings' issuer, audience and client, unexpired.
// Seeds are a good token, its parts rearranged, and the shapes the table test refuses.
func FuzzFromRequest(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	claims := jwt.MapClaims{"iss": "https://idp.example/t/v2.0", "aud": "api://events", "azp": "mesh",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	tk := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tk.Header["kid"] = "k1"
	good, err := tk.SignedString(key)
	if err != nil {
		f.Fatal(err)
	}
	v := &bearer.Verifier{Keys: staticKeys{kid: "k1", pub: &key.PublicKey}, Issuers: []string{"https://idp.example/t/v2.0"},
		Audiences: []string{"api://events"}, Clients: []string{"mesh"}, Now: func() time.Time { return now }}
	p := strings.Split(good, ".")
	for _, s := range []string{"Bearer " + good, "bearer " + good, good, "Bearer " + p[0] + "." + p[1] + ".", "Bearer " + p[1] + "." + p[0] + "." + p[2],
		"Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer ...", "Bearer " + strings.Repeat("a.", 5000), "Basic dTpw", "Bearer  \t" + good, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("POST", "/api/events", nil)
		if header != "" {
			r.Header["Authorization"] = []string{header}
		}
		c, err := v.FromRequest(t.Context(), r)
		if err != nil {
			return
		}
		if c.Client != "mesh" || c.Issuer != "https://idp.example/t/v2.0" || !c.Expires.After(now.Add(-bearer.Leeway)) {
			t.Fatalf("took %q as %+v", header, c)
		}
		// What was taken is the signed token itself: only the header's spacing and the scheme's case may vary.
		_, tok, _ := strings.Cut(strings.TrimSpace(header), " ")
		if strings.TrimSpace(tok) != good {
			t.Fatalf("took a token that is not the signed one: %q", header)
		}
	})
}
