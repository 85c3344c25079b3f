package classify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// SAP's refusal of an order reaches the caller as a rejection to fix, whichever shape its error body takes: a
// body the client could not read would lose the code and be retried as if SAP were unavailable.
func TestSAPRejectionsInEveryShapeAreRejected(t *testing.T) {
	bodies := map[string]string{
		"Gateway V2": `{"error":{"code":"V1/320","message":{"lang":"en","value":"Sold-to party 99 does not exist"},
			"innererror":{"errordetails":[{"code":"V1/320","message":"Sold-to party 99 does not exist","severity":"error"}]}}}`,
		"CAP's V2 adapter": `{"error":{"code":"ASSERT_NOT_NULL","message":{"lang":"en","value":"Provide the missing value."},
			"innererror":{"errordetails":[{"code":"ASSERT_NOT_NULL","message":{"lang":"en","value":"Provide the missing value."},"severity":"error"}]}}}`,
		"OData V4": `{"error":{"code":"V1/320","message":"Sold-to party 99 does not exist","details":[{"code":"V1/321","message":42,"transition":true}]}}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(body))
			}))
			defer ts.Close()
			c, err := sap.New(sap.Options{BaseURL: ts.URL, AuthMode: sap.AuthBasic, Username: "u", Password: "p",
				Timeout: 5 * time.Second, MaxResponseBytes: 1 << 20, ReadRetries: 2})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetSalesOrder(context.Background(), "1")
			if got := problem.KindOf(classify.SAP(err, "reading order 1")); got != problem.Rejected {
				t.Errorf("kind %v, want %v: %v", got, problem.Rejected, err)
			}
			if got := classify.SAPWrite(err); got != ledger.NotApplied {
				t.Errorf("proof %v, want %v", got, ledger.NotApplied)
			}
		})
	}
}
