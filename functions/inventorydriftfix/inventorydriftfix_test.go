package inventorydriftfix_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/inventorydriftfix"
	"github.com/d365sap/d365sap/functions/inventorysync"
)

type fakeFixer struct {
	FixFn func(ctx context.Context) (inventorysync.FixReport, error)
}

func (f fakeFixer) FixDrift(ctx context.Context) (inventorysync.FixReport, error) {
	return f.FixFn(ctx)
}

func TestTheFixQueuesARunAndSaysSo(t *testing.T) {
	fixes := 0
	h := &inventorydriftfix.Handler{Fix: fakeFixer{FixFn: func(context.Context) (inventorysync.FixReport, error) {
		fixes++
		return inventorysync.FixReport{Differences: 3, Materials: 2, Queued: true}, nil
	}}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/inventory/drift/fix", strings.NewReader("ignored")))
	if rec.Code != http.StatusOK || fixes != 1 || !strings.Contains(rec.Body.String(), `"queued":true`) {
		t.Fatalf("%d %d %s", rec.Code, fixes, rec.Body)
	}
}

func TestAFailedFixIs503WithoutTheError(t *testing.T) {
	h := &inventorydriftfix.Handler{Fix: fakeFixer{FixFn: func(context.Context) (inventorysync.FixReport, error) {
		return inventorysync.FixReport{}, errors.New("queue secret-queue-host unreachable")
	}}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/inventory/drift/fix", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "secret-queue-host") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
