// Package classify decides, in one table per system, what an error from SAP, Dataverse or Azure Storage means:
// the problem kind a caller sees (and so the HTTP status and whether a trigger is retried), and, for a write to
// SAP, what its answer proves about whether SAP acted. Functions call it instead of reading client errors
// themselves, so the same SAP answer means the same thing everywhere.
package classify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// sapRule is one row of the SAP table: the first row whose match holds decides.
type sapRule struct {
	name  string
	match func(err error, se *sap.Error) bool
	kind  problem.Kind
	// proof is what the answer proves when the request was a write.
	proof ledger.Proof
	// detail says what happened, for the caller; the error itself is kept beside it.
	detail func(se *sap.Error) string
	retry  time.Duration
}

// sapTable is the one place that reads SAP client errors. Only answers that show SAP did not run the request
// count as not applied: checks the client made before sending, refused connections, 4xx answers (Gateway and
// the ICM refuse before the application runs; a business error is SAP's application refusing the content).
// Everything else after a write was sent — a 5xx from SAP or from a gateway in front of it, a timeout, a
// reset, an answer that does not parse — may have committed.
var sapTable = []sapRule{
	{"validation", func(err error, _ *sap.Error) bool { var ve *sap.ValidationError; return errors.As(err, &ve) },
		problem.Rejected, ledger.NotApplied, nil, 0},
	{"not sent", func(err error, _ *sap.Error) bool { return errors.Is(err, sap.ErrNotSent) },
		problem.Unavailable, ledger.NotApplied, func(*sap.Error) string { return "SAP is not reachable" }, 30 * time.Second},
	{"business error", func(_ error, se *sap.Error) bool { return se != nil && se.BusinessError() },
		problem.Rejected, ledger.NotApplied, func(se *sap.Error) string { return se.Message }, 0},
	{"throttled", func(_ error, se *sap.Error) bool { return se != nil && se.StatusCode == http.StatusTooManyRequests },
		problem.Throttled, ledger.NotApplied, func(*sap.Error) string { return "SAP asked us to slow down" }, 30 * time.Second},
	{"credentials", func(_ error, se *sap.Error) bool {
		return se != nil && (se.StatusCode == http.StatusUnauthorized || se.StatusCode == http.StatusForbidden)
	}, problem.Unavailable, ledger.NotApplied,
		func(*sap.Error) string { return "SAP refused the integration's credentials; an operator must fix them" }, time.Minute},
	{"refused", func(_ error, se *sap.Error) bool { return se != nil && se.StatusCode >= 400 && se.StatusCode < 500 },
		problem.Unavailable, ledger.NotApplied, func(se *sap.Error) string { return fmt.Sprintf("SAP refused the request (%d)", se.StatusCode) }, 30 * time.Second},
	{"server error", func(_ error, se *sap.Error) bool { return se != nil },
		problem.Unavailable, ledger.Unknown, func(se *sap.Error) string { return fmt.Sprintf("SAP answered %d", se.StatusCode) }, 30 * time.Second},
	{"timeout", func(err error, _ *sap.Error) bool {
		return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
	}, problem.Timeout, ledger.Unknown, func(*sap.Error) string { return "SAP did not answer in time" }, 30 * time.Second},
	{"unknown", func(error, *sap.Error) bool { return true },
		problem.Unavailable, ledger.Unknown, func(*sap.Error) string { return "SAP did not answer" }, 30 * time.Second},
}

func sapRuleFor(err error) (sapRule, *sap.Error) {
	var se *sap.Error
	if !errors.As(err, &se) {
		se = nil
	}
	for _, r := range sapTable {
		if r.match(err, se) {
			return r, se
		}
	}
	return sapTable[len(sapTable)-1], se
}

// SAPWrite says what the error of a write to SAP proves: NotApplied only when SAP provably did not act.
func SAPWrite(err error) ledger.Proof {
	r, _ := sapRuleFor(err)
	return r.proof
}

// SAP turns an SAP client error into a *problem.Error; doing says what was being done ("creating order X in
// SAP"). Rejections carry SAP's messages (Extra "sapMessages", each cut to fit).
func SAP(err error, doing string) error {
	if err == nil {
		return nil
	}
	r, se := sapRuleFor(err)
	p := &problem.Error{Kind: r.kind, Err: err, RetryAfter: r.retry}
	if se != nil && se.RetryAfter > 0 {
		p.RetryAfter = se.RetryAfter
	}
	var ve *sap.ValidationError
	switch {
	case errors.As(err, &ve):
		p.Detail = doing + ": " + cutText(fmt.Sprint(ve.Problems), maxMessage)
		p.Extra = map[string]any{"sapMessages": validationMessages(ve)}
	case r.kind == problem.Rejected && se != nil:
		p.Detail = doing + ": SAP rejected it: " + cutText(se.Message, maxMessage)
		p.Extra = map[string]any{"sapMessages": Messages(se)}
	default:
		p.Detail = doing + ": " + r.detail(se)
	}
	return p
}

// Dataverse turns a Dataverse client error into a *problem.Error.
func Dataverse(err error, doing string) error {
	if err == nil {
		return nil
	}
	var de *dataverse.Error
	if errors.As(err, &de) {
		switch de.Kind {
		case dataverse.KindNotFound:
			return problem.Wrap(problem.NotFound, err, "%s: not found in Dynamics 365", doing)
		case dataverse.KindThrottled:
			return &problem.Error{Kind: problem.Throttled, Detail: doing + ": Dataverse is throttling", RetryAfter: de.RetryAfter, Err: err}
		case dataverse.KindAuth:
			return &problem.Error{Kind: problem.Unavailable, Detail: doing + ": Dataverse refused the integration's credentials", RetryAfter: time.Minute, Err: err}
		case dataverse.KindBadRequest:
			return &problem.Error{Kind: problem.Rejected, Detail: doing + ": Dataverse refused it: " + cutText(de.Message, maxMessage), Err: err}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &problem.Error{Kind: problem.Timeout, Detail: doing + ": Dataverse did not answer in time", RetryAfter: 30 * time.Second, Err: err}
	}
	return &problem.Error{Kind: problem.Unavailable, Detail: doing + ": Dataverse is not reachable", RetryAfter: 30 * time.Second, Err: err}
}

// Storage turns an Azure Storage error into a *problem.Error: always temporary for the caller.
func Storage(err error, doing string) error {
	if err == nil {
		return nil
	}
	var pe *problem.Error
	if errors.As(err, &pe) {
		return err
	}
	return &problem.Error{Kind: problem.Unavailable, Detail: doing + ": storage is not reachable", RetryAfter: 10 * time.Second, Err: err}
}

// RemoteRetryAfter is the Retry-After SAP or Dataverse itself sent with err (0 when neither did): a floor for
// the queue's backoff. The defaults a problem carries for its callers are not one.
func RemoteRetryAfter(err error) time.Duration {
	var se *sap.Error
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	var de *dataverse.Error
	if errors.As(err, &de) {
		return de.RetryAfter
	}
	return 0
}
