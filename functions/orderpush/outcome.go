package orderpush

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// recordTimeout bounds one write of an attempt's outcome. It runs detached from the caller: SAP has acted (or
// refused) and that must be recorded whatever the caller does now (hang up, run out of its wait).
const recordTimeout = 10 * time.Second

func (s *Service) recording(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

// following is the context for telling Dynamics and linking: what is left of the lease after the reserve the
// record needs, and never past the caller's own deadline (Power Automate gives up at 120 s). ok is false when
// nothing is left; the work is then queued.
func (s *Service) following(ctx context.Context, att *ledger.Attempt) (context.Context, context.CancelFunc, bool) {
	budget := att.Entry().LeaseUntil.Sub(s.now()) - s.Ledger.Skew - s.Ledger.Margin
	if d, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(d))
	}
	if budget <= 0 {
		return nil, func() {}, false
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	return fctx, cancel, true
}

// created records an order SAP has: the link row, the write-back to Dynamics, the archive, then the entry and
// the audit row in one transaction. Only the last is needed for exactly once; the link and the write-back get
// what following allows, and what does not fit is queued.
func (s *Service) created(ctx context.Context, att *ledger.Attempt, order *Order, c *created, number string, rec *attemptRecord) step {
	id := att.Key()
	number = sap.NormalizeDocumentNumber(number)
	res := Result{SalesOrderID: id, SAPSalesOrder: number, Created: true, State: StateCreated}
	rctx, cancel := s.recording(ctx)
	defer cancel()
	followed := false
	if fctx, fcancel, ok := s.following(ctx, att); ok {
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
	s.archiveAttempt(rctx, att, order, c, rec, nil)
	if err := att.Created(rctx, number, followed, s.auditRows(ctx, rec)...); err != nil {
		// SAP has the order and this call knows its number; a later attempt finds it by its reference.
		s.Log.WarnContext(ctx, "recording the created order failed", "salesorderid", id, "sapSalesOrder", number, "err", err)
	}
	if !followed {
		res.WriteBackPending = true
		if err := s.enqueue(rctx, id, ActionWriteBack, 0, s.Backoff.Delay(0, 0)); err != nil {
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
	rctx, cancel := s.recording(ctx)
	defer cancel()
	msgs := problemMessages(p)
	first := ""
	if len(msgs) > 0 {
		first = msgs[0].Code + " " + msgs[0].Message
	}
	b, _ := json.Marshal(msgs)
	rec.Outcome, rec.Error, rec.Messages = "rejected", p.Error(), string(b)
	s.archiveAttempt(rctx, att, order, rec.sent, rec, p)
	if err := s.recordEnd(rctx, func(c context.Context) error {
		return att.Rejected(c, detailOf(p), string(b), false, s.auditRows(ctx, rec)...)
	}); err != nil {
		return s.unrecorded(ctx, att, "rejection", err)
	}
	s.tellEnd(ctx, rctx, att, "Rejected by SAP: "+first, first)
	return step{kind: stepEnded, err: p, res: Result{SalesOrderID: id, State: StateRejected}}
}

// fail ends the push for a permanent reason that is not SAP's (the order cannot be mapped): nothing was sent. As
// with a rejection, the end is recorded before Dynamics is told.
func (s *Service) fail(ctx context.Context, att *ledger.Attempt, order *Order, p error, rec *attemptRecord) step {
	id := att.Key()
	rctx, cancel := s.recording(ctx)
	defer cancel()
	rec.Outcome, rec.Error = "failed", p.Error()
	s.archiveAttempt(rctx, att, order, rec.sent, rec, p)
	if err := s.recordEnd(rctx, func(c context.Context) error { return att.Fail(c, p, false, s.auditRows(ctx, rec)...) }); err != nil {
		return s.unrecorded(ctx, att, "failure", err)
	}
	s.tellEnd(ctx, rctx, att, notSentText(p.Error(), problem.KindOf(p).String()), "")
	return step{kind: stepEnded, err: p, res: Result{SalesOrderID: id, State: StateFailed}}
}

// recordEnd writes an end, trying again after a storage blip: an end left unrecorded keeps the claim's intent,
// and the next attempt would wait out the whole commit window before it may create.
func (s *Service) recordEnd(ctx context.Context, write func(context.Context) error) error {
	var err error
	for try, wait := 0, 100*time.Millisecond; try < 3; try, wait = try+1, wait*3 {
		if err = write(ctx); err == nil || isLost(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
	return err
}

// tellEnd tells Dynamics how the push ended, within what following allows, and marks the entry reported; a
// failure (or no time left) queues the report instead.
func (s *Service) tellEnd(ctx, rctx context.Context, att *ledger.Attempt, status, sapMessage string) {
	id := att.Key()
	told := errors.New("no time was left to tell Dynamics")
	if fctx, fcancel, ok := s.following(ctx, att); ok {
		told = s.writeBackEnd(fctx, id, status, sapMessage)
		fcancel()
	}
	if told != nil {
		s.reportLater(rctx, id, told)
		return
	}
	if err := att.MarkReported(rctx); err != nil {
		s.Log.WarnContext(ctx, "recording that Dynamics was told failed; it may be told again", "salesorderid", id, "err", err)
	}
}

// unrecorded answers an end the ledger could not record: another attempt took the order over (it decides), or
// storage failed, in which case the entry keeps this attempt's intent and lease and the queue settles it later.
// Either way the caller must not be given a final answer the ledger does not hold.
func (s *Service) unrecorded(ctx context.Context, att *ledger.Attempt, what string, err error) step {
	if isLost(err) {
		return step{kind: stepLost}
	}
	s.Log.WarnContext(ctx, "recording the "+what+" failed; the queue settles the order", "salesorderid", att.Key(), "err", err)
	rctx, cancel := s.recording(ctx)
	defer cancel()
	wait := max(att.Entry().LeaseUntil.Sub(s.now())+s.Ledger.Skew, 0) + time.Second
	// No schedule on this message: the entry could not record one, so nothing may take it for overtaken.
	qerr := s.enqueue(rctx, att.Key(), ActionPush, 0, wait)
	return step{kind: stepAgain, err: classify.Storage(err, "recording the "+what), delay: wait, queueErr: qerr,
		res: Result{SalesOrderID: att.Key(), State: StateInProgress}}
}

// reportLater queues telling Dynamics how the push ended, after the write-back failed with cause, as created
// queues an owed write-back: the sweeper is the net for a lost message, not the way an end gets reported.
func (s *Service) reportLater(ctx context.Context, id string, cause error) {
	if err := s.enqueue(ctx, id, ActionReport, 0, s.Backoff.Delay(0, classify.RemoteRetryAfter(cause))); err != nil {
		s.Log.ErrorContext(ctx, "report not queued; the sweeper will retry it", "salesorderid", id, "err", err)
	}
}

// again gives the order back to the queue after a backoff (or when an unresolved create's hold ends, if sooner:
// the hold's lookups are what settle it). Unavailability never ends an order. The next try is queued before the
// entry records its schedule: if the message cannot be queued, the entry keeps the schedule of the message that
// is (or the sweeper's grace), so the one live chain is never taken for an overtaken one.
func (s *Service) again(ctx context.Context, att *ledger.Attempt, order *Order, p error, rec *attemptRecord) step {
	id := att.Key()
	rctx, cancel := s.recording(ctx)
	defer cancel()
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
	s.archiveAttempt(rctx, att, order, rec.sent, rec, p)
	due := s.now().Add(delay)
	next := due
	qerr := s.enqueueDue(rctx, id, ActionPush, att.Entry().Retries+1, delay, due)
	if qerr != nil {
		next = att.Entry().NextAttempt
	}
	if err := att.Retry(rctx, p, next, s.auditRows(ctx, rec)...); err != nil {
		if isLost(err) {
			return step{kind: stepLost}
		}
		s.Log.WarnContext(ctx, "recording the retry failed", "salesorderid", id, "err", err)
	}
	return step{kind: stepAgain, err: p, delay: delay, queueErr: qerr, res: Result{SalesOrderID: id, State: StateAccepted}}
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
