// Package health is the health function: GET /api/health answers the version, the build and whether Azure
// Storage answers, so operators and deployment slots can tell a broken app from a working one.
package health

import (
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Pinger checks that a dependency answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Handler serves the health function.
type Handler struct {
	Version string
	Build   string
	Storage Pinger
	// Timeout bounds the storage check, so a hung dependency makes the answer "down" rather than slow.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Function declares the health function with its function.json.
func Function(h *Handler) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "health", Definition: d, HTTP: h}, nil
}

// Report is the answer's body.
type Report struct {
	Status  string           `json:"status"`
	Version string           `json:"version"`
	Build   string           `json:"build"`
	Checks  map[string]Check `json:"checks"`
}

// Check is one dependency's state.
type Check struct {
	OK        bool   `json:"ok"`
	LatencyMS int64  `json:"latencyMs"`
	Error     string `json:"error,omitempty"`
}

// ServeHTTP answers 200 when every dependency answers, 503 otherwise.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	start := time.Now()
	err := h.Storage.Ping(ctx)
	storage := Check{OK: err == nil, LatencyMS: time.Since(start).Milliseconds()}
	rep := Report{Status: "ok", Version: h.Version, Build: h.Build, Checks: map[string]Check{"storage": storage}}
	status := http.StatusOK
	if err != nil {
		// The error text stays in the log: it can name endpoints an anonymous caller need not see.
		storage.Error = "storage did not answer"
		if ctx.Err() != nil {
			storage.Error = "storage did not answer within " + timeout.String()
		}
		rep.Checks["storage"] = storage
		rep.Status = "degraded"
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "30")
		if h.Logger != nil {
			h.Logger.WarnContext(r.Context(), "health check: storage failed", "err", err)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(rep)
}
