package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// TokenSource gives a bearer token for Dataverse and when it expires.
type TokenSource interface {
	Token(ctx context.Context) (string, time.Time, error)
}

// Scope is the client-credentials scope for an org URL: https://org.crm.dynamics.com/.default.
func Scope(orgURL string) string { return strings.TrimSuffix(orgURL, "/") + "/.default" }

// ClientSecretSource gets tokens with the OAuth 2.0 client credentials grant and a client secret, by
// plain HTTP against {AuthorityHost}/{TenantID}/oauth2/v2.0/token.
type ClientSecretSource struct {
	// AuthorityHost is the Entra sign-in host (setting DATAVERSE_AUTHORITY_HOST); required: the public cloud's
	// host is that setting's default, not this type's.
	AuthorityHost string
	TenantID      string
	ClientID      string
	ClientSecret  string
	Scope         string
	HTTPClient    *http.Client // default http.DefaultClient
}

// TokenError is an Entra ID token endpoint error.
type TokenError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
	ErrorCodes  []int  `json:"error_codes"`
	TraceID     string `json:"trace_id"`
}

func (e *TokenError) Error() string {
	// The first line only: the rest repeats trace ids and timestamps.
	d, _, _ := strings.Cut(e.Description, "\r\n")
	return fmt.Sprintf("entra token endpoint: %d %s: %s", e.Status, e.Code, d)
}

// Token implements TokenSource.
func (s *ClientSecretSource) Token(ctx context.Context) (string, time.Time, error) {
	if s.AuthorityHost == "" {
		return "", time.Time{}, errors.New("requesting token: no authority host (setting DATAVERSE_AUTHORITY_HOST)")
	}
	endpoint := strings.TrimSuffix(s.AuthorityHost, "/") + "/" + url.PathEscape(s.TenantID) + "/oauth2/v2.0/token"
	form := url.Values{"client_id": {s.ClientID}, "client_secret": {s.ClientSecret}, "scope": {s.Scope},
		"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("building token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hc := s.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("requesting token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("reading token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Status: resp.StatusCode}
		if json.Unmarshal(body, te) != nil || te.Code == "" {
			te.Code = "unexpected_response"
		}
		return "", time.Time{}, te
	}
	var tr struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return "", time.Time{}, fmt.Errorf("decoding token response: no access_token (%v)", err)
	}
	if !strings.EqualFold(tr.TokenType, "Bearer") {
		return "", time.Time{}, fmt.Errorf("decoding token response: token_type %q, want Bearer", tr.TokenType)
	}
	return tr.AccessToken, start.Add(time.Duration(tr.ExpiresIn) * time.Second), nil
}

// AzureSource adapts an azidentity credential (certificate, managed identity, ...) to TokenSource.
type AzureSource struct {
	Credential azcore.TokenCredential
	Scope      string
}

// Token implements TokenSource.
func (s *AzureSource) Token(ctx context.Context) (string, time.Time, error) {
	tk, err := s.Credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.Scope}})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("getting token from azidentity: %w", err)
	}
	return tk.Token, tk.ExpiresOn, nil
}

// CertificateOptions configure NewCertificateSource.
type CertificateOptions struct {
	AuthorityHost string // the Entra sign-in host (setting DATAVERSE_AUTHORITY_HOST); required
	Password      []byte // for an encrypted PKCS#12 file
	Transport     policy.Transporter
}

// NewCertificateSource reads a PEM or PKCS#12 client certificate (with its private key) and signs client
// assertions with it through azidentity.
func NewCertificateSource(tenantID, clientID, certPath, scope string, o *CertificateOptions) (*AzureSource, error) {
	if o == nil || o.AuthorityHost == "" {
		return nil, errors.New("building certificate credential: no authority host (setting DATAVERSE_AUTHORITY_HOST)")
	}
	data, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("reading client certificate: %w", err)
	}
	certs, key, err := azidentity.ParseCertificates(data, o.Password)
	if err != nil {
		return nil, fmt.Errorf("parsing client certificate: %w", err)
	}
	opts := &azidentity.ClientCertificateCredentialOptions{SendCertificateChain: true}
	opts.Cloud = cloudFor(o.AuthorityHost)
	// Instance discovery knows the public cloud only; any other host (a sovereign cloud, the simulator) skips it.
	opts.DisableInstanceDiscovery = !isPublicCloud(o.AuthorityHost)
	if o.Transport != nil {
		opts.Transport = o.Transport
	}
	cred, err := azidentity.NewClientCertificateCredential(tenantID, clientID, certs, key, opts)
	if err != nil {
		return nil, fmt.Errorf("building certificate credential: %w", err)
	}
	return &AzureSource{Credential: cred, Scope: scope}, nil
}

// NewManagedIdentitySource uses the Azure managed identity (user-assigned when clientID is set).
func NewManagedIdentitySource(clientID, scope string) (*AzureSource, error) {
	opts := &azidentity.ManagedIdentityCredentialOptions{}
	if clientID != "" {
		opts.ID = azidentity.ClientID(clientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return nil, fmt.Errorf("building managed identity credential: %w", err)
	}
	return &AzureSource{Credential: cred, Scope: scope}, nil
}

func cloudFor(authorityHost string) cloud.Configuration {
	c := cloud.AzurePublic
	c.ActiveDirectoryAuthorityHost = strings.TrimSuffix(authorityHost, "/") + "/"
	return c
}

func isPublicCloud(authorityHost string) bool {
	return strings.EqualFold(strings.TrimSuffix(authorityHost, "/"), strings.TrimSuffix(cloud.AzurePublic.ActiveDirectoryAuthorityHost, "/"))
}

// CachedSource caches a token and refreshes it before it expires: at RefreshBefore before expiry (default
// 5 minutes, but never later than half its lifetime). Concurrent callers share one refresh.
type CachedSource struct {
	Source        TokenSource
	RefreshBefore time.Duration
	Now           func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
	refresh time.Time
}

// Token implements TokenSource.
func (c *CachedSource) Token(ctx context.Context) (string, time.Time, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && now().Before(c.refresh) {
		return c.token, c.expires, nil
	}
	tok, exp, err := c.Source.Token(ctx)
	if err != nil {
		if c.token != "" && now().Before(c.expires) {
			// The cached token is still valid: a failed early refresh must not fail the request.
			return c.token, c.expires, nil
		}
		return "", time.Time{}, err
	}
	before := c.RefreshBefore
	if before <= 0 {
		before = 5 * time.Minute
	}
	t := now()
	if life := exp.Sub(t); before > life/2 {
		before = life / 2
	}
	c.token, c.expires, c.refresh = tok, exp, exp.Add(-before)
	return tok, exp, nil
}

// Invalidate drops the cached token (after a 401).
func (c *CachedSource) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.token = ""
}
