package orderpush

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// step is how an owned attempt ended, for the HTTP and queue paths to answer.
type step struct {
	kind stepKind
	res  Result
	err  error
	// delay and due: for stepAgain, when the queue should try again (due is the entry's NextAttempt).
	delay time.Duration
	due   time.Time
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
	if p := s.referenceBroken.Load(); p != nil {
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
		return step{kind: stepAgain, err: err, delay: s.Ledger.Lease + s.Ledger.Skew}
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
	return s.again(ctx, att, order, p, &rec)
}

// attemptRecord is the audit entry of one attempt, with when it started (wall clock: a duration, not an instant).
type attemptRecord struct {
	audit.Entry
	start time.Time
}

// created is what a create of this attempt sent and got, for the archive.
type created struct {
	payload sap.SalesOrderCreate
	answer  sap.SalesOrder
}

// created records an order SAP has: the link row, the write-back to Dynamics, the archive, then the entry and
// settling is the context for what follows SAP's answer to a create: SAP has acted (or refused), and that must
// be recorded whatever the caller does now (hang up, run out of its wait), so the caller's cancellation no longer
// applies; the lease bounds it.
func (s *Service) settling(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.Ledger.Lease)
}

// created records an order SAP has: the link row, the write-back to Dynamics, the archive, then the entry and
// the audit row in one transaction. Only the last is needed for exactly once, so the link and the write-back get
// only what is left of the lease after reserving the time that record needs; what does not fit is queued.
func (s *Service) created(ctx context.Context, att *ledger.Attempt, order *Order, c *created, number string, rec *attemptRecord) step {
	id := att.Key()
	number = sap.NormalizeDocumentNumber(number)
	res := Result{SalesOrderID: id, SAPSalesOrder: number, Created: true, State: StateCreated}
	sctx, cancel := s.settling(ctx)
	defer cancel()
	followed := false
	if budget := att.Entry().LeaseUntil.Sub(s.now()) - s.Ledger.Skew - s.Ledger.Margin; budget > 0 {
		fctx, fcancel := context.WithTimeout(sctx, budget)
		if err := s.Ledger.PutLink(fctx, number, id); err != nil {
			s.Log.WarnContext(ctx, "linking the SAP order failed; the write-back retries it", "salesorderid", id, "err", err)
		} else if err := s.writeBackCreated(fctx, id, number); err != nil {
			s.Log.WarnContext(ctx, "write-back to Dynamics failed; queued", "salesorderid", id, "err", err)
		} else {
			followed, res.State = true, StateWrittenBack
		}
		fcancel()
	}
	rec.RemoteID = number
	s.archiveAttempt(sctx, att, order, c, rec, nil)
	if err := att.Created(sctx, number, followed, s.auditRows(ctx, rec)...); err != nil {
		// SAP has the order and this call knows its number; a later attempt finds it by its reference.
		s.Log.WarnContext(ctx, "recording the created order failed", "salesorderid", id, "sapSalesOrder", number, "err", err)
	}
	if !followed {
		res.WriteBackPending = true
		if err := s.enqueue(sctx, id, ActionWriteBack, 0, s.Backoff.Delay(0, 0)); err != nil {
			s.Log.ErrorContext(ctx, "write-back not queued; the sweeper will retry it", "salesorderid", id, "err", err)
		}
	}
	return step{kind: stepDone, res: res}
}

// rejected records SAP's refusal, then tells Dynamics, and ends the push until it is pushed again. The end is on
// record before anyone is told: a 422 (or "Rejected by SAP" in Dynamics) for a refusal the ledger does not hold
// would let the queue create the order later.
func (s *Service) rejected(ctx context.Context, att *ledger.Attempt, order *Order, p error, rec *attemptRecord) step {
	id := att.Key()
	sctx, cancel := s.settling(ctx)
	defer cancel()
	msgs := problemMessages(p)
	first := ""
	if len(msgs) > 0 {
		first = msgs[0].Code + " " + msgs[0].Message
	}
	b, _ := json.Marshal(msgs)
	rec.Outcome, rec.Error, rec.Messages = "rejected", p.Error(), string(b)
	s.archiveAttempt(sctx, att, order, nil, rec, p)
	if err := att.Rejected(sctx, detailOf(p), string(b), false, s.auditRows(ctx, rec)...); err != nil {
		return s.unrecorded(ctx, att, "rejection", err)
	}
	if told := s.writeBackEnd(sctx, id, "Rejected by SAP: "+first, first); told != nil {
		s.reportLater(sctx, id, told)
	} else if err := att.MarkReported(sctx); err != nil {
		s.Log.WarnContext(ctx, "recording that Dynamics was told failed; it may be told again", "salesorderid", id, "err", err)
	}
	return step{kind: stepEnded, err: p, res: Result{SalesOrderID: id, State: StateRejected}}
}

// unrecorded answers an end the ledger could not record: another attempt took the order over (it decides), or
// storage failed, in which case the entry keeps this attempt's intent and lease and the queue settles it later.
// Either way the caller must not be given a final answer the ledger does not hold.
func (s *Service) unrecorded(ctx context.Context, att *ledger.Attempt, what string, err error) step {
	if isLost(err) {
		return step{kind: stepLost}
	}
	s.Log.WarnContext(ctx, "recording the "+what+" failed; the queue settles the order", "salesorderid", att.Key(), "err", err)
	wait := max(att.Entry().LeaseUntil.Sub(s.now())+s.Ledger.Skew, 0) + time.Second
	return step{kind: stepAgain, err: classify.Storage(err, "recording the "+what), delay: wait,
		res: Result{SalesOrderID: att.Key(), State: StateInProgress}}
}

// fail ends the push for a permanent reason that is not SAP's (the order cannot be mapped): nothing was sent. As
// with a rejection, the end is recorded before Dynamics is told.
func (s *Service) fail(ctx context.Context, att *ledger.Attempt, order *Order, p error, rec *attemptRecord) step {
	id := att.Key()
	sctx, cancel := s.settling(ctx)
	defer cancel()
	rec.Outcome, rec.Error = "failed", p.Error()
	if err := att.Fail(sctx, p, false, s.auditRows(ctx, rec)...); err != nil {
		return s.unrecorded(ctx, att, "failure", err)
	}
	if told := s.writeBackEnd(sctx, id, notSentText(p.Error(), problem.KindOf(p).String()), ""); told != nil {
		s.reportLater(sctx, id, told)
	} else if err := att.MarkReported(sctx); err != nil {
		s.Log.WarnContext(ctx, "recording that Dynamics was told failed; it may be told again", "salesorderid", id, "err", err)
	}
	return step{kind: stepEnded, err: p, res: Result{SalesOrderID: id, State: StateFailed}}
}

// reportLater queues telling Dynamics how the push ended, after the write-back failed with cause, as created
// queues an owed write-back: the sweeper is the net for a lost message, not the way an end gets reported.
func (s *Service) reportLater(ctx context.Context, id string, cause error) {
	if err := s.enqueue(ctx, id, ActionReport, 0, s.Backoff.Delay(0, classify.RemoteRetryAfter(cause))); err != nil {
		s.Log.ErrorContext(ctx, "report not queued; the sweeper will retry it", "salesorderid", id, "err", err)
	}
}

// again gives the order back to the queue after a backoff (or when an unresolved create's hold ends, if sooner
// the hold's lookups are what settle it). Unavailability never ends an order.
func (s *Service) again(ctx context.Context, att *ledger.Attempt, order *Order, p error, rec *attemptRecord) step {
	id := att.Key()
	// The backoff (at least what SAP or Dataverse asked for) paces the retries; during a hold each retry is a
	// lookup that may settle the unknown create early, and the last one comes when the hold ends. The hold is the
	// ledger's instant: measure it by the same clock (s.Now), never the wall clock.
	delay := s.Backoff.Delay(att.Entry().Retries, classify.RemoteRetryAfter(p))
	if hold := att.Entry().HoldUntil; !hold.IsZero() {
		if left := hold.Sub(s.now()); left > 0 && delay > left {
			delay = left
		}
	}
	if rec.Outcome == "" {
		rec.Outcome = "retry"
	}
	rec.Error = p.Error()
	due := s.now().Add(delay)
	if err := att.Retry(ctx, p, due, s.auditRows(ctx, rec)...); err != nil {
		if errors.Is(err, ledger.ErrLost) {
			return step{kind: stepLost}
		}
		s.Log.WarnContext(ctx, "recording the retry failed", "salesorderid", id, "err", err)
		due = time.Time{} // the entry does not know of this schedule: its message must not be taken for stale
	}
	return step{kind: stepAgain, err: p, delay: delay, due: due, res: Result{SalesOrderID: id, State: StateAccepted}}
}

func (s *Service) auditRows(ctx context.Context, rec *attemptRecord) []store.Row[json.RawMessage] {
	// The row is written with the attempt's outcome, so its duration is taken now, not when run returns.
	rec.DurationMS = time.Since(rec.start).Milliseconds()
	row, err := s.Audit.Row(rec.Entry)
	if err != nil {
		s.Log.WarnContext(ctx, "building the audit row failed", "salesorderid", rec.Key, "err", err)
		return nil
	}
	return []store.Row[json.RawMessage]{row}
}

// archiveAttempt keeps the attempt's whole story (the order, what was sent, SAP's answer or error) as one
// compressed blob, named on the audit row. Losing it loses no order, so a failure is logged, not returned.
func (s *Service) archiveAttempt(ctx context.Context, att *ledger.Attempt, order *Order, c *created, rec *attemptRecord, cause error) {
	doc := map[string]any{"order": order, "outcome": rec.Outcome, "reference": att.Entry().Ref}
	var se *sap.Error
	if errors.As(cause, &se) {
		doc["sapError"] = se // whole: the entry and the audit row keep only what fits a Table row
	}
	if c != nil {
		doc["sapPayload"], doc["sapAnswer"] = c.payload, c.answer
	}
	if rec.Messages != "" {
		doc["sapMessages"] = json.RawMessage(rec.Messages)
	}
	if rec.Error != "" {
		doc["error"] = rec.Error
	}
	name, err := s.Archive.Put(ctx, Kind, att.Key(), rec.Outcome, rec.At, rec.InvocationID, doc)
	if err != nil {
		s.Log.WarnContext(ctx, "archiving the attempt failed", "salesorderid", att.Key(), "err", err)
		return
	}
	rec.Archive = name
}

// problemMessages are the SAP messages a problem carries (classify puts them under "sapMessages").
func problemMessages(err error) []classify.Message {
	var pe *problem.Error
	if errors.As(err, &pe) {
		if m, ok := pe.Extra["sapMessages"].([]classify.Message); ok {
			return m
		}
	}
	return nil
}

// detailOf is a problem's own words, without the chain of causes its Error adds.
func detailOf(err error) string {
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Detail != "" {
		return pe.Detail
	}
	return err.Error()
}
