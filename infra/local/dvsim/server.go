// Package dvsim simulates the Dataverse Web API (/api/data/v9.2/) with an Entra-like token endpoint, the
// service protection limits enforced per user, and fault injection, for tests, local runs and benchmarks.
//
// Endpoints:
//   - POST /{tenant}/oauth2/v2.0/token — client credentials (secret or certificate assertion);
//     GET /{tenant}/v2.0/.well-known/openid-configuration for MSAL; GET /msi/token, the App Service managed
//     identity endpoint (IDENTITY_ENDPOINT).
//   - /api/data/v9.2/ — salesorders, salesorderdetails, invoices, invoicedetails, accounts, products, pricelevels,
//     productpricelevels, uomschedules, uoms: create, retrieve, update/upsert by primary or alternate key (If-Match,
//     If-None-Match; alternate keys added with Options.ExtraKeys), delete, $select/$filter/$expand/$orderby/$top,
//     paging (odata.maxpagesize, @odata.nextLink), change tracking (odata.track-changes, $deltatoken,
//     $deletedEntity), $batch (atomic changesets), <set>/Microsoft.Dynamics.CRM.{Create,Update,Upsert}Multiple,
//     FulfillSalesOrder, CancelSalesOrder, WhoAmI; read-only sdkmessagefilters (which messages a table supports)
//     and organizations (the settings in Options). Invoices carry D365 Sales' pricing (line prices from the price
//     list, amounts and totals, pricing.go) and states (set by PATCH; paid and canceled invoices are read-only,
//     invoice.go); products and price list items the catalog rules (catalog.go).
//   - /_admin/ — POST faults, POST seed, POST expire-change-tokens, GET stats, GET rows/{set}/{id}.
//
// From Go: New or Start, Seed, Insert, Get, Find, Count, Delete, SetFaults, Stats, Writes, Version, ExpireChangeTokens.
package dvsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const apiPrefix = "/api/data/v9.2/"

// maxAltKeys is how many alternate keys a Dataverse table may have.
const maxAltKeys = 10

// Costs is the server execution time charged (and spent) per operation.
type Costs struct {
	Read  time.Duration // per read request (a page, a retrieve)
	Write time.Duration // per row created, updated, upserted or deleted, and per action
}

// Options configure a Server. Zero values mean the defaults noted.
type Options struct {
	Limits Limits // zero: RealLimits()
	Costs  Costs
	// Clients maps client id to secret. Empty: any client id with a non-empty secret or assertion is accepted.
	Clients map[string]string
	// TokenTTL is the lifetime of issued tokens (default 3599 s, as Entra ID).
	TokenTTL time.Duration
	// ChangeTokenTTL is how long a delta token stays valid (default 7 days, as Dataverse).
	ChangeTokenTTL time.Duration
	// ExtraColumns adds custom columns (e.g. a publisher-prefixed SAP number) by entity logical name.
	ExtraColumns map[string][]Column
	// ExtraKeys adds alternate keys by entity logical name, each a list of columns (standard ones or ExtraColumns),
	// as an org defines them (EntityDefinitions(...)/Keys): rows can then be addressed, upserted and bound by them,
	// and their values are unique. A table holds at most 10 alternate keys, as in Dataverse.
	ExtraKeys   map[string][][]string
	MaxPageSize int // default and upper bound of odata.maxpagesize (5000)
	MaxBulk     int // most targets in one bulk message (default 1000)
	// WebServers is how many web servers share the load (default 1). Each has its own limits per user; a
	// request carrying an ARRAffinity cookie goes to that server, the others are spread round-robin.
	WebServers int
	// CreateProductsWithoutParentInActiveState is the organization setting of that name: a product created through
	// the API without a parent family starts Active instead of Draft. False, as on a fresh Dynamics 365 Sales install
	// (orgs upgraded from older versions have true).
	CreateProductsWithoutParentInActiveState bool
	// PricingDecimalPrecision is organization.pricingdecimalprecision, the decimals kept on price columns such as
	// productpricelevel.amount: 1 to 4, zero meaning 2, the default of a new org.
	PricingDecimalPrecision int
	Now                     func() time.Time
	Logger                  *slog.Logger
}

// Server is the simulator; it is an http.Handler. Set BaseURL (SetBaseURL) once the listener is known.
type Server struct {
	opts    Options
	store   *store
	limits  *limiter
	faults  *faultState
	baseURL atomic.Value // string, e.g. http://127.0.0.1:1234

	next atomic.Int64 // round-robin over web servers

	tokMu  sync.Mutex
	tokens map[string]tokenInfo
	log    *slog.Logger
}

type tokenInfo struct {
	client string
	exp    time.Time
}

// New builds a simulator with the standard tables.
func New(opts Options) (*Server, error) {
	if opts.Limits == (Limits{}) {
		opts.Limits = RealLimits()
	}
	if opts.Limits.RetryAfterUnit <= 0 {
		opts.Limits.RetryAfterUnit = time.Second
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 3599 * time.Second
	}
	if opts.ChangeTokenTTL <= 0 {
		opts.ChangeTokenTTL = 7 * 24 * time.Hour
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 5000
	}
	if opts.MaxBulk <= 0 {
		opts.MaxBulk = 1000
	}
	if opts.WebServers <= 0 {
		opts.WebServers = 1
	}
	if opts.PricingDecimalPrecision == 0 {
		opts.PricingDecimalPrecision = 2
	}
	if opts.PricingDecimalPrecision < 0 || opts.PricingDecimalPrecision > 4 {
		return nil, fmt.Errorf("pricing decimal precision %d: want 1 to 4 (zero means 2)", opts.PricingDecimalPrecision)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	tables := StandardTables()
	known := map[string]bool{}
	for i := range tables {
		e := tables[i].Entity
		known[e] = true
		tables[i].Columns = append(tables[i].Columns, opts.ExtraColumns[e]...)
		tables[i].AltKeys = append(tables[i].AltKeys, opts.ExtraKeys[e]...)
		if len(tables[i].AltKeys) > maxAltKeys {
			return nil, fmt.Errorf("table %s: %d alternate keys, at most %d", e, len(tables[i].AltKeys), maxAltKeys)
		}
	}
	for e := range opts.ExtraKeys {
		if !known[e] {
			return nil, fmt.Errorf("alternate keys for %q: no such table", e)
		}
	}
	st, err := newStore(tables, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("building tables: %w", err)
	}
	s := &Server{opts: opts, store: st, limits: newLimiter(opts.Limits, opts.Now), faults: newFaultState(),
		tokens: map[string]tokenInfo{}, log: opts.Logger}
	s.baseURL.Store("http://localhost")
	return s, nil
}

// SetBaseURL sets the scheme://host[:port] the simulator names itself by (OData-EntityId, links).
func (s *Server) SetBaseURL(u string) { s.baseURL.Store(strings.TrimSuffix(u, "/")) }

func (s *Server) base() string { return s.baseURL.Load().(string) }

// SetFaults replaces the fault injection settings.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// Injected counts the faults injected so far by kind.
func (s *Server) Injected() map[string]int { return s.faults.counts() }

// Stats returns per-user counters (keyed by client id).
func (s *Server) Stats() map[string]UserStats { return s.limits.stats() }

// Version is the store's change counter: every write raises it, so a test can tell that a request wrote nothing.
func (s *Server) Version() int64 {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.version
}

// ExpireChangeTokens makes every delta token issued so far expired.
func (s *Server) ExpireChangeTokens() {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.minToken = s.store.version + 1
}

// response is what a handler produces; it is written to the wire or into a $batch part.
type response struct {
	status int
	header http.Header
	body   []byte
	ops    int // operations performed, for the execution time charge
	reads  int
}

func newResponse(status int) *response { return &response{status: status, header: http.Header{}} }

func jsonResponse(status int, v any) *response {
	r := newResponse(status)
	b, err := json.Marshal(v)
	if err != nil {
		return errorResponse(errf(500, "0x80040216", "encoding response: %v", err))
	}
	r.body = b
	r.header.Set("Content-Type", "application/json; odata.metadata=minimal")
	return r
}

func errorResponse(e *apiError) *response {
	r := jsonResponse(e.Status, map[string]any{"error": map[string]any{"code": e.Code, "message": e.Message}})
	r.status = e.Status
	return r
}

// ServeHTTP routes the token endpoint, the admin endpoints and the Web API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, apiPrefix):
		s.serveAPI(w, r)
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		s.serveToken(w, r)
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		s.serveOpenID(w, r)
	case r.URL.Path == "/msi/token":
		s.serveManagedIdentity(w, r)
	case strings.HasPrefix(r.URL.Path, "/_admin/"):
		s.serveAdmin(w, r)
	default:
		writeResponse(w, errorResponse(errf(404, "", "Resource not found for the segment '%s'.", r.URL.Path)))
	}
}

func writeResponse(w http.ResponseWriter, resp *response) {
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(resp.status)
	if len(resp.body) > 0 {
		_, _ = w.Write(resp.body)
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	plan := s.faults.plan(r.Method)
	if plan.latency > 0 {
		select {
		case <-time.After(plan.latency):
		case <-r.Context().Done():
			return
		}
	}
	switch plan.before {
	case "reset":
		panic(http.ErrAbortHandler)
	case "500":
		writeResponse(w, errorResponse(errf(500, "0x80040216", "An unexpected error occurred (injected).")))
		return
	case "503":
		resp := errorResponse(errf(503, "", "The service is temporarily unavailable (injected)."))
		resp.header.Set("Retry-After", formatRetryAfter(s.opts.Limits.RetryAfterUnit, s.opts.Limits.RetryAfterUnit))
		writeResponse(w, resp)
		return
	case "429":
		resp := errorResponse(errf(429, codeTooManyRequests, "Number of requests exceeded the limit (injected)."))
		resp.header.Set("Retry-After", formatRetryAfter(s.opts.Limits.RetryAfterUnit, s.opts.Limits.RetryAfterUnit))
		writeResponse(w, resp)
		return
	}

	user, aerr := s.authenticate(r)
	if aerr != nil {
		resp := errorResponse(aerr)
		resp.header.Set("WWW-Authenticate", `Bearer authorization_uri="`+s.base()+`/common/oauth2/authorize"`)
		writeResponse(w, resp)
		return
	}
	server := s.pickServer(r)
	th, hdr := s.limits.begin(user, server)
	if th != nil {
		s.log.InfoContext(r.Context(), "throttled", "user", user, "code", th.code, "retry_after", th.retryAfter.String())
		resp := errorResponse(errf(429, th.code, "%s", th.message))
		resp.header.Set("Retry-After", formatRetryAfter(th.retryAfter, s.opts.Limits.RetryAfterUnit))
		for k, v := range hdr {
			resp.header.Set(k, v)
		}
		writeResponse(w, resp)
		return
	}
	var resp *response
	var cost time.Duration
	defer func() { s.limits.end(user, server, cost, resp.opsCount()) }()

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
	if err != nil {
		resp = errorResponse(errf(400, codeInvalidArgument, "reading body: %v", err))
		writeResponse(w, resp)
		return
	}
	req := &apiRequest{method: r.Method, path: strings.TrimPrefix(r.URL.Path, apiPrefix), query: parseQuery(r.URL.RawQuery),
		header: r.Header, body: body}
	if req.path == "$batch" && r.Method == http.MethodPost {
		resp = s.serveBatch(r.Context(), req)
	} else {
		resp = s.handle(req, nil)
	}
	cost = time.Duration(resp.ops)*s.opts.Costs.Write + time.Duration(resp.reads)*s.opts.Costs.Read
	if cost > 0 {
		// The server is busy for the execution time it charges.
		t := time.NewTimer(cost)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	s.log.DebugContext(r.Context(), "request", "method", r.Method, "path", req.path, "status", resp.status, "user", user,
		"cost", cost.String())
	if plan.commitDrop {
		s.log.InfoContext(r.Context(), "fault: committed, dropping the response", "method", r.Method, "path", req.path)
		panic(http.ErrAbortHandler)
	}
	for k, v := range hdr {
		resp.header.Set(k, v)
	}
	// Dataverse sets a session-affinity cookie; clients are advised to drop it to spread over servers.
	resp.header.Add("Set-Cookie", "ARRAffinity=web-"+strconv.Itoa(server)+"; Path=/; HttpOnly")
	writeResponse(w, resp)
}

// parseQuery splits on "&" only: OData uses ";" inside $expand options, which url.ParseQuery rejects.
func parseQuery(raw string) url.Values {
	q := url.Values{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		ku, err1 := url.QueryUnescape(k)
		vu, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			continue
		}
		q.Add(ku, vu)
	}
	return q
}

// pickServer follows the ARRAffinity cookie when it names a server, and otherwise goes round-robin.
func (s *Server) pickServer(r *http.Request) int {
	if c, err := r.Cookie("ARRAffinity"); err == nil {
		if n, err := strconv.Atoi(strings.TrimPrefix(c.Value, "web-")); err == nil && n >= 0 && n < s.opts.WebServers {
			return n
		}
	}
	return int(s.next.Add(1)-1) % s.opts.WebServers
}

func (r *response) opsCount() int {
	if r == nil {
		return 0
	}
	return r.ops + r.reads
}

func (s *Server) authenticate(r *http.Request) (string, *apiError) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "", errf(401, "", "Bearer token is missing.")
	}
	s.tokMu.Lock()
	info, found := s.tokens[tok]
	s.tokMu.Unlock()
	if !found {
		return "", errf(401, "", "The access token is invalid.")
	}
	if !s.opts.Now().Before(info.exp) {
		return "", errf(401, "", "The access token has expired.")
	}
	return info.client, nil
}

type apiRequest struct {
	method string
	path   string
	query  url.Values
	header http.Header
	body   []byte
}

func (q *apiRequest) prefer(name string) (string, bool) {
	for _, h := range q.header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			p = strings.TrimSpace(p)
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(k, name) {
				return strings.Trim(v, `"`), true
			}
		}
	}
	return "", false
}

// handle serves one Web API operation. refs maps changeset Content-IDs to entity URLs.
func (s *Server) handle(req *apiRequest, refs map[string]string) *response {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	x := s.store.begin()
	resp := s.dispatch(x, req, refs)
	if resp.status >= 400 {
		x.rollback()
	}
	return resp
}

// dispatch serves one operation inside x; the store lock is held.
func (s *Server) dispatch(x *tx, req *apiRequest, refs map[string]string) *response {
	path := req.path
	if strings.HasPrefix(path, "$") && refs != nil {
		id, rest, _ := strings.Cut(path[1:], "/")
		if u, ok := refs[id]; ok {
			path = strings.TrimPrefix(u[strings.Index(u, apiPrefix)+len(apiPrefix):], "/")
			if rest != "" {
				path += "/" + rest
			}
		}
	}
	seg, rest, _ := strings.Cut(path, "/")
	if seg == "WhoAmI" || seg == "WhoAmI()" {
		return jsonResponse(200, map[string]any{"@odata.context": s.base() + apiPrefix + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
			"BusinessUnitId": "00000000-0000-0000-0000-0000000000b1", "UserId": "00000000-0000-0000-0000-0000000000a1",
			"OrganizationId": "00000000-0000-0000-0000-0000000000c1"})
	}
	name, keyText, hasKey := strings.Cut(seg, "(")
	if rest == "" {
		if resp, ok := s.systemRead(name, keyText, hasKey, req); ok {
			return resp
		}
	}
	td, ok := s.store.tables[name]
	if !ok {
		if req.method == http.MethodPost && !hasKey && rest == "" {
			return s.unboundAction(x, name, req)
		}
		return errorResponse(errf(404, "0x80060888", "Resource not found for the segment '%s'.", name))
	}
	if !hasKey {
		switch {
		case rest == "" && req.method == http.MethodGet:
			return s.list(td, req)
		case rest == "" && req.method == http.MethodPost:
			return s.createHandler(x, td, req, refs)
		case name == "salesorders" && rest == "Microsoft.Dynamics.CRM.FulfillSalesOrder" && req.method == http.MethodPost:
			return s.closeOrder(x, "FulfillSalesOrder", req)
		case strings.HasPrefix(rest, "Microsoft.Dynamics.CRM.") && req.method == http.MethodPost:
			return s.bulk(x, td, strings.TrimPrefix(rest, "Microsoft.Dynamics.CRM."), req)
		}
		return errorResponse(errf(405, "", "Method %s is not allowed on %s.", req.method, name))
	}
	k, kerr := parseKey(strings.TrimSuffix(keyText, ")"))
	if kerr != nil {
		return errorResponse(kerr)
	}
	if rest != "" {
		return errorResponse(errf(404, "", "Resource not found for the segment '%s'.", rest))
	}
	switch req.method {
	case http.MethodGet:
		return s.retrieve(td, k, req)
	case http.MethodPatch:
		return s.patch(x, td, k, req, refs)
	case http.MethodDelete:
		return s.deleteHandler(x, td, k, req)
	}
	return errorResponse(errf(405, "", "Method %s is not allowed.", req.method))
}

func decodeBody(b []byte) (map[string]any, *apiError) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, errf(400, codeInvalidArgument, "Error parsing the request body: %v", err)
	}
	return m, nil
}

func (s *Server) entityURL(td *tableData, id string) string {
	return s.base() + apiPrefix + td.def.Set + "(" + id + ")"
}

func (s *Server) createHandler(x *tx, td *tableData, req *apiRequest, refs map[string]string) *response {
	body, err := decodeBody(req.body)
	if err != nil {
		return errorResponse(err)
	}
	r, ops, err := s.create(x, td, body, refs)
	if err != nil {
		return errorResponse(err)
	}
	return s.writeResult(td, r, req, 201, ops)
}

// writeResult answers a create or an update: 204 with OData-EntityId, or the row with return=representation.
func (s *Server) writeResult(td *tableData, r *row, req *apiRequest, repStatus, ops int) *response {
	var resp *response
	if v, ok := req.prefer("return"); ok && v == "representation" {
		q, err := s.parseQueryOpts(td.def, req.query.Get)
		if err != nil {
			return errorResponse(err)
		}
		out := s.render(td, r, q)
		out["@odata.context"] = s.base() + apiPrefix + "$metadata#" + td.def.Set + "/$entity"
		resp = jsonResponse(repStatus, out)
		resp.header.Set("Preference-Applied", "return=representation")
	} else {
		resp = newResponse(204)
	}
	resp.header.Set("OData-EntityId", s.entityURL(td, r.id))
	resp.header.Set("Location", s.entityURL(td, r.id))
	resp.header.Set("ETag", etag(r.version))
	resp.ops = ops
	return resp
}

func (s *Server) retrieve(td *tableData, k keySpec, req *apiRequest) *response {
	id, err := td.find(k)
	if err != nil {
		return errorResponse(err)
	}
	if id == "" {
		return errorResponse(td.notFound(k, codeNotFound))
	}
	r := td.rows[id]
	if inm := req.header.Get("If-None-Match"); inm != "" && inm == etag(r.version) {
		resp := newResponse(304)
		resp.reads = 1
		return resp
	}
	q, err := s.parseQueryOpts(td.def, req.query.Get)
	if err != nil {
		return errorResponse(err)
	}
	out := s.render(td, r, q)
	out["@odata.context"] = s.base() + apiPrefix + "$metadata#" + td.def.Set + "/$entity"
	resp := jsonResponse(200, out)
	resp.header.Set("ETag", etag(r.version))
	resp.reads = 1
	return resp
}

func (s *Server) patch(x *tx, td *tableData, k keySpec, req *apiRequest, refs map[string]string) *response {
	body, err := decodeBody(req.body)
	if err != nil {
		return errorResponse(err)
	}
	cond, want := condNone, ""
	switch im := req.header.Get("If-Match"); {
	case im == "*":
		cond = condUpdateOnly
	case im != "":
		cond, want = condETag, im
	case req.header.Get("If-None-Match") == "*":
		cond = condCreateOnly
	}
	r, created, err := s.upsert(x, td, k, cond, want, body, refs)
	if err != nil {
		return errorResponse(err)
	}
	status := 200
	if created {
		status = 201
	}
	return s.writeResult(td, r, req, status, 1)
}

func (s *Server) deleteHandler(x *tx, td *tableData, k keySpec, req *apiRequest) *response {
	id, err := td.find(k)
	if err != nil {
		return errorResponse(err)
	}
	if id == "" {
		return errorResponse(td.notFound(k, codeNotFound))
	}
	if im := req.header.Get("If-Match"); im != "" && im != "*" && im != etag(td.rows[id].version) {
		return errorResponse(errf(412, "", "The version of the existing record doesn't match the RowVersion property provided."))
	}
	if err := s.beforeDelete(td, td.rows[id]); err != nil {
		return errorResponse(err)
	}
	// Deleting an order or an invoice deletes its lines, as the parental relationship does.
	for _, c := range td.def.Collections {
		child := s.store.tables[c.Set]
		for cid, cr := range child.rows {
			if cr.values[c.ForeignKey] == id {
				s.store.remove(x, child, cid)
			}
		}
	}
	removed := td.rows[id]
	s.store.remove(x, td, id)
	s.afterDelete(x, td, removed)
	resp := newResponse(204)
	resp.ops = 1
	return resp
}

// sortedRows returns the rows in primary key order, or by the $orderby keys.
// candidates are the rows a filter may match: of the filter's sets on an indexed column (the primary key, a
// one-column alternate key, a lookup), the rows of the one that selects fewest; without one, every row.
func candidates(td *tableData, cands []*expr) []*row {
	// Sized first, read once: a lookup to a price list or a unit group holds every row of a large table, and
	// reading it for each query only to find a smaller set beside it made a large catalogue quadratic.
	var best *expr
	bestSize := 0
	for _, c := range cands {
		if n, ok := td.keySetSize(c); ok && (best == nil || n < bestSize) {
			best, bestSize = c, n
		}
	}
	if best != nil {
		rows, _ := td.byKeySet(best)
		return rows
	}
	rows := make([]*row, 0, len(td.rows))
	for _, r := range td.rows {
		rows = append(rows, r)
	}
	return rows
}

// keySetSize is at most how many rows byKeySet reads for cand, without reading them; ok as byKeySet's.
func (td *tableData) keySetSize(cand *expr) (int, bool) {
	alt, lookup := td.indexOf(cand.col)
	if cand.col != td.def.Key && alt < 0 && !lookup {
		return 0, false
	}
	n := 0
	for _, v := range cand.vals {
		s, ok := v.(string)
		if !ok {
			return 0, false
		}
		if lookup && alt < 0 {
			n += len(td.refIndex[cand.col][strings.ToLower(s)])
		} else {
			n++
		}
	}
	return n, true
}

// indexOf says which index serves col: the number of its one-column alternate key (-1 for none), and whether it
// is a lookup.
func (td *tableData) indexOf(col string) (alt int, lookup bool) {
	alt = -1
	if col == td.def.Key {
		return alt, false
	}
	for k, cols := range td.def.AltKeys {
		if len(cols) == 1 && cols[0] == col {
			alt = k
		}
	}
	if c, ok := td.def.column(col); ok && len(c.Targets) > 0 {
		lookup = true
	}
	return alt, lookup
}

// byKeySet reads the rows whose indexed column holds one of cand's values; ok is false when the column has no
// index or a value is not text.
func (td *tableData) byKeySet(cand *expr) ([]*row, bool) {
	alt, lookup := td.indexOf(cand.col)
	if cand.col != td.def.Key && alt < 0 && !lookup {
		return nil, false
	}
	var ids []string
	for _, v := range cand.vals {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		s = strings.ToLower(s)
		switch {
		case alt >= 0:
			if id, ok := td.altIndex[alt][s]; ok {
				ids = append(ids, id)
			}
		case lookup:
			for id := range td.refIndex[cand.col][s] {
				ids = append(ids, id)
			}
		default:
			ids = append(ids, s)
		}
	}
	rows := make([]*row, 0, len(ids))
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if r, ok := td.rows[id]; ok && !seen[id] {
			seen[id] = true
			rows = append(rows, r)
		}
	}
	return rows, true
}

func sortedRows(td *tableData, order []orderKey) []*row {
	rows := make([]*row, 0, len(td.rows))
	for _, r := range td.rows {
		rows = append(rows, r)
	}
	sortRows(rows, order)
	return rows
}

// sortRows orders rows by the $orderby keys, then by primary key.
func sortRows(rows []*row, order []orderKey) {
	sort.Slice(rows, func(i, j int) bool {
		for _, o := range order {
			c, _ := compareValues(rows[i].values[o.col], rows[j].values[o.col])
			if c != 0 {
				return (c < 0) != o.desc
			}
		}
		return rows[i].id < rows[j].id
	})
}

func (s *Server) pageSize(req *apiRequest) int {
	n := s.opts.MaxPageSize
	if v, ok := req.prefer("odata.maxpagesize"); ok {
		if m, err := strconv.Atoi(v); err == nil && m > 0 && m < n {
			n = m
		}
	}
	return n
}

func (s *Server) list(td *tableData, req *apiRequest) *response {
	_, tracking := req.prefer("odata.track-changes")
	delta := req.query.Get("$deltatoken")
	if tracking || delta != "" {
		for _, p := range []string{"$filter", "$orderby", "$expand", "$top"} {
			if req.query.Get(p) != "" {
				return errorResponse(errf(400, codeInvalidArgument, "The query parameter %s is not supported with change tracking.", p))
			}
		}
	}
	if delta != "" {
		return s.deltaRead(td, req, delta)
	}
	q, err := s.parseQueryOpts(td.def, req.query.Get)
	if err != nil {
		return errorResponse(err)
	}
	var matched []*row
	for _, r := range candidates(td, q.cands) {
		if q.filter == nil || q.filter(r.values) {
			matched = append(matched, r)
		}
	}
	sortRows(matched, q.orderBy)
	if q.top > 0 && len(matched) > q.top {
		matched = matched[:q.top]
	}
	offset := 0
	if st := req.query.Get("$skiptoken"); st != "" {
		n, perr := strconv.Atoi(strings.TrimPrefix(st, "sim-page-"))
		if perr != nil || n < 0 {
			return errorResponse(errf(400, codeInvalidArgument, "Invalid $skiptoken."))
		}
		offset = min(n, len(matched))
	}
	size := s.pageSize(req)
	end := min(offset+size, len(matched))
	items := make([]map[string]any, 0, end-offset)
	for _, r := range matched[offset:end] {
		items = append(items, s.render(td, r, q))
	}
	out := map[string]any{"@odata.context": s.base() + apiPrefix + "$metadata#" + td.def.Set, "value": items}
	if end < len(matched) {
		next := cloneValues(req.query)
		next.Set("$skiptoken", "sim-page-"+strconv.Itoa(end))
		out["@odata.nextLink"] = s.base() + apiPrefix + td.def.Set + "?" + next.Encode()
	} else if tracking {
		out["@odata.deltaLink"] = s.deltaLink(td, req.query)
	}
	resp := jsonResponse(200, out)
	if _, ok := req.prefer("odata.maxpagesize"); ok {
		resp.header.Add("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(size))
	}
	if tracking {
		resp.header.Add("Preference-Applied", "odata.track-changes")
	}
	resp.reads = 1
	return resp
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (s *Server) deltaLink(td *tableData, q url.Values) string {
	next := url.Values{}
	if sel := q.Get("$select"); sel != "" {
		next.Set("$select", sel)
	}
	next.Set("$deltatoken", fmt.Sprintf("%d!%d", s.store.version, s.opts.Now().Unix()))
	return s.base() + apiPrefix + td.def.Set + "?" + next.Encode()
}

func (s *Server) deltaRead(td *tableData, req *apiRequest, token string) *response {
	vs, ts, ok := strings.Cut(token, "!")
	since, err1 := strconv.ParseInt(vs, 10, 64)
	issued, err2 := strconv.ParseInt(ts, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return errorResponse(errf(400, codeInvalidArgument, "Invalid $deltatoken."))
	}
	if since < s.store.minToken || s.opts.Now().Sub(time.Unix(issued, 0)) > s.opts.ChangeTokenTTL {
		return errorResponse(errf(400, codeExpiredVersion, "Version stamp associated with the client has expired. Please perform a full sync."))
	}
	q, err := s.parseQueryOpts(td.def, req.query.Get)
	if err != nil {
		return errorResponse(err)
	}
	items := []map[string]any{}
	for _, r := range sortedRows(td, nil) {
		if r.version > since {
			items = append(items, s.render(td, r, q))
		}
	}
	ids := make([]string, 0)
	for id, v := range td.tombstones {
		if v > since {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		items = append(items, map[string]any{"@odata.context": s.base() + apiPrefix + "$metadata#" + td.def.Set + "/$deletedEntity",
			"id": id, "reason": "deleted"})
	}
	out := map[string]any{"@odata.context": s.base() + apiPrefix + "$metadata#" + td.def.Set + "/$delta", "value": items,
		"@odata.deltaLink": s.deltaLink(td, req.query)}
	resp := jsonResponse(200, out)
	resp.reads = 1
	return resp
}

// unboundAction serves the unbound actions: CancelSalesOrder. FulfillSalesOrder is bound to the salesorders
// collection (salesorders/Microsoft.Dynamics.CRM.FulfillSalesOrder), so its unbound form is not found, as in
// Dataverse.
func (s *Server) unboundAction(x *tx, name string, req *apiRequest) *response {
	if name == "CancelSalesOrder" {
		return s.closeOrder(x, name, req)
	}
	return errorResponse(errf(404, "0x80060888", "Resource not found for the segment '%s'.", name))
}

// ---- token endpoint ----

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	tokenErr := func(status int, code string, n int, desc string) {
		writeJSON(w, status, map[string]any{"error": code, "error_description": fmt.Sprintf("AADSTS%d: %s", n, desc),
			"error_codes": []int{n}, "timestamp": s.opts.Now().UTC().Format("2006-01-02 15:04:05Z"),
			"trace_id": newGUID(), "correlation_id": newGUID()})
	}
	if r.Method != http.MethodPost {
		tokenErr(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenErr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		tokenErr(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
		return
	}
	client := f.Get("client_id")
	if client == "" {
		tokenErr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	// MSAL adds "openid offline_access profile"; one scope must be a resource's /.default.
	hasDefault := false
	for _, sc := range strings.Fields(f.Get("scope")) {
		hasDefault = hasDefault || strings.HasSuffix(sc, "/.default")
	}
	if !hasDefault {
		tokenErr(400, "invalid_scope", 70011, fmt.Sprintf("The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", f.Get("scope")))
		return
	}
	secret, assertion := f.Get("client_secret"), f.Get("client_assertion")
	want, known := s.opts.Clients[client]
	switch {
	case assertion != "" && f.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
		// Certificate credentials: the signed assertion is accepted without verifying the signature.
	case secret == "":
		tokenErr(401, "invalid_client", 7000216, "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")
		return
	case len(s.opts.Clients) > 0 && (!known || want != secret):
		tokenErr(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	tok := strings.ReplaceAll(newGUID()+newGUID(), "-", "")
	s.tokMu.Lock()
	s.tokens[tok] = tokenInfo{client: client, exp: s.opts.Now().Add(s.opts.TokenTTL)}
	s.tokMu.Unlock()
	ttl := int(s.opts.TokenTTL.Seconds())
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": tok})
}

// serveManagedIdentity is the App Service managed identity endpoint (IDENTITY_ENDPOINT, api-version
// 2019-08-01): GET ?resource=...&client_id=... with the X-IDENTITY-HEADER secret.
func (s *Server) serveManagedIdentity(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-IDENTITY-HEADER") == "" {
		writeJSON(w, 401, map[string]any{"error": "invalid_request", "error_description": "X-IDENTITY-HEADER is missing"})
		return
	}
	q := r.URL.Query()
	if q.Get("resource") == "" {
		writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": "resource is required"})
		return
	}
	client := q.Get("client_id")
	if client == "" {
		client = "managed-identity"
	}
	tok := s.IssueToken(client)
	exp := s.opts.Now().Add(s.opts.TokenTTL)
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_on": strconv.FormatInt(exp.Unix(), 10),
		"resource": q.Get("resource"), "token_type": "Bearer", "client_id": client})
}

func (s *Server) serveOpenID(w http.ResponseWriter, r *http.Request) {
	tenant := strings.TrimPrefix(strings.TrimSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"), "/")
	b := s.base() + "/" + tenant
	writeJSON(w, 200, map[string]any{
		"token_endpoint": b + "/oauth2/v2.0/token", "authorization_endpoint": b + "/oauth2/v2.0/authorize",
		"issuer": b + "/v2.0", "jwks_uri": b + "/discovery/v2.0/keys", "response_types_supported": []string{"code", "token"},
		"tenant_region_scope": "WW"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// IssueToken returns a valid bearer token for client, for tests that call the API directly.
func (s *Server) IssueToken(client string) string {
	tok := strings.ReplaceAll(newGUID(), "-", "")
	s.tokMu.Lock()
	defer s.tokMu.Unlock()
	s.tokens[tok] = tokenInfo{client: client, exp: s.opts.Now().Add(s.opts.TokenTTL)}
	return tok
}

// Shutdown has nothing to release; it exists so commands can treat the simulator like other servers.
func (s *Server) Shutdown(context.Context) error { return nil }
