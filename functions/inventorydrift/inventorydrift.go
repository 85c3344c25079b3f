// Package inventorydrift answers GET /api/inventory/drift: where D365's products, stock and prices differ from
// SAP's (POST /api/inventory/drift/fix, package inventorydriftfix, rewrites them).
package inventorydrift

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Comparer reports drift (an *inventorysync.Syncer).
type Comparer interface {
	Drift(ctx context.Context, limit int) (inventorysync.DriftReport, error)
}

// Bounds of ?limit=, the differences listed.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Handler serves the report.
type Handler struct{ Drift Comparer }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	instance := r.URL.Path
	limit, err := limitOf(r)
	if err != nil {
		problem.Write(w, err, instance)
		return
	}
	rep, err := h.Drift.Drift(r.Context(), limit)
	if err != nil {
		problem.Write(w, Unavailable(err, "comparing D365 with SAP"), instance)
		return
	}
	Answer(w, http.StatusOK, rep)
}

func limitOf(r *http.Request) (int, error) {
	vs, ok := r.URL.Query()["limit"]
	if !ok {
		return DefaultLimit, nil
	}
	bad := problem.InvalidFields("limit must be a whole number from 1 to 1000, given once",
		[]problem.FieldError{{Field: "limit", Reason: "a whole number from 1 to " + strconv.Itoa(MaxLimit)}})
	if len(vs) != 1 || vs[0] == "" || len(vs[0]) > 4 || strings.Trim(vs[0], "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil || n < 1 || n > MaxLimit {
		return 0, bad
	}
	return n, nil
}

// Unavailable classifies a failed comparison as the system that failed it would be classified elsewhere (a
// throttling Dataverse is throttled, with its Retry-After), without echoing transport errors to the caller.
func Unavailable(err error, doing string) error {
	var se *sap.Error
	var de *dataverse.Error
	switch {
	case errors.As(err, &se):
		return classify.SAP(err, doing)
	case errors.As(err, &de):
		return classify.Dataverse(err, doing)
	}
	return &problem.Error{Kind: problem.Unavailable, RetryAfter: 30 * time.Second, Err: err,
		Detail: doing + ": SAP, Dataverse or storage is not reachable, or the mapping names what D365 lacks; try again later"}
}

// Answer writes v as JSON, never cached.
func Answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Function declares the HTTP function.
func Function(h *Handler) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "inventorydrift", Definition: d, HTTP: h}, nil
}
