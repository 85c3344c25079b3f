package orderpush

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
)

// QueueMessage is what the order-push queue carries: which order, what is left to do, and how many times the
// work was sent again after an outage (for the backoff).
type QueueMessage struct {
	SalesOrderID string `json:"salesorderid"`
	Action       string `json:"action"`
	Retry        int    `json:"retry,omitempty"`
	// Due is when the attempt that sent it scheduled the order's next try (Unix ms; the entry's NextAttempt).
	Due int64 `json:"due,omitempty"`
	// LastDelivery is set by the queue function when the host will not deliver this message again (it has
	// reached maxDequeueCount). It happens only when the function itself keeps failing (storage down, a crash):
	// outages of SAP or Dataverse send the work again as a new message instead.
	LastDelivery bool `json:"-"`
}

// Queue message actions.
const (
	ActionPush      = "push"
	ActionWriteBack = "writeback"
	ActionReport    = "report"
)

// IsAction says whether a is one of the queue message actions (exactly as enqueue writes them).
func IsAction(a string) bool { return a == ActionPush || a == ActionWriteBack || a == ActionReport }

func (s *Service) enqueue(ctx context.Context, id, action string, retry int, delay time.Duration) error {
	return s.enqueueDue(ctx, id, action, retry, delay, time.Time{})
}

// enqueueDue is enqueue for the try an attempt scheduled at due (the entry's NextAttempt): a message of an
// older schedule is dropped when it arrives (see resumeEntry).
func (s *Service) enqueueDue(ctx context.Context, id, action string, retry int, delay time.Duration, due time.Time) error {
	m := QueueMessage{SalesOrderID: id, Action: action, Retry: retry}
	if !due.IsZero() {
		m.Due = due.UnixMilli()
	}
	b, _ := json.Marshal(m)
	if err := ledger.Requeue(ctx, s.Queue, s.QueueName, b, delay); err != nil {
		return problem.Wrap(problem.Unavailable, err, "queueing %s of order %s", action, id)
	}
	return nil
}

// Resume continues a queued push, write-back or report (the order-push queue function). A nil error
// acknowledges the message: work that met an outage has been sent again, later, as a new message.
func (s *Service) Resume(ctx context.Context, m QueueMessage) error {
	err := s.resume(ctx, m)
	if err != nil && m.LastDelivery && problem.Retryable(err) {
		// The entry keeps its state and any hold; the sweeper sends it to the queue again once storage answers.
		s.Log.ErrorContext(ctx, "the queue gives up on this message; the sweeper will re-queue the order",
			"salesorderid", m.SalesOrderID, "err", err)
	}
	return err
}

func (s *Service) resume(ctx context.Context, m QueueMessage) error {
	id := strings.ToLower(m.SalesOrderID)
	if !IsOrderID(id) {
		return problem.New(problem.Invalid, "%q is not an order id", m.SalesOrderID)
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	for try := 0; ; try++ {
		snap, found, err := s.Ledger.Get(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return problem.New(problem.NotFound, "no push is recorded for order %s", id)
		}
		decided, err := s.resumeEntry(ctx, id, m, snap)
		// The entry changed between the read and the take (a push, a rejection, a correction): decide again on
		// what it is now, never on the old read.
		if !decided && try < 3 {
			continue
		}
		return err
	}
}

// resumeEntry does what the message asks of the entry as read. decided is false when the entry changed under it.
func (s *Service) resumeEntry(ctx context.Context, id string, m QueueMessage, snap ledger.Snapshot) (bool, error) {
	e := snap.Entry
	later := func(err error, delay time.Duration, due time.Time) error {
		return s.enqueueOr(ctx, id, m, delay, due, err)
	}
	backoff := func(err error) time.Duration { return s.Backoff.Delay(m.Retry, classify.RemoteRetryAfter(err)) }
	switch {
	case e.State == ledger.Completed && m.Action == ActionReport && e.Reported:
		// A report of an earlier end that met this push again: say what holds now, in case it landed after the
		// push's own write-back.
		if err := s.writeBackCreated(ctx, id, e.Result); err != nil && problem.Retryable(err) {
			return true, later(err, backoff(err), time.Time{})
		}
		return true, nil
	case e.State == ledger.Completed && (e.Reported || m.Action != ActionWriteBack):
		return true, nil
	case e.State == ledger.Rejected || e.State == ledger.Failed:
		if e.Reported {
			return true, nil
		}
		return true, s.reportAgain(ctx, id, snap, func(err error) error { return later(err, backoff(err), time.Time{}) })
	case e.State == ledger.Created, e.State == ledger.Completed && !e.Reported && m.Action == ActionWriteBack:
		err := s.finishFollowUp(ctx, id)
		switch {
		case err == nil:
			return true, nil
		case !problem.Retryable(err) && m.Retry >= refusedWriteBackTries:
			return true, s.giveUpWriteBack(ctx, id, err)
		case !problem.Retryable(err):
			// Dynamics refused it; a plugin that throws or a record locked for a while answer the same 400 as
			// a closed order. Try again, slower, before giving up.
			return true, later(err, max(backoff(err), time.Minute), time.Time{})
		}
		return true, later(err, backoff(err), time.Time{})
	case e.State == ledger.InProgress && s.now().Before(e.LeaseUntil.Add(s.Ledger.Skew)):
		// Another attempt owns it: look again when its lease has ended.
		return true, later(nil, e.LeaseUntil.Add(s.Ledger.Skew+time.Second).Sub(s.now()), time.Time{})
	case m.Action != ActionPush:
		return true, nil // a write-back or report of a push that is not done: its own push message carries it
	case m.Due != 0 && e.NextAttempt.UnixMilli() > m.Due:
		// A later attempt scheduled the order's next try: this message belongs to a chain that was overtaken (a
		// caller pushed again meanwhile). Dropping it keeps one chain of retries per order, not one per retry.
		return true, nil
	}
	att, cur, err := s.Ledger.Take(ctx, id, snap, ledger.ClaimRequest{Owner: invocationID(ctx)})
	if err != nil {
		return true, err
	}
	if att == nil {
		if cur.State == e.State && cur.UpdatedAt.Equal(e.UpdatedAt) {
			return true, nil // owned by an attempt that has its own message
		}
		return false, nil
	}
	// The order the caller pushed last, as the entry holds it now that it is ours.
	order, err := s.unpackOrder(ctx, att.Entry().Payload)
	if err != nil {
		return true, err
	}
	st := s.run(ctx, att, order, "queue")
	if st.kind == stepAgain && st.queueErr != nil {
		// The next try could not be queued: have this message redelivered (the entry kept its schedule).
		return true, st.queueErr
	}
	return true, nil // done, ended (recorded and reported), or owned by another attempt
}

// reportAgain tells Dynamics how an ended push ended, when the first try failed. If the entry moved on meanwhile
// (pushed again and created), Dynamics is told its current state instead, so a stale report never has the last
// word.
func (s *Service) reportAgain(ctx context.Context, id string, snap ledger.Snapshot, retry func(error) error) error {
	if err := s.reportEnd(ctx, snap); err != nil {
		if problem.Retryable(err) {
			return retry(err)
		}
		s.Log.ErrorContext(ctx, "Dynamics refuses the push's outcome for good; an operator must look at the order",
			"salesorderid", id, "state", string(snap.Entry.State), "err", err)
	}
	_, err := s.Ledger.Update(ctx, snap, func(e *ledger.Entry) { e.Reported = true })
	if !isLost(err) {
		return err
	}
	now, found, gerr := s.Ledger.Get(ctx, id)
	switch {
	case gerr != nil:
		return gerr
	case found && (now.Entry.State == ledger.InProgress || now.Entry.State == ledger.Accepted):
		// Pushed again and not finished: look again when it has, so the report of the old end never has the last
		// word over the new one.
		return retry(problem.New(problem.Unavailable, "order %s is being pushed again", id))
	case found && now.Entry.State == ledger.Completed:
		if err := s.writeBackCreated(ctx, id, now.Entry.Result); err != nil && problem.Retryable(err) {
			return retry(err)
		}
	case found && now.Entry.State == ledger.Created:
		if err := s.finishFollowUp(ctx, id); err != nil && problem.Retryable(err) {
			return retry(err)
		}
	}
	return nil
}

// refusedWriteBackTries is how many times a write-back Dynamics refuses is tried (a minute or more apart) before
// the push stops trying it.
const refusedWriteBackTries = 8

// giveUpWriteBack ends a created push whose write-back Dynamics refuses for good (the order was closed or made
// read-only): SAP has the order, nothing more can be done automatically, so the entry stops being retried and the
// status says what happened.
func (s *Service) giveUpWriteBack(ctx context.Context, id string, cause error) error {
	snap, found, err := s.Ledger.Get(ctx, id)
	if err != nil || !found || snap.Entry.State != ledger.Created {
		return err
	}
	s.Log.ErrorContext(ctx, "Dynamics refuses the SAP number for good; an operator must write it to the order",
		"salesorderid", id, "sapSalesOrder", snap.Entry.Result, "err", cause)
	_, err = s.Ledger.Update(ctx, snap, func(e *ledger.Entry) {
		e.State, e.Reported, e.CompletedAt, e.NextAttempt = ledger.Completed, false, s.now(), time.Time{}
		e.LastError, e.Kind = "SAP has the order; Dynamics refused the write-back: "+cause.Error(), problem.KindOf(cause).String()
	})
	if isLost(err) {
		return nil
	}
	return err
}

// enqueueOr sends the message's work again after delay, as a new message with the retry count raised, and
// acknowledges this one; if that fails, cause (or the queue error) asks the host to redeliver this one.
func (s *Service) enqueueOr(ctx context.Context, id string, m QueueMessage, delay time.Duration, due time.Time, cause error) error {
	if err := s.enqueueDue(ctx, id, m.Action, m.Retry+1, delay, due); err != nil {
		if cause != nil {
			return errors.Join(cause, err)
		}
		return err
	}
	if cause != nil {
		s.Log.InfoContext(ctx, "order push sent to the queue again", "salesorderid", id, "retry", m.Retry+1, "delay", delay.String(), "err", cause)
	}
	return nil
}

func isLost(err error) bool { return errors.Is(err, ledger.ErrLost) }
