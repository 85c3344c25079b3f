package dataverse_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
)

type fixedToken struct{}

func (fixedToken) Token(context.Context) (string, time.Time, error) {
	return "t", time.Now().Add(time.Hour), nil
}

// Dataverse fails a whole UpsertMultiple (400, 0x80040216) when a target that creates its row repeats the
// alternate-key column in its body, so the key may travel only in @odata.id.
func TestUpsertMultipleByAltKeyKeepsTheKeyOutOfTheBody(t *testing.T) {
	var targets []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/products/Microsoft.Dynamics.CRM.UpsertMultiple") {
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var body struct{ Targets []map[string]any }
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		targets = body.Targets
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c, err := dataverse.New(testOptions(srv.URL, fixedToken{}))
	if err != nil {
		t.Fatal(err)
	}
	recs := []dataverse.Record{{"productnumber": "SIM0000001", "name": "one"}, {"productnumber": "A'B", "name": "two"}}
	if _, err := c.UpsertMultiple(t.Context(), "products", recs, &dataverse.BulkOptions{AltKey: []string{"productnumber"}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"products(productnumber='SIM0000001')", "products(productnumber='A''B')"}
	if len(targets) != len(want) {
		t.Fatalf("sent %d targets, want %d", len(targets), len(want))
	}
	for i, tg := range targets {
		if _, ok := tg["productnumber"]; ok {
			t.Errorf("target %d repeats the key column in its body: %v", i, tg)
		}
		if tg["@odata.id"] != want[i] || tg["name"] != recs[i]["name"] || tg["@odata.type"] != "Microsoft.Dynamics.CRM.product" {
			t.Errorf("target %d = %v", i, tg)
		}
	}
	if recs[0]["productnumber"] != "SIM0000001" {
		t.Error("the caller's record lost its key column")
	}
}
