package orderpush_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// A line in a unit the material does not have in SAP: the synchronous push answers 400 with errors[] naming the
// line's unit; the status of the same push (what a flow using the asynchronous pattern gets) answers 400 without
// errors[]. The README tells flows to "fix the data (body/errors)" on 400.
func TestTheStatusOfAPushThatFailedOnAUnitNamesTheLine(t *testing.T) {
	w := newWorld(t)
	litre, err := w.dv.Insert("uoms", map[string]any{"name": "Litre", "quantity": json.Number("1")})
	if err != nil {
		t.Fatal(err)
	}
	id := w.orderInUnit(t, sapsim.CustomerID(16), sapsim.ProductID(12), "2", litre) // no simulated material has L
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusBadRequest || len(a.Errors) == 0 {
		t.Fatalf("push: %d %s", a.Status, a.Raw)
	}
	st := w.status(t, id)
	if st.Status != http.StatusBadRequest || st.State != "failed" {
		t.Fatalf("status: %d %s", st.Status, st.Raw)
	}
	if len(st.Errors) != len(a.Errors) {
		t.Errorf("the push answered 400 with errors %+v; the status answers 400 with errors %+v (%s)", a.Errors, st.Errors, st.Raw)
	}
}
