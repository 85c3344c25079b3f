// Package inventorydriftfix answers POST /api/inventory/drift/fix: it compares D365 with SAP as the drift
// report does and queues a sync run that rewrites exactly the values that differ.
package inventorydriftfix

import (
	"context"
	_ "embed"
	"net/http"

	"github.com/d365sap/d365sap/functions/inventorydrift"
	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Fixer queues the fix (an *inventorysync.Syncer).
type Fixer interface {
	FixDrift(ctx context.Context) (inventorysync.FixReport, error)
}

// Handler serves the fix. It reads no body: the fix takes no input.
type Handler struct{ Fix Fixer }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep, err := h.Fix.FixDrift(r.Context())
	if err != nil {
		problem.Write(w, inventorydrift.Unavailable(err, "queueing the drift fix"), r.URL.Path)
		return
	}
	// 200, not 202: there is nothing to poll here (a flow engine polls a 202's Location); the run's summary
	// appears in GET /api/inventory/runs.
	inventorydrift.Answer(w, http.StatusOK, rep)
}

// Function declares the HTTP function.
func Function(h *Handler) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "inventorydriftfix", Definition: d, HTTP: h}, nil
}
