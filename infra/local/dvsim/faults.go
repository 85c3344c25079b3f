package dvsim

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Faults are injected into Web API requests (not into the token endpoint or the admin endpoints).
// Rates are probabilities between 0 and 1, drawn independently per request in the order listed.
type Faults struct {
	LatencyMin time.Duration `json:"latencyMin"` // extra latency, uniform between min and max
	LatencyMax time.Duration `json:"latencyMax"`
	Reset      float64       `json:"reset"`      // connection dropped before the request is processed
	Error500   float64       `json:"error500"`   // 500 before processing
	Error503   float64       `json:"error503"`   // 503 before processing
	Error429   float64       `json:"error429"`   // 429 before processing (with Retry-After)
	CommitDrop float64       `json:"commitDrop"` // processed and committed, then the connection dropped
	// Only, when set, limits faults to requests whose method is in it (e.g. "PATCH").
	Only []string `json:"only,omitempty"`
}

type faultState struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
	// Injected counts what was injected, for tests to assert on.
	injected map[string]int
}

func newFaultState() *faultState {
	return &faultState{rng: rand.New(rand.NewPCG(1, 2)), injected: map[string]int{}}
}

func (fs *faultState) set(f Faults) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f = f
}

type faultPlan struct {
	latency    time.Duration
	before     string // "", "reset", "500", "503", "429"
	commitDrop bool
}

func (fs *faultState) plan(method string) faultPlan {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	if len(f.Only) > 0 {
		match := false
		for _, m := range f.Only {
			if m == method {
				match = true
			}
		}
		if !match {
			return faultPlan{}
		}
	}
	var p faultPlan
	if f.LatencyMax > 0 {
		p.latency = f.LatencyMin
		if f.LatencyMax > f.LatencyMin {
			p.latency += time.Duration(fs.rng.Int64N(int64(f.LatencyMax - f.LatencyMin)))
		}
	}
	for _, c := range []struct {
		rate float64
		name string
	}{{f.Reset, "reset"}, {f.Error500, "500"}, {f.Error503, "503"}, {f.Error429, "429"}} {
		if c.rate > 0 && fs.rng.Float64() < c.rate {
			p.before = c.name
			fs.injected[c.name]++
			return p
		}
	}
	if f.CommitDrop > 0 && fs.rng.Float64() < f.CommitDrop {
		p.commitDrop = true
		fs.injected["commitDrop"]++
	}
	return p
}

func (fs *faultState) counts() map[string]int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := map[string]int{}
	for k, v := range fs.injected {
		out[k] = v
	}
	return out
}
