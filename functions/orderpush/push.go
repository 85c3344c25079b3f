package orderpush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
)

// Push handles POST /api/orders. async asks for 202 at once (Prefer: respond-async).
func (s *Service) Push(ctx context.Context, req Request, async bool) (Result, error) {
	id := req.SalesOrderID
	res := Result{SalesOrderID: id}
	// One deadline for the whole request, from its start: reading the order, the claim, the attempt. What follows
	// SAP's answer is recorded past it (detached, bounded), and what does not fit is queued, so the caller always
	// hears within ORDER_PUSH_SYNC_TIMEOUT plus the time one record takes.
	ctx, cancel := context.WithTimeout(ctx, s.SyncTimeout)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		return res, err
	}
	order := req.Order
	if order == nil {
		var err error
		if order, err = s.loadOrder(ctx, id); err != nil {
			return s.orReplay(ctx, id, err)
		}
	}
	ref, err := s.Mapping.Reference.For(order)
	if err != nil {
		return s.orReplay(ctx, id, problem.InvalidFields("the order cannot be pushed", []problem.FieldError{{Field: "ordernumber", Reason: err.Error()}}))
	}
	// What the order itself gets wrong is a 400 before anything is recorded; what only SAP can tell (a unit the
	// material lacks) is found by the attempt and recorded.
	if _, err := s.Mapping.Map(ctx, order, ref, nil); err != nil {
		return s.orReplay(ctx, id, err)
	}
	packed, err := s.packOrder(ctx, order)
	if err != nil {
		return res, err
	}
	po, soldTo := s.Mapping.sendKey(order, ref)
	intent := ledger.Run
	if async {
		intent = ledger.Queue
	}
	att, cur, err := s.Ledger.Claim(ctx, ledger.ClaimRequest{Key: id, Ref: ref, Payload: packed,
		Data: pushData{}.with(po, soldTo).encode(), Owner: invocationID(ctx), Intent: intent})
	if err != nil {
		return res, err
	}
	if async {
		return s.accepted(ctx, id, cur)
	}
	if att == nil {
		if cur.State.Done() {
			return s.replay(ctx, id, cur)
		}
		return s.waitFor(ctx, id, packed)
	}
	// A safety net: should this instance die mid-attempt, the queue takes the order over once the lease has
	// passed (and, in the usual case, finds it done and drops the message).
	if err := s.enqueue(ctx, id, ActionPush, 0, s.Ledger.Lease+s.Ledger.Skew+time.Second); err != nil {
		s.Log.WarnContext(ctx, "no safety-net message queued; the sweeper will find the order if this attempt dies", "salesorderid", id, "err", err)
	}
	st := s.run(ctx, att, order, "http")
	return s.answer(ctx, id, st)
}

// orReplay answers a push whose order cannot be read or mapped now: if SAP already has the order (the data in
// Dynamics changed since, or the order was deleted), the push is a replay and answers the SAP number; otherwise
// the error stands.
func (s *Service) orReplay(ctx context.Context, id string, cause error) (Result, error) {
	snap, found, err := s.Ledger.Get(ctx, id)
	if err == nil && found && snap.Entry.State.Done() {
		return s.replay(ctx, id, snap.Entry)
	}
	return Result{SalesOrderID: id}, cause
}

// answer turns an attempt's step into the HTTP outcome.
func (s *Service) answer(ctx context.Context, id string, st step) (Result, error) {
	res := Result{SalesOrderID: id}
	switch st.kind {
	case stepDone:
		return st.res, nil
	case stepLost:
		return s.waitFor(ctx, id, "")
	case stepAgain:
		if st.queueErr != nil {
			// Recorded, but no message could be queued: the caller's retry (or the sweeper) finishes it.
			return res, problem.Wrap(problem.Unavailable, st.queueErr, "order %s is recorded but could not be queued; push it again", id)
		}
		if problem.KindOf(st.err) == problem.Internal {
			return res, st.err // queued, but the caller must hear that something is wrong (the reference breaker)
		}
		res.State, res.Accepted, res.RetryAfter = StateAccepted, true, max(st.delay, time.Second)
		return res, nil
	}
	res.State = st.res.State
	return res, st.err
}

// accepted answers Prefer: respond-async: queued (or already done, or already being pushed).
func (s *Service) accepted(ctx context.Context, id string, cur ledger.Entry) (Result, error) {
	switch {
	case cur.State.Done():
		return s.replay(ctx, id, cur)
	case cur.State == ledger.Accepted:
		// Queued now or before: one more message is harmless (a push is idempotent), a missing one is not.
		delay := time.Duration(0)
		if cur.HoldUntil.After(s.now()) {
			delay = cur.HoldUntil.Sub(s.now())
		}
		if err := s.enqueue(ctx, id, ActionPush, 0, delay); err != nil {
			return Result{SalesOrderID: id}, err
		}
	}
	return Result{SalesOrderID: id, State: stateOf(cur), Accepted: true, RetryAfter: 5 * time.Second}, nil
}

// replay answers a push of an order that SAP already has, finishing the write-back when it is owed.
func (s *Service) replay(ctx context.Context, id string, e ledger.Entry) (Result, error) {
	res := Result{SalesOrderID: id, SAPSalesOrder: e.Result, State: stateOf(e)}
	// A push again of an order Dynamics does not know the number of (yet, or any more after a refusal) tries the
	// write-back once more.
	if e.State == ledger.Created || e.State == ledger.Completed && !e.Reported {
		if err := s.finishFollowUp(ctx, id); err != nil {
			s.Log.WarnContext(ctx, "write-back still pending; queued", "salesorderid", id, "err", err)
			res.WriteBackPending = true
			if qerr := s.enqueue(ctx, id, ActionWriteBack, 0, s.Backoff.Delay(0, classify.RemoteRetryAfter(err))); qerr != nil {
				s.Log.ErrorContext(ctx, "write-back not queued; the sweeper will retry it", "salesorderid", id, "err", qerr)
			}
		} else {
			res.State = StateWrittenBack
		}
	}
	return res, nil
}

// waitFor waits, within the request's deadline, for the attempt that owns the order, and answers its outcome.
// payload, when given, is the order as this caller pushed it: if the attempt ends queued, the queue must send
// that (a correction pushed while an attempt ran), so it replaces the entry's payload.
func (s *Service) waitFor(ctx context.Context, id, payload string) (Result, error) {
	deadline := time.Now().Add(s.SyncTimeout)
	if d, ok := ctx.Deadline(); ok {
		deadline = d
	}
	delay := 50 * time.Millisecond
	for {
		snap, found, err := s.Ledger.Get(ctx, id)
		if err != nil {
			return Result{SalesOrderID: id}, err
		}
		if found {
			e := snap.Entry
			switch {
			case e.State.Done():
				return s.replay(ctx, id, e)
			case e.State == ledger.Rejected || e.State == ledger.Failed:
				return Result{SalesOrderID: id, State: stateOf(e)}, endProblem(id, e)
			case e.State == ledger.Accepted:
				if payload != "" && payload != e.Payload {
					if _, err := s.Ledger.Update(ctx, snap, func(e *ledger.Entry) { e.Payload = payload }); err != nil && !isLost(err) {
						return Result{SalesOrderID: id}, err
					}
				}
				return Result{SalesOrderID: id, State: StateAccepted, Accepted: true, RetryAfter: 5 * time.Second}, nil
			}
		}
		if time.Now().Add(delay).After(deadline) {
			return Result{SalesOrderID: id, State: StateInProgress}, &problem.Error{Kind: problem.Conflict, RetryAfter: 5 * time.Second,
				Detail: fmt.Sprintf("order %s is being pushed by another request right now; poll its status", id)}
		}
		select {
		case <-ctx.Done():
			return Result{SalesOrderID: id}, problem.Wrap(problem.Timeout, ctx.Err(), "waiting for the concurrent push of order %s", id)
		case <-time.After(delay + time.Duration(rand.Int64N(int64(delay)))):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

// endProblem is the problem an ended push answers with, as the attempt that ended it did: 422 with SAP's
// messages for a rejection, the failure's own kind otherwise.
func endProblem(id string, e ledger.Entry) error {
	if e.State == ledger.Rejected {
		return &problem.Error{Kind: problem.Rejected, Detail: fmt.Sprintf("SAP rejected order %s: %s", id, e.LastError),
			Extra: map[string]any{"sapMessages": messagesOf(e)}}
	}
	kind, ok := problem.KindNamed(e.Kind)
	if !ok {
		kind = problem.Internal
	}
	p := &problem.Error{Kind: kind, Detail: fmt.Sprintf("the push of order %s failed: %s", id, e.LastError)}
	// The fields the failed attempt named, so a flow fixes the same data whether it pushed or polled.
	_ = json.Unmarshal([]byte(e.Fields), &p.Fields)
	return p
}

var errNoWriteBack = errors.New("nothing to write back")
