package orderpush

import (
	"context"
	"errors"
	"time"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// step is how an owned attempt ended, for the HTTP and queue paths to answer.
type step struct {
	kind stepKind
	res  Result
	err  error
	// delay: for stepAgain, when the queue tries again. queueErr: the try could not be queued (the HTTP caller
	// hears 503; the queue has its own message redelivered, whose schedule the entry still holds).
	delay    time.Duration
	queueErr error
}

type stepKind int

const (
	stepDone  stepKind = iota // SAP has the order (res)
	stepEnded                 // rejected or failed for good (err)
	stepAgain                 // recorded as queued: try again after delay
	stepLost                  // another attempt owns the order now
)

// run is one owned attempt: settle an earlier create whose outcome is unknown, map, create, record. ctx bounds
// the whole attempt (the request's wait on the HTTP path); the create itself is bounded by the lease.
func (s *Service) run(ctx context.Context, att *ledger.Attempt, order *Order, via string) step {
	id := att.Key()
	rec := attemptRecord{Entry: audit.Entry{Kind: Kind, Key: id, InvocationID: invocationID(ctx), Trigger: via, Attempt: att.Entry().Attempts, At: s.now()},
		start: time.Now()}

	// While SAP is known not to store references as sent, a lookup that finds nothing proves nothing: an
	// unresolved create stays held rather than being settled as absent.
	if p := s.breaker(ctx); p != nil && att.Entry().Unresolved() {
		return s.again(ctx, att, order, p, &rec)
	}
	res, err := att.Resolve(ctx, s.find)
	switch {
	case err != nil:
		return s.again(ctx, att, order, classify.SAP(err, "looking up order "+id+" in SAP"), &rec)
	case res.Result != "":
		rec.Outcome = "found"
		return s.created(ctx, att, order, nil, res.Result, &rec)
	case !res.HoldUntil.IsZero():
		rec.Outcome = "held"
		return s.again(ctx, att, order, &problem.Error{Kind: problem.Unavailable, RetryAfter: res.HoldUntil.Sub(s.now()),
			Detail: "an earlier create of this order may still commit in SAP; no second create before " + res.HoldUntil.Format(time.RFC3339)}, &rec)
	}
	payload, err := s.Mapping.Map(ctx, order, att.Entry().Ref, s.Units)
	if err != nil {
		if isUnavailable(err) {
			return s.again(ctx, att, order, err, &rec)
		}
		return s.fail(ctx, att, order, err, &rec)
	}
	if p := s.breaker(ctx); p != nil {
		return s.again(ctx, att, order, p, &rec)
	}
	att.SetData(decodeData(att.Entry().Data).with(payload.PurchaseOrderByCustomer, payload.SoldToParty).encode())
	var answer sap.SalesOrder
	t0 := time.Now()
	number, err := att.Apply(ctx, ledger.Effect{Timeout: s.CreateTimeout, Proof: classify.SAPWrite,
		Call: func(cctx context.Context, _ ledger.Entry) (string, error) {
			so, err := s.SAP.CreateSalesOrder(cctx, payload)
			answer = so
			return so.SalesOrder, err
		}})
	rec.RemoteMS = time.Since(t0).Milliseconds()
	var ae *ledger.ApplyError
	switch {
	case err == nil:
		rec.Outcome = "created"
		s.checkReference(ctx, id, att.Entry().Ref, answer)
		return s.created(ctx, att, order, &created{payload: payload, answer: answer}, number, &rec)
	case errors.Is(err, ledger.ErrNoTime):
		return s.again(ctx, att, order, &problem.Error{Kind: problem.Timeout, Detail: "too little time was left to start the SAP create; queued"}, &rec)
	case errors.Is(err, ledger.ErrLost):
		return step{kind: stepLost}
	case !errors.As(err, &ae):
		// The intent could not be recorded: nothing was sent. The lease ends by itself; the queue retries.
		return s.unrecorded(ctx, att, "intent", err)
	}
	p := classify.SAP(ae.Err, "creating order "+id+" in SAP")
	if ae.Proof == ledger.NotApplied {
		if problem.KindOf(p) == problem.Rejected {
			return s.rejected(ctx, att, order, p, &rec)
		}
		return s.again(ctx, att, order, p, &rec)
	}
	// Unknown outcome: an answer lost after SAP committed is often visible at once, so look right away.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.CreateTimeout)
	defer cancel()
	if n, ferr := s.find(lctx, att.Entry()); ferr == nil && n != "" {
		rec.Outcome = "created"
		return s.created(ctx, att, order, &created{payload: payload}, n, &rec)
	}
	rec.Outcome = "unknown"
	rec.sent = &created{payload: payload}
	return s.again(ctx, att, order, p, &rec)
}

// attemptRecord is the audit entry of one attempt, with when it started (wall clock: a duration, not an instant)
// and what it sent, for the archive.
type attemptRecord struct {
	audit.Entry
	start time.Time
	sent  *created
}

// created is what a create of this attempt sent and got, for the archive.
type created struct {
	payload sap.SalesOrderCreate
	answer  sap.SalesOrder
}
