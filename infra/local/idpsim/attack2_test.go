package idpsim_test

// Fidelity cases from a second outside review: where the simulator issues what Microsoft Entra ID does not, so
// a verifier set up against it may refuse every real token (or the reverse).

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/idpsim"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func token(t *testing.T, idp *idpsim.Server, form url.Values, basicUser, basicPass string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, idp.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(basicUser+":"+basicPass)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAttack2TokensHaveAClaimSetEntraIssues: Entra's access-token reference: "In v2.0 tokens, [aud] is always the
// client ID of the API" (a GUID), and v1.0 tokens (what an API registration issues unless its manifest asks for
// v2, requestedAccessTokenVersion) carry iss https://sts.windows.net/<tenant>/ and appid, not azp. The simulator
// issues a v2.0 token (iss .../v2.0, azp) whose aud is the App ID URI of the scope: a combination Entra never
// issues. A deployment set up as the simulator and the README suggest (a v2.0 issuer, the App ID URI as
// audience) refuses every real token: a v1 token for its issuer, a v2 token for its audience.
func TestAttack2TokensHaveAClaimSetEntraIssues(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) { entraClaims(t, version) })
	}
}

func entraClaims(t *testing.T, version int) {
	const audience = "api://d365sap-events"
	idp, err := idpsim.Start(idpsim.Options{Clients: map[string]string{"mesh": "s3cret"}, TokenVersion: version,
		APIs: map[string]string{audience: "7c1e5f0a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	resp, body := token(t, idp, url.Values{"grant_type": {"client_credentials"}, "client_id": {"mesh"}, "client_secret": {"s3cret"},
		"scope": {audience + "/.default"}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token endpoint answered %d: %v", resp.StatusCode, body)
	}
	c := claimsOf(t, body["access_token"].(string))
	switch c["ver"] {
	case "2.0":
		if aud, _ := c["aud"].(string); !guid.MatchString(aud) {
			t.Errorf("a v2.0 token with aud %q; Entra's v2.0 tokens carry the API's client id (a GUID) as aud", aud)
		}
		if iss, _ := c["iss"].(string); !strings.HasSuffix(iss, "/v2.0") {
			t.Errorf("a v2.0 token with iss %q", iss)
		}
	case "1.0":
		if iss, _ := c["iss"].(string); !strings.HasPrefix(iss, "https://sts.windows.net/") {
			t.Errorf("a v1.0 token with iss %q", iss)
		}
		if _, ok := c["appid"]; !ok {
			t.Error("a v1.0 token without appid")
		}
	default:
		t.Errorf("ver %v", c["ver"])
	}
}

// TestAttack2BasicClientAuthenticationIsFormDecoded: RFC 6749 §2.3.1: with client_secret_basic the client id and
// secret are application/x-www-form-urlencoded before they go into the Basic header, and the server decodes them.
// A client that follows the RFC and a secret with a character the encoding changes ('+', '%', ':', as Entra's
// generated secrets and SAP destinations can hold) is refused by the simulator, which compares the encoded text.
func TestAttack2BasicClientAuthenticationIsFormDecoded(t *testing.T) {
	const secret = "a+b%c:d~e"
	idp, err := idpsim.Start(idpsim.Options{Clients: map[string]string{"mesh": secret}, APIs: map[string]string{"api://x": "0f0f0f0f-0000-0000-0000-000000000001"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"api://x/.default"}}
	resp, body := token(t, idp, form, url.QueryEscape("mesh"), url.QueryEscape(secret))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("RFC 6749 Basic client authentication refused: %d %v", resp.StatusCode, body)
	}
}

// TestAttack2KeySetKeysCarryNoAlgAsEntrasDo: Entra's published keys (discovery/v2.0/keys) carry kty, use, kid,
// x5t, n, e, x5c and issuer, but no "alg". The simulator publishes alg RS256, which makes keyfunc refuse a token
// whose alg differs from the key's; against Entra that check never runs, so the tests prove a protection that
// production lacks (any of bearer.Algorithms the key type fits is tried).
func TestAttack2KeySetKeysCarryNoAlgAsEntrasDo(t *testing.T) {
	idp, err := idpsim.Start(idpsim.Options{Clients: map[string]string{"mesh": "s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	resp, err := http.Get(idp.KeysURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if _, ok := k["alg"]; ok {
			t.Errorf("key %v carries alg %v; Entra's keys carry none", k["kid"], k["alg"])
		}
	}
}
