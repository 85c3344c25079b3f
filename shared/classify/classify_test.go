package classify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// The one table decides what every SAP answer means. A write counts as not applied only when SAP provably did
// nothing; every other failure after the request went out may have committed.
func TestSAPTable(t *testing.T) {
	business := &sap.Error{StatusCode: 400, Code: "V1/320", Message: "Sold-to party 99999999 does not exist"}
	tests := []struct {
		name  string
		err   error
		kind  problem.Kind
		proof ledger.Proof
	}{
		{"client-side validation", &sap.ValidationError{Problems: []string{"PurchaseOrderByCustomer too long"}}, problem.Rejected, ledger.NotApplied},
		{"never sent (refused connection)", fmt.Errorf("creating: %w", sap.ErrNotSent), problem.Unavailable, ledger.NotApplied},
		{"business error", fmt.Errorf("creating: %w", business), problem.Rejected, ledger.NotApplied},
		{"throttled", &sap.Error{StatusCode: 429, RetryAfter: 7 * time.Second}, problem.Throttled, ledger.NotApplied},
		{"credentials", &sap.Error{StatusCode: 401}, problem.Unavailable, ledger.NotApplied},
		{"CSRF token refused twice", &sap.Error{StatusCode: 403, CSRFRequired: true}, problem.Unavailable, ledger.NotApplied},
		{"partner not reached (ICM)", &sap.Error{StatusCode: 404, Message: "Partner not reached"}, problem.Unavailable, ledger.NotApplied},
		{"400 without an SAP code (a proxy)", &sap.Error{StatusCode: 400, Message: "<html>Bad Request</html>"}, problem.Unavailable, ledger.NotApplied},
		{"500 from SAP", &sap.Error{StatusCode: 500, Code: "/IWBEP/CM_MGW_RT/000"}, problem.Unavailable, ledger.Unknown},
		{"502 from a gateway", &sap.Error{StatusCode: 502, Message: "Bad Gateway"}, problem.Unavailable, ledger.Unknown},
		{"504 from a gateway after SAP committed", &sap.Error{StatusCode: 504}, problem.Unavailable, ledger.Unknown},
		{"503 with an SAP business body", &sap.Error{StatusCode: 503, Code: "V1/320"}, problem.Unavailable, ledger.Unknown},
		{"reset after sending", fmt.Errorf("creating: %w: connection reset", sap.ErrOutcomeUnknown), problem.Unavailable, ledger.Unknown},
		{"our deadline", fmt.Errorf("creating: %w", context.DeadlineExceeded), problem.Timeout, ledger.Unknown},
		{"anything else", errors.New("unexpected EOF"), problem.Unavailable, ledger.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify.SAPWrite(tt.err); got != tt.proof {
				t.Errorf("SAPWrite = %v, want %v", got, tt.proof)
			}
			p := classify.SAP(tt.err, "creating order X in SAP")
			var pe *problem.Error
			if !errors.As(p, &pe) || pe.Kind != tt.kind || !errors.Is(p, tt.err) || !strings.HasPrefix(pe.Detail, "creating order X in SAP") {
				t.Errorf("SAP = %v (kind %v), want kind %v wrapping the error", p, problem.KindOf(p), tt.kind)
			}
		})
	}
}

func TestSAPRejectionsCarryTheirMessagesCut(t *testing.T) {
	long := strings.Repeat("x", 5000)
	se := &sap.Error{StatusCode: 400, Code: "V1/888", Message: long}
	for i := range 30 {
		se.Details = append(se.Details, sap.ErrorDetail{Code: fmt.Sprintf("V1/%d", i), Message: long, Severity: "error"})
	}
	var pe *problem.Error
	if !errors.As(classify.SAP(se, "creating"), &pe) {
		t.Fatal("not a problem")
	}
	msgs, ok := pe.Extra["sapMessages"].([]classify.Message)
	if !ok || len(msgs) != 20 || msgs[0].Code != "V1/888" {
		t.Fatalf("messages: %d (%v)", len(msgs), ok)
	}
	for _, m := range msgs {
		if n := len([]rune(m.Message)); n > 1000 {
			t.Fatalf("a message of %d characters was kept", n)
		}
	}
	if len([]rune(pe.Detail)) > 1100 {
		t.Fatalf("the detail holds %d characters", len([]rune(pe.Detail)))
	}
}

func TestRetryAfterComesOnlyFromTheRemote(t *testing.T) {
	if d := classify.RemoteRetryAfter(&sap.Error{StatusCode: 429, RetryAfter: 9 * time.Second}); d != 9*time.Second {
		t.Errorf("SAP's Retry-After: %v", d)
	}
	if d := classify.RemoteRetryAfter(&dataverse.Error{Kind: dataverse.KindThrottled, RetryAfter: 3 * time.Second}); d != 3*time.Second {
		t.Errorf("Dataverse's Retry-After: %v", d)
	}
	// The default a problem carries for HTTP callers is not the remote's request.
	if d := classify.RemoteRetryAfter(classify.SAP(&sap.Error{StatusCode: 503}, "x")); d != 0 {
		t.Errorf("a 503 without Retry-After gave %v", d)
	}
}

func TestDataverseAndStorage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind problem.Kind
	}{
		{"not found", &dataverse.Error{Kind: dataverse.KindNotFound}, problem.NotFound},
		{"throttled", &dataverse.Error{Kind: dataverse.KindThrottled}, problem.Throttled},
		{"credentials", &dataverse.Error{Kind: dataverse.KindAuth}, problem.Unavailable},
		{"bad request", &dataverse.Error{Kind: dataverse.KindBadRequest, Message: "no such column"}, problem.Rejected},
		{"deadline", context.DeadlineExceeded, problem.Timeout},
		{"anything else", errors.New("reset"), problem.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := problem.KindOf(classify.Dataverse(tt.err, "reading")); got != tt.kind {
				t.Errorf("kind %v, want %v", got, tt.kind)
			}
		})
	}
	if problem.KindOf(classify.Storage(errors.New("down"), "writing")) != problem.Unavailable {
		t.Error("a storage failure is not temporary")
	}
	inner := problem.New(problem.Invalid, "bad key")
	if classify.Storage(inner, "writing") != inner {
		t.Error("a classified error was classified again")
	}
	if classify.SAP(nil, "x") != nil || classify.Dataverse(nil, "x") != nil || classify.Storage(nil, "x") != nil {
		t.Error("nil is not an error")
	}
}
