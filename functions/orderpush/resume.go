package orderpush

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
)

// QueueMessage is what the order-push queue carries: which order, what is left to do, and how many times the
// work was sent again after an outage (for the backoff).
type QueueMessage struct {
	SalesOrderID string `json:"salesorderid"`
	Action       string `json:"action"`
	Retry        int    `json:"retry,omitempty"`
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

func (s *Service) enqueue(ctx context.Context, id, action string, retry int, delay time.Duration) error {
	b, _ := json.Marshal(QueueMessage{SalesOrderID: id, Action: action, Retry: retry})
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
	snap, found, err := s.Ledger.Get(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return problem.New(problem.NotFound, "no push is recorded for order %s", id)
	}
	e := snap.Entry
	later := func(err error, delay time.Duration) error {
		return s.enqueueOr(ctx, id, m, delay, err)
	}
	switch {
	case e.State == ledger.Completed:
		return nil
	case e.State == ledger.Rejected || e.State == ledger.Failed:
		if e.Reported {
			return nil
		}
		if err := s.reportEnd(ctx, snap); err != nil {
			return later(err, s.Backoff.Delay(m.Retry, asked(err)))
		}
		_, err := s.Ledger.Update(ctx, snap, func(e *ledger.Entry) { e.Reported = true })
		if err != nil && !isLost(err) {
			return err
		}
		return nil
	case e.State == ledger.Created:
		if err := s.finishFollowUp(ctx, id); err != nil {
			return later(err, s.Backoff.Delay(m.Retry, asked(err)))
		}
		return nil
	case e.State == ledger.InProgress && s.now().Before(e.LeaseUntil.Add(s.Ledger.Skew)):
		// Another attempt owns it: look again when its lease has ended.
		return later(nil, e.LeaseUntil.Add(s.Ledger.Skew+time.Second).Sub(s.now()))
	case m.Action != ActionPush:
		return nil // a write-back or report of a push that is not done: its own push message carries it
	}
	order, err := s.unpackOrder(ctx, e.Payload)
	if err != nil {
		return err
	}
	att, cur, err := s.Ledger.Take(ctx, id, snap, ledger.ClaimRequest{Owner: invocationID(ctx)})
	if err != nil {
		return err
	}
	if att == nil {
		if cur.State == ledger.Created {
			return later(nil, 0)
		}
		return nil // done, or owned by an attempt that has its own message
	}
	st := s.run(ctx, att, order, "queue")
	switch st.kind {
	case stepAgain:
		return later(st.err, st.delay)
	default:
		return nil // done, ended (recorded and reported), or owned by another attempt
	}
}

// enqueueOr sends the message's work again after delay, as a new message with the retry count raised, and
// acknowledges this one; if that fails, cause (or the queue error) asks the host to redeliver this one.
func (s *Service) enqueueOr(ctx context.Context, id string, m QueueMessage, delay time.Duration, cause error) error {
	if err := s.enqueue(ctx, id, m.Action, m.Retry+1, delay); err != nil {
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
