package sapsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"time"
)

// Duration is a time.Duration that reads and writes JSON as a Go duration string ("150ms").
type Duration time.Duration

// MarshalJSON writes "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1.5s" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("decoding duration: %w", err)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("decoding duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// Faults makes the simulator misbehave the way SAP and the network do. Rates are probabilities per request (0..1);
// the ...Next counters hit exactly the next N matching requests, for deterministic tests. Set them with
// Server.SetFaults or PUT /sapsim/faults (the same JSON).
//
// The create faults (DropCreate, CommitThenGateway, SlowCommit, HandEnteredSamePO) apply to sales order creates
// outside $batch and honour Services but not WritesOnly/ReadsOnly; they are counted in their own Stats fields.
type Faults struct {
	// LatencyMin..LatencyMax is a uniform delay added to every OData request.
	LatencyMin Duration `json:"latencyMin,omitempty"`
	LatencyMax Duration `json:"latencyMax,omitempty"`
	// SlowRate of requests get SlowLatency on top: the long tail of a busy system.
	SlowRate    float64  `json:"slowRate,omitempty"`
	SlowLatency Duration `json:"slowLatency,omitempty"`

	Error500Rate float64 `json:"error500Rate,omitempty"`
	Error503Rate float64 `json:"error503Rate,omitempty"`
	Error429Rate float64 `json:"error429Rate,omitempty"`
	// RetryAfterSeconds goes with 429 and 503 answers (0: no header).
	RetryAfterSeconds int `json:"retryAfterSeconds,omitempty"`
	// ResetRate closes the connection with a TCP reset instead of answering.
	ResetRate float64 `json:"resetRate,omitempty"`
	// DropCreateRate commits a create (POST of an entity) and then drops the connection without an answer.
	DropCreateRate float64 `json:"dropCreateRate,omitempty"`

	Fail500Next         int `json:"fail500Next,omitempty"`
	Fail503Next         int `json:"fail503Next,omitempty"`
	Fail429Next         int `json:"fail429Next,omitempty"`
	ResetNext           int `json:"resetNext,omitempty"`
	DropCreateNext      int `json:"dropCreateNext,omitempty"`
	ExpireCSRFNextWrite int `json:"expireCsrfNextWrite,omitempty"`

	// CommitThenGatewayRate commits a create and then answers GatewayStatus with an HTML error page, as a gateway
	// in front of SAP (SAP Web Dispatcher, Azure Application Gateway, API Management) does when its own timeout
	// runs out while SAP is still at work: the order exists, yet the client is told the request failed.
	CommitThenGatewayRate float64 `json:"commitThenGatewayRate,omitempty"`
	CommitThenGatewayNext int     `json:"commitThenGatewayNext,omitempty"`
	// GatewayStatus is the status of those answers: 502 (an SAP Web Dispatcher page) or 504 (an Azure
	// Application Gateway page, the default).
	GatewayStatus int `json:"gatewayStatus,omitempty"`

	// SlowCommitRate makes a create wait SlowCommitDelay before it commits, and commit even if the client has
	// gone meanwhile: the ABAP work process goes on when the HTTP connection closes. A client that is still
	// waiting gets the normal answer. Server.Quiesce waits for such commits.
	SlowCommitRate  float64  `json:"slowCommitRate,omitempty"`
	SlowCommitNext  int      `json:"slowCommitNext,omitempty"`
	SlowCommitDelay Duration `json:"slowCommitDelay,omitempty"`

	// HandEnteredSamePORate: after a create commits, a clerk or an EDI inbound enters another order with the same
	// PurchaseOrderByCustomer and SoldToParty (a blanket purchase order, an EDI resend), without our extension
	// fields or texts. A lookup by customer reference then finds two orders.
	HandEnteredSamePORate float64 `json:"handEnteredSamePORate,omitempty"`
	HandEnteredSamePONext int     `json:"handEnteredSamePONext,omitempty"`

	// SearchLag hides a committed order, its items and its texts from every read (queries, key reads, to_Text,
	// A_SalesOrderText) until SearchLag after its commit, as an asynchronous update task or a replicated read model
	// would; the create itself still answers with the number at once.
	SearchLag Duration `json:"searchLag,omitempty"`
	// BillingReadLag hides a new billing document (header, items, pricing elements) from every read of
	// API_BILLING_DOCUMENT_SRV until BillingReadLag after it was created, so the document of a Created event may
	// not be readable yet (404 on a key read) when the event arrives. A change to an existing document is seen
	// at once; the order's document flow lists the new document at once too.
	BillingReadLag Duration `json:"billingReadLag,omitempty"`

	// RejectCreateNext refuses the next N creates (nothing is stored) with a 400 business error whose message is
	// RejectMessage (SAP's messages can be very long: a credit check listing every open item, a long text) and
	// whose code is RejectCode (default "V1/999").
	RejectCreateNext int    `json:"rejectCreateNext,omitempty"`
	RejectMessage    string `json:"rejectMessage,omitempty"`
	RejectCode       string `json:"rejectCode,omitempty"`

	// Down answers every OData request with 503 (SAP in maintenance).
	Down bool `json:"down,omitempty"`
	// Services limits the faults to these services (e.g. "API_SALES_ORDER_SRV"); empty means all.
	Services []string `json:"services,omitempty"`
	// WritesOnly limits the error and reset faults to writes (POST/PATCH/MERGE/PUT/DELETE).
	WritesOnly bool `json:"writesOnly,omitempty"`
	// ReadsOnly limits the error and reset faults to reads.
	ReadsOnly bool `json:"readsOnly,omitempty"`
}

// ValidateFaults reports settings no landscape produces (a rate outside 0..1, a negative duration, a gateway status
// other than 502 or 504), so a typo fails loudly instead of doing nothing. PUT /sapsim/faults runs it too.
func ValidateFaults(f Faults) error { return f.validate() }

func (f *Faults) validate() error {
	var problems []error
	for name, r := range map[string]float64{"slowRate": f.SlowRate, "error500Rate": f.Error500Rate,
		"error503Rate": f.Error503Rate, "error429Rate": f.Error429Rate, "resetRate": f.ResetRate,
		"dropCreateRate": f.DropCreateRate, "commitThenGatewayRate": f.CommitThenGatewayRate,
		"slowCommitRate": f.SlowCommitRate, "handEnteredSamePORate": f.HandEnteredSamePORate} {
		if r < 0 || r > 1 {
			problems = append(problems, fmt.Errorf("%s %v is not a probability (0..1)", name, r))
		}
	}
	for name, d := range map[string]Duration{"latencyMin": f.LatencyMin, "latencyMax": f.LatencyMax,
		"slowLatency": f.SlowLatency, "slowCommitDelay": f.SlowCommitDelay, "searchLag": f.SearchLag, "billingReadLag": f.BillingReadLag} {
		if d < 0 {
			problems = append(problems, fmt.Errorf("%s must not be negative", name))
		}
	}
	if f.GatewayStatus != 0 && f.GatewayStatus != 502 && f.GatewayStatus != 504 {
		problems = append(problems, fmt.Errorf("gatewayStatus %d must be 502 or 504", f.GatewayStatus))
	}
	return errors.Join(problems...)
}

// gatewayStatus is GatewayStatus with its default.
func (f Faults) gatewayStatus() int {
	if f.GatewayStatus == 502 {
		return 502
	}
	return 504
}

type faultAction int

const (
	faultNone faultAction = iota
	fault500
	fault503
	fault429
	faultReset
)

func (f *Faults) applies(service string, write bool) bool {
	if f.WritesOnly && !write || f.ReadsOnly && write {
		return false
	}
	if len(f.Services) == 0 {
		return true
	}
	for _, s := range f.Services {
		if s == service {
			return true
		}
	}
	return false
}

// pick decides the fault for one request and consumes a counter; the caller holds the server lock.
func (f *Faults) pick(rng *rand.Rand, service string, write bool) (faultAction, time.Duration) {
	var delay time.Duration
	if f.LatencyMax > 0 {
		lo, hi := time.Duration(f.LatencyMin), time.Duration(f.LatencyMax)
		if hi < lo {
			hi = lo
		}
		delay = lo
		if hi > lo {
			delay += time.Duration(rng.Int64N(int64(hi - lo)))
		}
	}
	if f.SlowRate > 0 && rng.Float64() < f.SlowRate {
		delay += time.Duration(f.SlowLatency)
	}
	if f.Down {
		return fault503, delay
	}
	if !f.applies(service, write) {
		return faultNone, delay
	}
	switch {
	case f.ResetNext > 0:
		f.ResetNext--
		return faultReset, delay
	case f.Fail500Next > 0:
		f.Fail500Next--
		return fault500, delay
	case f.Fail503Next > 0:
		f.Fail503Next--
		return fault503, delay
	case f.Fail429Next > 0:
		f.Fail429Next--
		return fault429, delay
	}
	x := rng.Float64()
	for _, c := range []struct {
		rate float64
		a    faultAction
	}{{f.ResetRate, faultReset}, {f.Error500Rate, fault500}, {f.Error503Rate, fault503}, {f.Error429Rate, fault429}} {
		if x < c.rate {
			return c.a, delay
		}
		x -= c.rate
	}
	return faultNone, delay
}

// createFault decides one create fault, consuming its counter first; the caller holds the server lock.
func (f *Faults) createFault(rng *rand.Rand, service string, next *int, rate float64) bool {
	if len(f.Services) > 0 && !slices.Contains(f.Services, service) {
		return false
	}
	if *next > 0 {
		*next--
		return true
	}
	return rate > 0 && rng.Float64() < rate
}

// resetConnection closes the client's connection with a TCP RST (SO_LINGER 0), or aborts the handler when the
// connection cannot be taken over.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
