package sap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AuthMode selects how the client authenticates (setting SAP_AUTH_MODE).
type AuthMode string

// The authentication modes.
const (
	AuthBasic  AuthMode = "basic"
	AuthOAuth2 AuthMode = "oauth2"
)

// Service paths under /sap/opu/odata/sap/.
const (
	ServiceSalesOrder   = "API_SALES_ORDER_SRV"
	ServiceMaterial     = "API_MATERIAL_STOCK_SRV"
	ServiceProduct      = "API_PRODUCT_SRV"
	ServicePricing      = "API_SLSPRICINGCONDITIONRECORD_SRV"
	ServiceAvailability = "API_PRODUCT_AVAILY_INFO_BASIC"
	ServiceBP           = "API_BUSINESS_PARTNER"
	ServiceDelivery     = "API_OUTBOUND_DELIVERY_SRV;v=0002"
	ServiceBilling      = "API_BILLING_DOCUMENT_SRV"
)

// ServicePrefix is the root of every SAP Gateway OData service.
const ServicePrefix = "/sap/opu/odata/sap/"

// Options configures a Client. The fields that carry a setting have no defaults here: shared/config is the one
// place that names each setting's default, and main passes its values; a zero where a value is needed is refused
// by New rather than quietly replaced by a second default.
type Options struct {
	// BaseURL is scheme://host[:port] of the SAP system (setting SAP_BASE_URL); it comes only from settings.
	BaseURL string
	// SAPClient is the optional sap-client (setting SAP_CLIENT), sent as ?sap-client=NNN on every request.
	SAPClient string

	AuthMode AuthMode // "basic" or "oauth2" (setting SAP_AUTH_MODE); required
	Username string   // basic
	Password string   // basic

	OAuthTokenURL     string // oauth2: token endpoint (client credentials grant)
	OAuthClientID     string
	OAuthClientSecret string
	OAuthScope        string

	// Timeout bounds each HTTP attempt, including reading its body (setting SAP_TIMEOUT); required.
	Timeout time.Duration
	// MaxResponseBytes bounds one response body (setting SAP_MAX_RESPONSE_BYTES); required.
	MaxResponseBytes int64
	// ReadRetries is how many times a read is retried on 429/502/503/504, timeouts and resets (setting
	// SAP_READ_RETRIES). 0 means no retries: zero is a value here, not "unset".
	ReadRetries int
	// RetryBaseDelay and RetryMaxDelay shape the exponential backoff with full jitter (200ms and 10s when zero;
	// they are no setting of the app). A Retry-After longer than RetryMaxDelay is not waited for: the error is
	// returned instead.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration

	// HTTPClient is the seam for tests; its Transport (or http.DefaultTransport) carries every request.
	HTTPClient *http.Client
	// Logger receives retry and token events (never secrets or payloads). Default: discard.
	Logger *slog.Logger
}

// Client talks to one SAP system. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	opts     Options
	hc       *http.Client
	maxBytes int64
}

// New validates opts (reporting every problem together) and builds the transport stack.
func New(opts Options) (*Client, error) {
	var errs []error
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if opts.BaseURL == "" || err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		errs = append(errs, fmt.Errorf("SAP base URL %q must be an absolute http(s) URL", opts.BaseURL))
	}
	switch opts.AuthMode {
	case AuthBasic:
		if opts.Username == "" || opts.Password == "" {
			errs = append(errs, errors.New("basic auth needs a username and a password"))
		}
	case AuthOAuth2:
		if opts.OAuthTokenURL == "" || opts.OAuthClientID == "" || opts.OAuthClientSecret == "" {
			errs = append(errs, errors.New("oauth2 needs a token URL, a client id and a client secret"))
		}
		if u, err := url.Parse(opts.OAuthTokenURL); opts.OAuthTokenURL != "" && (err != nil || u.Host == "") {
			errs = append(errs, fmt.Errorf("OAuth token URL %q must be absolute", opts.OAuthTokenURL))
		}
	case "":
		errs = append(errs, errors.New("no auth mode (setting SAP_AUTH_MODE): basic or oauth2"))
	default:
		errs = append(errs, fmt.Errorf("auth mode %q must be basic or oauth2", opts.AuthMode))
	}
	if opts.SAPClient != "" && !isDigits(opts.SAPClient, 3) {
		errs = append(errs, fmt.Errorf("sap-client %q must be three digits", opts.SAPClient))
	}
	if opts.ReadRetries < 0 {
		errs = append(errs, errors.New("read retries must not be negative"))
	}
	if opts.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("timeout %s must be positive (setting SAP_TIMEOUT)", opts.Timeout))
	}
	if opts.MaxResponseBytes <= 0 {
		errs = append(errs, fmt.Errorf("max response bytes %d must be positive (setting SAP_MAX_RESPONSE_BYTES)", opts.MaxResponseBytes))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("configuring SAP client: %w", errors.Join(errs...))
	}
	if opts.RetryBaseDelay <= 0 {
		opts.RetryBaseDelay = 200 * time.Millisecond
	}
	if opts.RetryMaxDelay <= 0 {
		opts.RetryMaxDelay = 10 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var inner http.RoundTripper = http.DefaultTransport
	if opts.HTTPClient != nil && opts.HTTPClient.Transport != nil {
		inner = opts.HTTPClient.Transport
	}
	probed := &probeTransport{next: inner}
	var auth http.RoundTripper
	if opts.AuthMode == AuthOAuth2 {
		auth = &bearerTransport{next: probed, tokens: &tokenSource{
			hc: &http.Client{Transport: &timeoutTransport{next: inner, timeout: opts.Timeout}}, url: opts.OAuthTokenURL,
			id: opts.OAuthClientID, secret: opts.OAuthClientSecret, scope: opts.OAuthScope, log: logger,
		}}
	} else {
		auth = &basicTransport{next: probed, user: opts.Username, pass: opts.Password}
	}
	retry := &retryTransport{
		next:    &timeoutTransport{next: auth, timeout: opts.Timeout},
		retries: opts.ReadRetries, base: opts.RetryBaseDelay, max: opts.RetryMaxDelay, log: logger,
	}
	c := &Client{base: base, opts: opts, maxBytes: opts.MaxResponseBytes}
	c.hc = &http.Client{
		Transport: &csrfTransport{next: retry, sapClient: opts.SAPClient, log: logger},
		// SAP answers reads with no redirects; refusing them keeps credentials on the configured host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// serviceURL builds base + /sap/opu/odata/sap/<service>/<path>?<query>[&sap-client=NNN].
func (c *Client) serviceURL(service, path, query string) string {
	var b strings.Builder
	b.WriteString(c.base.String())
	b.WriteString(ServicePrefix)
	b.WriteString(service)
	b.WriteString("/")
	b.WriteString(path)
	if c.opts.SAPClient != "" {
		if query != "" {
			query += "&"
		}
		query += "sap-client=" + c.opts.SAPClient
	}
	if query != "" {
		b.WriteString("?")
		b.WriteString(query)
	}
	return b.String()
}

// request is one call to SAP.
type request struct {
	method  string
	service string
	path    string // relative to the service root: "A_SalesOrder('1')"
	query   string
	rawURL  string // when set (a validated __next), replaces service/path/query
	body    any    // JSON-encoded when not nil
	raw     []byte // sent as is with contentType
	ctype   string
	header  http.Header
}

// do sends r and returns the response when its status is 2xx; otherwise it reads the body into an *Error.
// The caller must close the returned body.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	u := r.rawURL
	if u == "" {
		u = c.serviceURL(r.service, r.path, r.query)
	}
	var body []byte
	switch {
	case r.raw != nil:
		body = r.raw
	case r.body != nil:
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encoding request body: %w", err)
		}
		body = b
		if r.ctype == "" {
			r.ctype = "application/json"
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: c.maxBytes}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, parseError(resp, data)
}

// decodeEntity reads {"d":{...}} into v.
func decodeEntity(resp *http.Response, v any) error {
	defer resp.Body.Close()
	var env struct {
		D json.RawMessage `json:"d"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	if len(env.D) == 0 {
		return errors.New("decoding response: no \"d\" member")
	}
	if err := json.Unmarshal(env.D, v); err != nil {
		return fmt.Errorf("decoding entity: %w", err)
	}
	return nil
}

// limitedBody fails with ErrResponseTooLarge once more than the configured bytes were read.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One more byte tells an exact-size body from an oversized one.
		var one [1]byte
		n, err := l.rc.Read(one[:])
		if n > 0 {
			return 0, ErrResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// keyString formats entity keys: one key → ('v'); several → (A='x',B='y'), with quotes doubled and the whole
// path segment escaped.
func keyString(pairs ...string) string {
	var b strings.Builder
	b.WriteString("(")
	if len(pairs) == 2 && pairs[0] == "" {
		b.WriteString(quoteKey(pairs[1]))
	} else {
		for i := 0; i+1 < len(pairs); i += 2 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(pairs[i] + "=" + quoteKey(pairs[i+1]))
		}
	}
	b.WriteString(")")
	return b.String()
}

func quoteKey(v string) string {
	return "'" + url.PathEscape(strings.ReplaceAll(v, "'", "''")) + "'"
}
