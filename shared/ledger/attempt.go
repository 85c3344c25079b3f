package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
)

// Attempt is the owner of a key for the length of its lease. Its methods run the remote calls under the ledger's
// rules and record the outcome; each records at most once, guarded by the entry's ETag.
type Attempt struct {
	l   *Ledger
	row store.Row[json.RawMessage]
	e   Entry
	// intentMarked: the entry's SentUntil covers this attempt's own call (written by the claim or by Apply).
	intentMarked bool
	// resolvedClear: Resolve proved an earlier unresolved send did not apply (the window passed, nothing found).
	resolvedClear bool
	// called: Apply called the remote; notApplied: its answer proved the remote did nothing.
	called, notApplied bool
}

// Key is the attempt's key.
func (a *Attempt) Key() string { return a.row.PartitionKey }

// Entry is the entry as the attempt holds it.
func (a *Attempt) Entry() Entry { return a.e }

// SetData changes the caller's state; it is stored with the next write (before Apply's call, if any).
func (a *Attempt) SetData(data string) { a.e.Data = data }

// Find asks the remote for the effect carrying the entry's reference: its id, or "" when the remote has none.
type Find func(ctx context.Context, e Entry) (string, error)

// Resolution is what Resolve learnt.
type Resolution struct {
	// Result is the remote's id when an earlier send did apply.
	Result string
	// HoldUntil is set when an earlier send is unresolved and may still apply: no new call before then.
	HoldUntil time.Time
}

// Resolve settles an earlier send whose outcome is unknown, by asking the remote. It must run before Apply
// whenever the entry is unresolved; on a fresh claim it does nothing. A lookup proves absence only when it
// started after the commit window (from SentUntil, plus the skew tolerance) had passed.
func (a *Attempt) Resolve(ctx context.Context, find Find) (Resolution, error) {
	if !a.e.Unresolved() || (a.intentMarked && !a.called) || a.resolvedClear {
		return Resolution{}, nil
	}
	started := a.l.now()
	id, err := find(ctx, a.e)
	if err != nil {
		return Resolution{}, fmt.Errorf("looking up the earlier send of %s: %w", a.Key(), err)
	}
	if id != "" {
		a.e.Result = id
		return Resolution{Result: id}, nil
	}
	if until := a.holdEnd(); started.Before(until) {
		return Resolution{HoldUntil: until}, nil
	}
	a.resolvedClear = true
	return Resolution{}, nil
}

func (a *Attempt) holdEnd() time.Time {
	return a.e.SentUntil.Add(a.l.CommitWindow + a.l.Skew)
}

// Proof is what an answer to a remote call proves.
type Proof int

const (
	// Unknown: the remote may have applied the call (timeouts, resets, any 5xx, an answer that does not parse).
	Unknown Proof = iota
	// NotApplied: the remote's answer proves it did nothing (a business rejection, a refused connection).
	NotApplied
)

// Effect is the remote call that must happen exactly once.
type Effect struct {
	// Timeout bounds the whole call; it is started only when the lease still covers it plus the margin.
	Timeout time.Duration
	// Call performs the effect, storing the entry's Ref with it, and returns the remote's id.
	Call func(ctx context.Context, e Entry) (string, error)
	// Proof classifies Call's error.
	Proof func(err error) Proof
}

// ErrNoTime: the lease (or the caller's deadline) no longer covers the call; nothing was sent.
var ErrNoTime = errors.New("ledger: not enough time left to start the remote call")

// ErrUnresolved: Apply was called while an earlier send is unresolved (Resolve first).
var ErrUnresolved = errors.New("ledger: an earlier send is unresolved")

// ApplyError is a failed call, with what its answer proves.
type ApplyError struct {
	Proof Proof
	Err   error
}

func (e *ApplyError) Error() string {
	if e.Proof == NotApplied {
		return "the remote did not apply it: " + e.Err.Error()
	}
	return "the remote's outcome is unknown: " + e.Err.Error()
}

func (e *ApplyError) Unwrap() error { return e.Err }

// Apply runs the effect once. It records the intent first unless the claim did, bounds the call by the lease,
// and detaches it from ctx's cancellation: a caller that gives up must not abandon a call mid-flight (the
// remote would go on anyway). The error is ErrNoTime, ErrUnresolved, ErrLost, a storage problem, or an
// *ApplyError.
func (a *Attempt) Apply(ctx context.Context, eff Effect) (string, error) {
	if a.called {
		return "", errors.New("ledger: an attempt applies its effect at most once")
	}
	if a.e.Unresolved() && !a.intentMarked && !a.resolvedClear {
		return "", ErrUnresolved
	}
	now := a.l.now()
	sendBy := a.l.sendDeadline(a.e.LeaseUntil)
	if now.Add(eff.Timeout).After(sendBy) {
		return "", ErrNoTime
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < eff.Timeout {
		return "", ErrNoTime
	}
	if !a.intentMarked {
		e := a.e
		e.SentUntil, e.Sends, e.HoldUntil, e.UpdatedAt = sendBy, e.Sends+1, time.Time{}, now
		row, err := a.l.write(ctx, a.row, e, nil)
		if err != nil {
			return "", err
		}
		a.row, a.e, a.intentMarked, a.resolvedClear = row, e, true, false
	}
	// Durations, not instants: the ledger's clock may differ from the one contexts run on.
	budget := min(eff.Timeout, a.e.SentUntil.Sub(now))
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	a.called = true
	id, err := eff.Call(cctx, a.e)
	if err == nil {
		if id == "" {
			return "", &ApplyError{Proof: Unknown, Err: errors.New("the remote answered without an id")}
		}
		a.e.Result = id
		return id, nil
	}
	p := Unknown
	if eff.Proof != nil {
		p = eff.Proof(err)
	}
	a.notApplied = p == NotApplied
	return "", &ApplyError{Proof: p, Err: err}
}

// settle is the entry as it must be stored after this attempt, whatever the outcome: the intent is cleared only
// when the effect is done or proved not applied.
func (a *Attempt) settle(state State, now time.Time) Entry {
	e := a.e
	e.State, e.Owner, e.LeaseUntil, e.UpdatedAt = state, "", time.Time{}, now
	clear := state.Done() || a.notApplied || (a.intentMarked && !a.called) || (a.resolvedClear && !a.called)
	if clear {
		e.SentUntil, e.HoldUntil = time.Time{}, time.Time{}
	} else if e.Unresolved() {
		e.HoldUntil = e.SentUntil.Add(a.l.CommitWindow + a.l.Skew)
	}
	return e
}

func (a *Attempt) record(ctx context.Context, e Entry, extra []store.Row[json.RawMessage]) error {
	row, err := a.l.write(ctx, a.row, e, extra)
	if err != nil {
		return err
	}
	a.row, a.e = row, e
	return nil
}

// Created records that the remote has the effect, found by Resolve or made by Apply. followedUp says the
// caller's follow-up (the write-back) is done too, which ends the entry (Completed, reported).
func (a *Attempt) Created(ctx context.Context, result string, followedUp bool, extra ...store.Row[json.RawMessage]) error {
	if result == "" {
		return errors.New("ledger: a created effect needs the remote's id")
	}
	now := a.l.now()
	state := Created
	if followedUp {
		state = Completed
	}
	e := a.settle(state, now)
	e.Result, e.Retries, e.LastError, e.Messages, e.Kind, e.Reported, e.NextAttempt = result, 0, "", "", "", followedUp, time.Time{}
	if followedUp {
		e.CompletedAt = now
	}
	return a.record(ctx, e, extra)
}

// Rejected records the remote's refusal of this attempt's call (Apply's *ApplyError proved NotApplied).
// messages is the remote's messages as JSON; both are cut to fit the row.
func (a *Attempt) Rejected(ctx context.Context, reason, messages string, reported bool, extra ...store.Row[json.RawMessage]) error {
	if !a.notApplied {
		return errors.New("ledger: only a call the remote refused can be recorded as rejected")
	}
	now := a.l.now()
	e := a.settle(Rejected, now)
	e.LastError, e.Messages, e.Reported, e.Retries, e.NextAttempt = cut(reason, maxText), cutJSON(messages), reported, 0, time.Time{}
	e.CompletedAt, e.Kind = now, problem.Rejected.String()
	return a.record(ctx, e, extra)
}

// Retry gives the key back to the queue, to be tried at next (or when the hold ends, if later). An unresolved
// send stays unresolved.
func (a *Attempt) Retry(ctx context.Context, cause error, next time.Time, extra ...store.Row[json.RawMessage]) error {
	now := a.l.now()
	e := a.settle(Accepted, now)
	// Stored as given (a time already past means "due now"): callers tell a message of this schedule by it.
	e.NextAttempt, e.Retries = next, e.Retries+1
	if cause != nil {
		e.LastError, e.Kind = cut(cause.Error(), maxText), problem.KindOf(cause).String()
	}
	return a.record(ctx, e, extra)
}

// Fail ends the key for a permanent reason other than the remote's refusal (the payload is gone, the key is not
// known to the caller's side). An unresolved send stays unresolved: a later claim resolves it first.
func (a *Attempt) Fail(ctx context.Context, cause error, reported bool, extra ...store.Row[json.RawMessage]) error {
	now := a.l.now()
	e := a.settle(Failed, now)
	e.LastError, e.Reported, e.NextAttempt = cut(cause.Error(), maxText), reported, time.Time{}
	e.CompletedAt, e.Kind, e.Fields = now, problem.KindOf(cause).String(), ""
	var pe *problem.Error
	if errors.As(cause, &pe) && len(pe.Fields) > 0 {
		b, _ := json.Marshal(pe.Fields)
		e.Fields = cutJSON(string(b))
	}
	return a.record(ctx, e, extra)
}

// MarkReported records that the caller's side was told how the entry ended (after Rejected or Fail recorded it
// unreported, so that the end is on record before anyone is told).
func (a *Attempt) MarkReported(ctx context.Context) error {
	if !a.e.State.Ended() && !a.e.State.Done() {
		return errors.New("ledger: only a recorded end can be marked reported")
	}
	e := a.e
	e.Reported, e.UpdatedAt = true, a.l.now()
	return a.record(ctx, e, nil)
}
