package statusupdates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/sapevent"
	"github.com/d365sap/d365sap/shared/trigger"
)

// maxMissing is how many times a document SAP does not show (yet) is read again before the event is
// dead-lettered: a Created event can arrive before SAP's read side shows the document, but not for hours.
const maxMissing = 8

// Handle works one message. A message that is no consumed CloudEvent is permanent (dead letters, with the
// reason); an outage of SAP, Dataverse or storage sends the work again after a backoff and acknowledges this
// delivery, so no outage uses up the host's deliveries.
func (s *Service) Handle(ctx context.Context, m trigger.Message) error {
	raw, err := cloudevent.QueueJSON(m.Body)
	if err != nil {
		return problem.Wrap(problem.Invalid, err, "message %s is not a CloudEvent", m.ID)
	}
	e, err := cloudevent.ReadQueue(raw)
	if err != nil {
		return problem.Wrap(problem.Invalid, err, "message %s is not a CloudEvent", m.ID)
	}
	ref, err := sapevent.RefOf(e)
	if err != nil {
		return err
	}
	var env envelope
	_ = json.Unmarshal(raw, &env)
	if s.Ready != nil {
		err = s.Ready(ctx)
	}
	if err == nil {
		err = s.work(ctx, ref, env)
	}
	if err == nil || !problem.Retryable(err) {
		return err
	}
	next := envelope{Retry: env.Retry + 1, Missing: env.Missing}
	var missing *missingError
	if errors.As(err, &missing) {
		next.Missing++
	}
	body, berr := e.Marshal()
	if berr == nil {
		body, berr = next.onto(body)
	}
	if berr != nil {
		return errors.Join(err, berr)
	}
	delay := s.Backoff.Delay(env.Retry, problem.RetryAfterOf(err))
	if qerr := ledger.Requeue(ctx, s.Queue, s.QueueName, body, delay); qerr != nil {
		return errors.Join(err, qerr)
	}
	s.Stats.Requeued.Add(1)
	s.log().WarnContext(ctx, "status update met an outage; sent again later", "document", ref.String(), "retry", next.Retry,
		"delay", delay.String(), "err", err)
	return nil
}

// work finds the SAP orders the document concerns and reconciles each. One order's failure does not keep the
// others from being applied: a retry redoes only what is not applied yet (the rest costs no write), and a
// permanent failure of one order is reported once the others are done.
func (s *Service) work(ctx context.Context, ref sapevent.Ref, env envelope) error {
	orders, err := s.ordersOf(ctx, ref, env)
	if err != nil {
		return err
	}
	var retry, permanent []error
	for _, o := range orders {
		if err := s.reconcile(ctx, o, ref, env); err != nil {
			if problem.Retryable(err) {
				retry = append(retry, err)
			} else {
				permanent = append(permanent, err)
			}
		}
	}
	if ref.Object == sapevent.BillingDocument && s.Invoices != nil {
		err := s.Invoices.Reconcile(ctx, ref.Number)
		if errors.Is(err, sap.ErrNotFound) {
			err = s.missing(ctx, ref, env, err)
		}
		if err != nil {
			if problem.Retryable(err) {
				retry = append(retry, err)
			} else {
				permanent = append(permanent, err)
			}
		}
	}
	switch {
	case len(retry) > 0:
		return retry[0]
	case len(permanent) > 0:
		return errors.Join(permanent...)
	}
	return nil
}

// ordersOf re-reads the document an event names and returns the SAP orders it belongs to.
func (s *Service) ordersOf(ctx context.Context, ref sapevent.Ref, env envelope) ([]string, error) {
	switch ref.Object {
	case sapevent.SalesOrder:
		return []string{ref.Number}, nil
	case sapevent.OutboundDelivery:
		d, err := s.SAP.GetOutboundDelivery(ctx, ref.Number)
		if err != nil {
			return nil, s.missing(ctx, ref, env, err)
		}
		var out []string
		for _, it := range d.Items.Results {
			out = appendOnce(out, sap.NormalizeDocumentNumber(it.ReferenceSDDocument))
		}
		return out, nil
	case sapevent.BillingDocument:
		b, err := s.SAP.GetBillingDocument(ctx, ref.Number)
		if err != nil {
			return nil, s.missing(ctx, ref, env, err)
		}
		var out []string
		for _, it := range b.Items.Results {
			out = appendOnce(out, sap.NormalizeDocumentNumber(it.SalesDocument))
		}
		return out, nil
	}
	return nil, problem.New(problem.Invalid, "no status update reads %s", ref.Object)
}

// missingError is a document SAP does not show (yet): read again later, a bounded number of times.
type missingError struct{ err *problem.Error }

func (e *missingError) Error() string { return e.err.Error() }
func (e *missingError) Unwrap() error { return e.err }

// missing decides about a document SAP did not give: deleted (its Deleted event) is the end of the work; not
// visible yet is read again, at most maxMissing times (counted apart from outages); anything else is classified.
func (s *Service) missing(ctx context.Context, ref sapevent.Ref, env envelope, err error) error {
	if !errors.Is(err, sap.ErrNotFound) {
		return classify.SAP(err, "reading "+ref.String())
	}
	if ref.Operation == "Deleted" {
		// A delivery or billing document is gone and its event names no order: the order's columns are set again
		// by its next event.
		s.audit(ctx, "sap-"+string(ref.Object)+"-"+ref.Number, "gone", ref.Number, "SAP no longer has "+ref.String())
		return nil
	}
	if env.Missing >= maxMissing {
		return problem.New(problem.NotFound, "SAP still does not show %s after %d reads", ref, env.Missing+1)
	}
	return &missingError{problem.New(problem.Unavailable, "SAP does not show %s (yet)", ref)}
}

func appendOnce(list []string, v string) []string {
	if v == "" {
		return list
	}
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// audit writes an entry of the document's story; a failure is logged, never the cause of a retry (the work is
// done, and the log keeps the story).
func (s *Service) audit(ctx context.Context, key, outcome, remote, detail string) {
	if s.Audit == nil {
		return
	}
	inv, _ := trigger.InvocationFrom(ctx)
	d, _ := json.Marshal(detail)
	if err := s.Audit.Insert(ctx, audit.Entry{Kind: "statusupdate", Key: key, InvocationID: inv.ID, Trigger: "queue",
		Outcome: outcome, RemoteID: remote, Detail: string(d)}); err != nil {
		s.log().WarnContext(ctx, "writing the audit entry failed", "key", key, "outcome", outcome, "err", err)
	}
}

func orderKey(number string) string { return fmt.Sprintf("status-salesorder-%s", number) }
