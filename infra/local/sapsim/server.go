// Package sapsim simulates the SAP S/4HANA OData V2 services the integration uses, at SAP's own paths
// (/sap/opu/odata/sap/API_SALES_ORDER_SRV/... and the others), as strictly as SAP: Basic auth (or OAuth bearer
// tokens it issues itself), CSRF token and session cookie on every write with expiry, payload validation against
// the EDMX facts, server paging with __next/$skiptoken, ETags with If-Match, SAP-shaped errors, and fault injection.
//
// Master data (products with their units of measure, plants, stock, prices, customers) is generated from a seed on
// demand, so a million products cost no memory; sales orders (with header texts and custom YY1_*_SDH fields, see
// Options.ExtensionFields and Options.TextIDs), partner changes and fulfilled documents are kept in memory.
// Options.StockVariety and Options.PriceVariety make the generated stock and prices as untidy as a real system's.
//
// Master data changes (only the changed rows are kept): Server.ChangeProduct (texts, base unit, deletion flag),
// Server.SetStock and Server.RemoveStock, Server.AddCondition, Server.ChangeCondition and Server.DeleteCondition.
// Each is stamped with the clock (Options.Now; Clock is one a test moves) and served by every read;
// ChangeOptions.CommitDelay makes it visible only later, with its earlier stamp, as SAP's late commits do.
//
// $metadata: when Options.EDMXDir holds <SERVICE>.edmx (SAP's own download) it is served as is, with the extension
// fields added to A_SalesOrderType; otherwise the simulator writes a minimal EDMX from its own tables.
//
// Faults (Server.SetFaults, PUT /sapsim/faults; see Faults for the JSON names):
//   - latency: LatencyMin..LatencyMax on every request, SlowRate/SlowLatency for a long tail;
//   - polite failures before anything runs: 500, 503 (HTML, with Retry-After), 429 (with Retry-After), by rate or
//     Fail...Next, Down for a system in maintenance, and connection resets (ResetRate, ResetNext);
//   - ExpireCSRFNextWrite: the next writes meet "403 X-CSRF-Token: Required";
//   - DropCreate (rate/next): the create commits, then the connection is reset without an answer;
//   - CommitThenGateway (rate/next, GatewayStatus 502 or 504): the create commits, then the client gets a
//     gateway's HTML error page, as from an SAP Web Dispatcher or an Azure Application Gateway in front of SAP;
//   - SlowCommit (rate/next, SlowCommitDelay): the create commits only after the delay, even if the client has
//     left meanwhile; Server.Quiesce waits for such commits;
//   - SearchLag: committed orders stay invisible to every read for that long; BillingReadLag does the same for
//     new billing documents, so the document of a BillingDocument.Created event may answer 404 for a while;
//   - HandEnteredSamePO (rate/next): after a create, a clerk enters another order with the same customer
//     reference and sold-to party.
//
// Services, WritesOnly and ReadsOnly scope the request faults; the create faults apply to sales order creates
// outside $batch and honour Services only.
//
// The order lifecycle raises business events (Options.Events; Publisher delivers them with a broker's
// duplicates, reordering and delays): Server.Deliver, Server.PostGoodsIssue, Server.Reject, and billing
// (billing.go, invoicing.go, corrections.go): Server.Bill (an order's deliveries), Server.BillDelivery (one
// delivery: partial billing), Server.BillWithType (any type, e.g. F8 pro forma, category U), Server.CreditMemo
// (G2, O), Server.DebitMemo (L2, P), Server.CancelBilling (S1/N or S2/S; Options.BillingCancelRaisesChanged),
// Server.ReviseBilling (an item's net, BillingDocument.Changed) and Server.ClearBilling (InvoiceClearingStatus,
// no event). Billing items copy the order item's pricing (A_BillingDocumentItemPrcgElmnt: PPR0 price per
// condition quantity, K007/DRV1 percentage discounts added with AddCondition, TTX1 19 % tax), each amount rounded
// to the cent; A_BillingDocument filters, sorts and pages on LastChangeDateTime, and expands
// to_Item/to_PricingElement. Every billing document is in its order's to_SubsequentProcFlowDoc.
//
// Driving it from tests: Server.SetFaults, Server.ExpireCSRFTokens, Server.Fulfil (delivery and billing for an
// order), Server.EnterOrder (an order entered by hand), Server.Orders (every stored order with its references,
// hand-entered or not), Server.Quiesce, Server.Stats. The same over HTTP: GET/PUT /sapsim/faults,
// POST /sapsim/csrf/expire, POST /sapsim/salesorders/{id}/fulfil, GET and POST /sapsim/salesorders,
// GET /sapsim/stats. Data: ProductID(i) and CustomerID(i) name the generated rows; customer "99999999" does not
// exist (V1/320 on create) and CustomerID(BlockedCustomerIndex) has an order block (V1/458); every product can be
// ordered in its base unit, EA and BOX (see units.go).
package sapsim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// ServicePrefix is the root of SAP Gateway OData services.
const ServicePrefix = "/sap/opu/odata/sap/"

// Options configures a Server. The zero value is usable (no auth check, small data set).
type Options struct {
	// Username and Password are checked with Basic auth when Username is set.
	Username, Password string
	// OAuthClientID and OAuthClientSecret enable POST /oauth/token (client credentials) and Bearer tokens.
	OAuthClientID, OAuthClientSecret string
	// OAuthTokenTTL is the lifetime of issued access tokens (default 1h).
	OAuthTokenTTL time.Duration
	// SAPClient, when set, is the only sap-client accepted (requests without one use it).
	SAPClient string
	// SystemID names the session cookies (SAP_SESSIONID_<SID>_<client>); default "SIM".
	SystemID string
	// CSRFTokenTTL is how long a CSRF token stays valid (default 30m, like a Gateway session).
	CSRFTokenTTL time.Duration
	// PageSize is the server page size: a read returns at most this many rows and a __next link (default 1000).
	PageSize int

	// Seed makes the generated data reproducible.
	Seed uint64
	// Products is the number of generated products (default 1000); stock has one row per product and plant.
	Products int
	// Plants are the plants of stock and availability (default 1010, 1020).
	Plants []string
	// Customers is the number of generated customers/business partners (default 50).
	Customers int
	// Deliveries and BillingDocuments are the numbers of generated documents (default 20 each).
	Deliveries, BillingDocuments int
	// StockVariety gives every product, in every plant, the buckets a real plant has besides one of unrestricted
	// stock in storage location 101A: stock in quality inspection ("02") and blocked ("07") there, unrestricted
	// stock in a second storage location 102A, and sales order stock (special stock "E") in 102A. Only the first
	// and the fourth are free to sell. Off: one unrestricted row per product and plant.
	StockVariety bool
	// PriceVariety makes some generated price conditions awkward (per 100 units, another currency, a
	// percentage, validities starting tomorrow or ended yesterday, a customer-specific price too).
	PriceVariety PriceVariety
	// ClassicPricing generates PR00 conditions in tables 004/005, as ECC and older S/4HANA systems have, instead
	// of PPR0 in 304/305.
	ClassicPricing bool

	// ExtensionFields are the custom header fields of A_SalesOrder (name → MaxLength), as the Custom Fields app
	// publishes them to API_SALES_ORDER_SRV: YY1_<Name>_SDH, Edm.String, creatable, updatable and filterable. Nil
	// means {DefaultExtensionField: 36}; an empty map means the landscape has none.
	ExtensionFields map[string]int
	// ExtensionUpperCase stores extension values upper-cased, as a field whose domain does not allow lower case
	// (sap:display-format="UpperCase") does; filters still compare exactly what they are given.
	ExtensionUpperCase bool

	// TextIDs are the header text IDs (LongTextID of A_SalesOrderText) the text procedure allows; default
	// DefaultTextIDs. A create with any other is refused with a 400.
	TextIDs []string

	// EDMXDir, when it holds <SERVICE>.edmx, is where $metadata is served from.
	EDMXDir string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Faults are active from the start.
	Faults Faults
	// Logger gets one line per fault injected (default: discard).
	Logger *slog.Logger
	// Events, when set, receives the business events the simulator raises as its orders move on (Deliver,
	// PostGoodsIssue, Reject and the billing lifecycle: Bill, BillDelivery, BillWithType, CreditMemo, DebitMemo,
	// CancelBilling, ReviseBilling), called after the change committed; see events.go for a publisher that
	// delivers them with Event Mesh's faults.
	Events func(Event)
	// BillingCancelRaisesChanged makes CancelBilling raise BillingDocument.Changed for the cancelled original,
	// besides BillingDocument.Created for the cancellation. Whether S/4HANA does is UNVERIFIED; default off.
	BillingCancelRaisesChanged bool
}

// Server is the simulator: an http.Handler. Create it with New.
type Server struct {
	opts    Options
	log     *slog.Logger
	gen     *generator
	mux     *http.ServeMux
	mu      sync.Mutex
	faults  Faults
	rng     *mrand.Rand
	session map[string]*csrfSession // session id → token
	tokens  map[string]time.Time    // OAuth access token → expiry
	store   *store
	stats   Stats

	extFields map[string]int // the extension fields of A_SalesOrder
	soType    *entityType    // A_SalesOrderType with them
	textIDs   []string
	pending   pendingCommits
	master    *master // changed products, stock and prices
	sorts     sortCache
}

// Stats counts what the simulator saw.
type Stats struct {
	Requests       int `json:"requests"`
	CSRFFetches    int `json:"csrfFetches"`
	CSRFRejections int `json:"csrfRejections"`
	FaultsInjected int `json:"faultsInjected"`
	SalesOrders    int `json:"salesOrders"`
	DroppedCreates int `json:"droppedCreates"`
	AuthFailures   int `json:"authFailures"`
	// ReadsMissingLagged counts sales order reads that left out at least one order still within SearchLag.
	ReadsMissingLagged int `json:"readsMissingLagged"`
	// BillingReadsMissingLagged counts billing document reads that left out at least one document still within
	// BillingReadLag.
	BillingReadsMissingLagged int `json:"billingReadsMissingLagged"`
	// CommitThenGateway counts creates committed and answered with a gateway error page.
	CommitThenGateway int `json:"commitThenGateway"`
	// SlowCommits counts creates that waited SlowCommitDelay; CommitsAfterDisconnect those of them whose client
	// had left when they committed.
	SlowCommits            int `json:"slowCommits"`
	CommitsAfterDisconnect int `json:"commitsAfterDisconnect"`
	// HandEntered counts orders entered by hand (EnterOrder, POST /sapsim/salesorders, HandEnteredSamePO), and
	// HandEnteredSamePO those the fault entered after an API create.
	HandEntered       int `json:"handEntered"`
	HandEnteredSamePO int `json:"handEnteredSamePO"`
}

// New builds a simulator.
func New(opts Options) *Server {
	if opts.SystemID == "" {
		opts.SystemID = "SIM"
	}
	if opts.CSRFTokenTTL <= 0 {
		opts.CSRFTokenTTL = 30 * time.Minute
	}
	if opts.OAuthTokenTTL <= 0 {
		opts.OAuthTokenTTL = time.Hour
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 1000
	}
	if opts.Products <= 0 {
		opts.Products = 1000
	}
	if len(opts.Plants) == 0 {
		opts.Plants = []string{"1010", "1020"}
	}
	if opts.Customers <= 0 {
		opts.Customers = 50
	}
	if opts.Deliveries <= 0 {
		opts.Deliveries = 20
	}
	if opts.BillingDocuments <= 0 {
		opts.BillingDocuments = 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:    opts,
		log:     logger,
		faults:  opts.Faults,
		rng:     mrand.New(mrand.NewPCG(opts.Seed, 0x5a9)),
		session: map[string]*csrfSession{},
		tokens:  map[string]time.Time{},
	}
	s.extFields = extensionFields(opts.ExtensionFields)
	s.soType = salesOrderTypeWith(s.extFields)
	s.textIDs = slices.Clone(opts.TextIDs)
	if len(s.textIDs) == 0 {
		s.textIDs = DefaultTextIDs
	}
	s.gen = newGenerator(opts)
	s.store = newStore()
	s.master = newMaster()
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /sapsim/faults", s.getFaults)
	s.mux.HandleFunc("PUT /sapsim/faults", s.putFaults)
	s.mux.HandleFunc("POST /sapsim/csrf/expire", func(w http.ResponseWriter, _ *http.Request) {
		s.ExpireCSRFTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc("GET /sapsim/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	s.mux.HandleFunc("GET /sapsim/salesorders", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Orders())
	})
	s.mux.HandleFunc("POST /sapsim/salesorders", s.postOrder)
	s.mux.HandleFunc("POST /sapsim/salesorders/{id}/fulfil", func(w http.ResponseWriter, r *http.Request) {
		d, b, err := s.Fulfil(r.PathValue("id"))
		if err != nil {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"deliveryDocument": d, "billingDocument": b})
	})
	s.mux.HandleFunc("POST /oauth/token", s.oauthToken)
	s.mux.HandleFunc(ServicePrefix, s.odata)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetFaults replaces the active faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the active faults (counters show what is left).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// ExpireCSRFTokens invalidates every CSRF token and session, as a Gateway session timeout does.
func (s *Server) ExpireCSRFTokens() {
	s.mu.Lock()
	s.session = map[string]*csrfSession{}
	s.mu.Unlock()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.SalesOrders = s.store.count()
	return st
}

func (s *Server) getFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) putFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if err := f.validate(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	s.SetFaults(f)
	writeJSON(w, http.StatusOK, f)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// odata is the entry point of every service request.
func (s *Server) odata(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, ServicePrefix)
	svcSeg, resource, _ := strings.Cut(rest, "/")
	service, _, _ := strings.Cut(svcSeg, ";")
	write := isWrite(r.Method)

	s.mu.Lock()
	s.stats.Requests++
	action, delay := s.faults.pick(s.rng, service, write)
	retryAfter := s.faults.RetryAfterSeconds
	if action != faultNone {
		s.stats.FaultsInjected++
	}
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch action {
	case faultReset:
		s.log.Info("fault: connection reset", "path", r.URL.Path)
		resetConnection(w)
		return
	case fault500:
		writeError(w, http.StatusInternalServerError, sapError{code: "/IWBEP/CM_MGW_RT/000", msg: "Internal server error (injected)", service: service})
		return
	case fault503:
		if retryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(retryAfter))
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("<html><body>Service Unavailable</body></html>"))
		return
	case fault429:
		if retryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(retryAfter))
		}
		writeError(w, http.StatusTooManyRequests, sapError{code: "/IWFND/CM_BEC/026", msg: "Too many requests (injected)", service: service})
		return
	}

	if !s.authorised(r) {
		s.mu.Lock()
		s.stats.AuthFailures++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="SAP NetWeaver Application Server [`+s.opts.SystemID+`/`+s.client()+`]"`)
		http.Error(w, "Logon failed", http.StatusUnauthorized)
		return
	}
	if c := r.URL.Query().Get("sap-client"); c != "" && s.opts.SAPClient != "" && c != s.opts.SAPClient {
		http.Error(w, "Logon failed: client "+c+" does not exist", http.StatusUnauthorized)
		return
	}
	svc, ok := services[service]
	if !ok {
		writeError(w, http.StatusNotFound, sapError{code: "/IWFND/MED/170",
			msg: fmt.Sprintf("No service found for namespace '/SAP/', name '%s', version '0001'", service), service: service})
		return
	}
	if write {
		if !s.checkCSRF(w, r) {
			return
		}
	} else if strings.EqualFold(r.Header.Get("X-CSRF-Token"), "Fetch") {
		s.issueCSRF(w, r)
	}
	w.Header().Set("dataserviceversion", "2.0")
	h := &handler{s: s, svc: svc, service: service, root: baseURL(r) + ServicePrefix + svcSeg}
	h.serve(w, r, resource)
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
