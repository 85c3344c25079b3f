// Package orderstatus is the status function of order pushes: GET /api/orders/{salesorderid}.
package orderstatus

import (
	_ "embed"
	"net/http"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Handler serves the status.
type Handler struct {
	Records    orderpush.RecordReader
	StatusBase string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	orderpush.ServeStatus(w, r, h.Records, h.StatusBase)
}

// Function declares the status function.
func Function(h *Handler) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "orderstatus", Definition: d, HTTP: h}, nil
}
