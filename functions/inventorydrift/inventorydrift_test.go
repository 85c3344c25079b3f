package inventorydrift_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/inventorydrift"
	"github.com/d365sap/d365sap/functions/inventorysync"
)

type fakeComparer struct {
	DriftFn func(ctx context.Context, limit int) (inventorysync.DriftReport, error)
}

func (f fakeComparer) Drift(ctx context.Context, limit int) (inventorysync.DriftReport, error) {
	return f.DriftFn(ctx, limit)
}

func TestDriftReportLimits(t *testing.T) {
	for _, c := range []struct {
		name, query string
		status      int
		limit       int
		body        string
	}{
		{"the report", "", 200, 100, `"differences":[]`},
		{"limit 5", "?limit=5", 200, 5, ""},
		{"limit 1000", "?limit=1000", 200, 1000, ""},
		{"limit 0", "?limit=0", 400, 0, `"field":"limit"`},
		{"limit 1001", "?limit=1001", 400, 0, `"field":"limit"`},
		{"limit with a sign", "?limit=%2B5", 400, 0, `"field":"limit"`},
		{"limit twice", "?limit=1&limit=2", 400, 0, `"field":"limit"`},
		{"limit a word", "?limit=all", 400, 0, `"field":"limit"`},
		{"limit empty", "?limit=", 400, 0, `"field":"limit"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			limit := 0
			h := &inventorydrift.Handler{Drift: fakeComparer{DriftFn: func(_ context.Context, n int) (inventorysync.DriftReport, error) {
				limit = n
				return inventorysync.DriftReport{Differences: []inventorysync.Difference{}}, nil
			}}}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/inventory/drift"+c.query, nil))
			if rec.Code != c.status || limit != c.limit || !strings.Contains(rec.Body.String(), c.body) {
				t.Fatalf("%d limit %d %s; want %d %d %q", rec.Code, limit, rec.Body, c.status, c.limit, c.body)
			}
		})
	}
}

func TestDriftAnswers503WithoutEchoingTheError(t *testing.T) {
	h := &inventorydrift.Handler{Drift: fakeComparer{DriftFn: func(context.Context, int) (inventorysync.DriftReport, error) {
		return inventorysync.DriftReport{}, errors.New("dial tcp 10.1.2.3:443: secret-host refused")
	}}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/inventory/drift", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "secret-host") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
