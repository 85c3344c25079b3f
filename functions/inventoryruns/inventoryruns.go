// Package inventoryruns answers GET /api/inventory/runs: the inventory sync's last runs, newest first, as the
// run log in the state table keeps them, for an operator or a monitoring flow.
package inventoryruns

import (
	"context"
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// RunLog reads the newest runs (an inventorysync.TableRunLog).
type RunLog interface {
	Last(ctx context.Context, n int) ([]inventorysync.Summary, error)
}

// Defaults and bounds of ?last=.
const (
	DefaultLast = 10
	MaxLast     = 100
)

// Handler serves the runs.
type Handler struct{ Runs RunLog }

// Answer is the body of a 200.
type Answer struct {
	Runs []inventorysync.Summary `json:"runs"`
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	instance := r.URL.Path
	n := DefaultLast
	q := r.URL.Query()
	if vs, ok := q["last"]; ok {
		var err error
		if len(vs) != 1 {
			err = problem.InvalidFields("last is given more than once", []problem.FieldError{{Field: "last", Reason: "give it once"}})
		} else if n, err = digits(vs[0]); err != nil || n < 1 || n > MaxLast {
			err = problem.InvalidFields("last must be a whole number from 1 to 100",
				[]problem.FieldError{{Field: "last", Reason: "a whole number from 1 to " + strconv.Itoa(MaxLast)}})
		}
		if err != nil {
			problem.Write(w, err, instance)
			return
		}
	}
	runs, err := h.Runs.Last(r.Context(), n)
	if err != nil {
		problem.Write(w, classify.Storage(err, "reading the inventory sync's runs"), instance)
		return
	}
	if runs == nil {
		runs = []inventorysync.Summary{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(Answer{Runs: runs})
}

// digits reads a whole number written in ASCII digits only: strconv.Atoi also takes a sign, and a query value
// is no place for one.
func digits(s string) (int, error) {
	if s == "" || len(s) > 3 || strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

// Function declares the HTTP function.
func Function(h *Handler) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "inventoryruns", Definition: d, HTTP: h}, nil
}
