// Package dataverse is a client for the Dataverse (Dynamics 365) Web API v9.2: CRUD, upsert by alternate
// key, actions, paging, change tracking, $batch and the bulk messages, with authentication and the service
// protection limits handled in http.RoundTripper layers.
package dataverse

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
	"sort"
	"strings"
	"time"
)

// APIPath is the Web API root below the org URL.
const APIPath = "/api/data/v9.2/"

// Options configure a Client. The fields that carry a setting have no defaults here: shared/config is the one
// place that names each setting's default, and main passes its values; a zero where a value is needed is refused
// by New rather than quietly replaced by a second default. The org URL comes from settings only, never from
// request input.
type Options struct {
	URL        string       // org URL, e.g. https://contoso.crm4.dynamics.com (setting DATAVERSE_URL)
	Tokens     TokenSource  // required; cached (CachedSource) unless it already is
	HTTPClient *http.Client // optional; its Transport is the innermost layer (the test seam)
	// Timeout bounds each HTTP attempt (sending and reading the response), not the waits for Retry-After
	// between attempts, which MaxRetryWait and MaxRetries bound; the caller's context bounds the whole call
	// (setting DATAVERSE_TIMEOUT); required.
	Timeout            time.Duration
	MaxConcurrency     int // 1 to 52 (setting DATAVERSE_MAX_CONCURRENCY); required
	InitialConcurrency int // 1 to MaxConcurrency (setting DATAVERSE_INITIAL_CONCURRENCY); required
	// MaxRetries is how many attempts may follow the first on 429, 5xx and network errors (setting
	// DATAVERSE_MAX_RETRIES). 0 means none: zero is a value here, not "unset".
	MaxRetries   int
	MaxRetryWait time.Duration // longest single wait on Retry-After; 5 minutes when zero (no setting of the app)
	PageSize     int           // Prefer: odata.maxpagesize, 1 to 5000 (setting DATAVERSE_PAGE_SIZE); required
	Logger       *slog.Logger
}

func (o *Options) validate() error {
	var errs []error
	u, err := url.Parse(o.URL)
	if o.URL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("URL %q must be an absolute http(s) URL", o.URL))
	} else if u.Path != "" && u.Path != "/" {
		errs = append(errs, fmt.Errorf("URL %q must be the org root, without a path", o.URL))
	}
	if o.Tokens == nil {
		errs = append(errs, errors.New("Tokens is required"))
	}
	if o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("Timeout %s must be positive (setting DATAVERSE_TIMEOUT)", o.Timeout))
	}
	if o.MaxConcurrency < 1 || o.MaxConcurrency > HardMaxConcurrency {
		errs = append(errs, fmt.Errorf("MaxConcurrency %d must be between 1 and %d (setting DATAVERSE_MAX_CONCURRENCY)", o.MaxConcurrency, HardMaxConcurrency))
	}
	if o.InitialConcurrency < 1 || o.InitialConcurrency > max(1, o.MaxConcurrency) {
		errs = append(errs, fmt.Errorf("InitialConcurrency %d must be between 1 and MaxConcurrency (setting DATAVERSE_INITIAL_CONCURRENCY)", o.InitialConcurrency))
	}
	if o.MaxRetries < 0 {
		errs = append(errs, fmt.Errorf("MaxRetries %d must not be negative (setting DATAVERSE_MAX_RETRIES; 0 is none)", o.MaxRetries))
	}
	if o.PageSize < 1 || o.PageSize > 5000 {
		errs = append(errs, fmt.Errorf("PageSize %d must be between 1 and 5000 (setting DATAVERSE_PAGE_SIZE)", o.PageSize))
	}
	if o.MaxRetryWait < 0 {
		errs = append(errs, errors.New("MaxRetryWait must not be negative"))
	}
	return errors.Join(errs...)
}

// Client talks to one org. It is safe for concurrent use; concurrency is bounded by its throttle layer.
type Client struct {
	base     string // https://org.../api/data/v9.2/
	hc       *http.Client
	throttle *throttle
	pageSize int
	log      *slog.Logger
	noBulk   syncSet // entity sets that answered a bulk message with "not supported"
}

// New builds a Client.
func New(o Options) (*Client, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("configuring Dataverse client: %w", err)
	}
	if o.MaxRetryWait == 0 {
		o.MaxRetryWait = 5 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	tokens := o.Tokens
	if _, ok := tokens.(*CachedSource); !ok {
		tokens = &CachedSource{Source: tokens}
	}
	var inner http.RoundTripper = http.DefaultTransport
	if o.HTTPClient != nil && o.HTTPClient.Transport != nil {
		inner = o.HTTPClient.Transport
	}
	th := newThrottle(&authTransport{next: dropAffinity{next: inner}, tokens: tokens},
		o.MaxConcurrency, o.InitialConcurrency, o.MaxRetries, o.MaxRetryWait, o.Logger)
	th.attemptTimeout = o.Timeout
	return &Client{
		base: strings.TrimSuffix(o.URL, "/") + APIPath,
		// No cookie jar: ARRAffinity must not be sent back.
		hc:       &http.Client{Transport: th},
		throttle: th,
		pageSize: o.PageSize,
		log:      o.Logger,
		noBulk:   syncSet{m: map[string]bool{}},
	}, nil
}

// Stats returns the throttling counters (attempts, 429s, retries, current concurrency).
func (c *Client) Stats() Stats { return c.throttle.stats() }

// Record is one row as JSON: numbers stay json.Number (exact), lookups read as "_x_value".
type Record map[string]any

// String returns a string column ("" when absent or null).
func (r Record) String(col string) string { s, _ := r[col].(string); return s }

// Number returns a numeric column exactly as sent ("" when absent or null).
func (r Record) Number(col string) json.Number { n, _ := r[col].(json.Number); return n }

// Bool returns a boolean column.
func (r Record) Bool(col string) bool { b, _ := r[col].(bool); return b }

// ETag returns the row's @odata.etag.
func (r Record) ETag() string { return r.String("@odata.etag") }

// Records returns an expanded collection navigation property.
func (r Record) Records(nav string) []Record {
	arr, _ := r[nav].([]any)
	out := make([]Record, 0, len(arr))
	for _, a := range arr {
		if m, ok := a.(map[string]any); ok {
			out = append(out, Record(m))
		}
	}
	return out
}

// Record returns an expanded single-valued navigation property (nil when null).
func (r Record) Record(nav string) Record {
	m, _ := r[nav].(map[string]any)
	return m
}

// request is one Web API call below the API root.
type request struct {
	method string
	path   string // e.g. accounts(accountnumber='1') — not yet escaped
	query  url.Values
	header http.Header
	body   any // marshalled as JSON; []byte sent as is
}

func (c *Client) url(path string, q url.Values) string {
	u := c.base + escapePath(path)
	if len(q) > 0 {
		u += "?" + encodeQuery(q)
	}
	return u
}

// encodeQuery writes system query options with a literal "$" and values percent-encoded (%20 for spaces:
// a "+" would be read as a space, so it is encoded too).
func encodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(escapeQuery(k))
			b.WriteByte('=')
			b.WriteString(escapeQuery(v))
		}
	}
	return b.String()
}

func escapeQuery(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~()',$/:@!*", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// escapePath percent-encodes a path below the API root but keeps the OData punctuation of key segments
// and actions literal, as Dataverse's own clients send it: accounts(accountnumber='A 1').
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~()'=,$/@!:;", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// send performs a request and returns the response when it is 2xx/304, an *Error otherwise.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	return c.sendURL(ctx, r, c.url(r.path, r.query))
}

func (c *Client) sendURL(ctx context.Context, r request, target string) (*http.Response, error) {
	var body io.Reader
	var raw []byte
	if r.body != nil {
		switch b := r.body.(type) {
		case []byte:
			raw = b
		default:
			var err error
			if raw, err = json.Marshal(b); err != nil {
				return nil, fmt.Errorf("encoding request body: %w", err)
			}
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.method == http.MethodGet {
		// Without it the service may answer from a cache with 304.
		req.Header.Set("If-None-Match", "null")
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 || resp.StatusCode == http.StatusNotModified {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, newError(r.method, r.path, resp.StatusCode, resp.Header, b, conditionOf(req.Header))
}

func decodeJSON(resp *http.Response, v any) error {
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}

func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// idFromEntityID takes the key out of an OData-EntityId: .../accounts(<guid>).
func idFromEntityID(v string) string {
	open, end := strings.LastIndex(v, "("), strings.LastIndex(v, ")")
	if open < 0 || end < open {
		return ""
	}
	return v[open+1 : end]
}

// ---- create, retrieve, update, upsert, delete ----

// CreateOptions: with Return the created row comes back (201 and Prefer: return=representation).
type CreateOptions struct {
	Return bool
	Select []string
}

// Written describes a created or updated row.
type Written struct {
	ID      string
	ETag    string
	Created bool   // known for Create, and for Upsert with Return
	Record  Record // with Return
}

// Create inserts a row: POST <set>.
func (c *Client) Create(ctx context.Context, set string, rec Record, o *CreateOptions) (Written, error) {
	if o == nil {
		o = &CreateOptions{}
	}
	r := request{method: http.MethodPost, path: set, body: rec, header: http.Header{}}
	if o.Return {
		r.header.Set("Prefer", "return=representation")
		r.query = selectQuery(o.Select)
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return Written{}, fmt.Errorf("creating %s: %w", set, err)
	}
	return written(resp, true)
}

func written(resp *http.Response, created bool) (Written, error) {
	w := Written{ID: idFromEntityID(resp.Header.Get("OData-EntityId")), ETag: resp.Header.Get("ETag"), Created: created}
	if resp.StatusCode == http.StatusNoContent {
		closeBody(resp)
		return w, nil
	}
	if err := decodeJSON(resp, &w.Record); err != nil {
		return w, err
	}
	if e := w.Record.ETag(); e != "" {
		w.ETag = e
	}
	return w, nil
}

func selectQuery(cols []string) url.Values {
	if len(cols) == 0 {
		return nil
	}
	return url.Values{"$select": {strings.Join(cols, ",")}}
}

// RetrieveOptions choose columns and related rows. Expand items are "nav" or "nav($select=a,b)".
type RetrieveOptions struct {
	Select []string
	Expand []string
}

// Retrieve reads one row: GET <set>(<key>).
func (c *Client) Retrieve(ctx context.Context, set string, key Key, o *RetrieveOptions) (Record, error) {
	seg, err := key.segment(set)
	if err != nil {
		return nil, fmt.Errorf("retrieving %s: %w", set, err)
	}
	q := url.Values{}
	if o != nil {
		if len(o.Select) > 0 {
			q.Set("$select", strings.Join(o.Select, ","))
		}
		if len(o.Expand) > 0 {
			q.Set("$expand", strings.Join(o.Expand, ","))
		}
	}
	resp, err := c.send(ctx, request{method: http.MethodGet, path: seg, query: q})
	if err != nil {
		return nil, fmt.Errorf("retrieving %s: %w", seg, err)
	}
	var rec Record
	if err := decodeJSON(resp, &rec); err != nil {
		return nil, fmt.Errorf("retrieving %s: %w", seg, err)
	}
	return rec, nil
}

// UpdateOptions: with ETag the update applies only if the row is unchanged (412 KindConcurrency otherwise).
type UpdateOptions struct {
	ETag string
}

// Update changes an existing row: PATCH with If-Match (the ETag, or * so that a missing row is a 404
// instead of a create).
func (c *Client) Update(ctx context.Context, set string, key Key, rec Record, o *UpdateOptions) (Written, error) {
	mode := UpdateOnly
	etag := ""
	if o != nil && o.ETag != "" {
		etag = o.ETag
	}
	w, err := c.patch(ctx, set, key, rec, mode, etag, false)
	if err != nil {
		return w, fmt.Errorf("updating %s: %w", set, err)
	}
	return w, nil
}

// UpsertMode is one of the three meanings of PATCH by key.
type UpsertMode int

const (
	Upsert     UpsertMode = iota // create or update
	UpdateOnly                   // If-Match: * — 404 KindNotFound when missing
	CreateOnly                   // If-None-Match: * — 412 KindDuplicate when present
)

// UpsertOptions choose the mode; with Return the row comes back and Written.Created tells create from update.
type UpsertOptions struct {
	Mode   UpsertMode
	Return bool
}

// Upsert writes a row by key (usually an alternate key): PATCH <set>(<key>). Key columns are left out of
// the body, as Dataverse requires.
func (c *Client) Upsert(ctx context.Context, set string, key Key, rec Record, o *UpsertOptions) (Written, error) {
	if o == nil {
		o = &UpsertOptions{}
	}
	w, err := c.patch(ctx, set, key, rec, o.Mode, "", o.Return)
	if err != nil {
		return w, fmt.Errorf("upserting %s: %w", set, err)
	}
	return w, nil
}

func (c *Client) patch(ctx context.Context, set string, key Key, rec Record, mode UpsertMode, etag string, ret bool) (Written, error) {
	seg, err := key.segment(set)
	if err != nil {
		return Written{}, err
	}
	body := Record{}
	for k, v := range rec {
		if !key.has(k) {
			body[k] = v
		}
	}
	r := request{method: http.MethodPatch, path: seg, body: body, header: http.Header{}}
	switch {
	case etag != "":
		r.header.Set("If-Match", etag)
	case mode == UpdateOnly:
		r.header.Set("If-Match", "*")
	case mode == CreateOnly:
		r.header.Set("If-None-Match", "*")
	}
	if ret {
		r.header.Set("Prefer", "return=representation")
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return Written{}, err
	}
	return written(resp, resp.StatusCode == http.StatusCreated || mode == CreateOnly)
}

// DeleteOptions: with ETag the delete applies only if the row is unchanged.
type DeleteOptions struct {
	ETag string
}

// Delete removes a row: DELETE <set>(<key>).
func (c *Client) Delete(ctx context.Context, set string, key Key, o *DeleteOptions) error {
	seg, err := key.segment(set)
	if err != nil {
		return fmt.Errorf("deleting %s: %w", set, err)
	}
	r := request{method: http.MethodDelete, path: seg, header: http.Header{}}
	if o != nil && o.ETag != "" {
		r.header.Set("If-Match", o.ETag)
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return fmt.Errorf("deleting %s: %w", seg, err)
	}
	closeBody(resp)
	return nil
}

// ActionOptions bind an action to a table (Set) or to a row (Set and Key); neither means unbound.
type ActionOptions struct {
	Set string
	Key *Key
}

// Action calls an action: unbound (CancelSalesOrder) or bound, <set>/Microsoft.Dynamics.CRM.<name> (FulfillSalesOrder
// is bound to the salesorders collection).
// The response body, if any, is returned as a Record.
func (c *Client) Action(ctx context.Context, name string, params any, o *ActionOptions) (Record, error) {
	path := name
	if o != nil && o.Set != "" {
		prefix := o.Set
		if o.Key != nil {
			seg, err := o.Key.segment(o.Set)
			if err != nil {
				return nil, fmt.Errorf("calling %s: %w", name, err)
			}
			prefix = seg
		}
		path = prefix + "/Microsoft.Dynamics.CRM." + name
	}
	if params == nil {
		params = struct{}{}
	}
	resp, err := c.send(ctx, request{method: http.MethodPost, path: path, body: params})
	if err != nil {
		return nil, fmt.Errorf("calling %s: %w", name, err)
	}
	if resp.StatusCode == http.StatusNoContent {
		closeBody(resp)
		return nil, nil
	}
	var out Record
	if err := decodeJSON(resp, &out); err != nil {
		return nil, fmt.Errorf("calling %s: %w", name, err)
	}
	return out, nil
}
