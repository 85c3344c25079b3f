package sapsim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
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

	// SearchLag hides a committed order, its items and its texts from every read (queries, key reads, to_Text,
	// A_SalesOrderText) until SearchLag after its commit, as an asynchronous update task or a replicated read model
	// would; the create itself still answers with the number at once.
	SearchLag Duration `json:"searchLag,omitempty"`

	// Down answers every OData request with 503 (SAP in maintenance).
	Down bool `json:"down,omitempty"`
	// Services limits the faults to these services (e.g. "API_SALES_ORDER_SRV"); empty means all.
	Services []string `json:"services,omitempty"`
	// WritesOnly limits the error and reset faults to writes (POST/PATCH/MERGE/PUT/DELETE).
	WritesOnly bool `json:"writesOnly,omitempty"`
	// ReadsOnly limits the error and reset faults to reads.
	ReadsOnly bool `json:"readsOnly,omitempty"`
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

// dropCreate decides whether a committed create loses its answer; the caller holds the server lock.
func (f *Faults) dropCreate(rng *rand.Rand, service string) bool {
	if len(f.Services) > 0 && !f.applies(service, true) {
		return false
	}
	if f.DropCreateNext > 0 {
		f.DropCreateNext--
		return true
	}
	return f.DropCreateRate > 0 && rng.Float64() < f.DropCreateRate
}
