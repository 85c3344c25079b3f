package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
)

// Table is what the ledger needs of a table whose rows it encodes itself (store.Table[json.RawMessage]).
type Table interface {
	Insert(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error)
	Get(ctx context.Context, partitionKey, rowKey string) (store.Row[json.RawMessage], error)
	Update(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error)
	Upsert(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error)
	TransactETags(ctx context.Context, partition string, ops []store.Op[json.RawMessage]) (store.TransactResult, error)
}

// Ledger keeps the entries of one kind of effect. main builds it from the settings; the times must satisfy
// Check.
type Ledger struct {
	Table Table
	// Kind names the effect ("salesorder"); entries are rows "ledger-<kind>" in the key's partition.
	Kind string
	// Lease is how long a claim owns a key.
	Lease time.Duration
	// CommitWindow is how long after an effect was sent the remote may still apply it and a lookup still miss it:
	// the remote's longest run time (SAP's work-process limit) plus its search lag.
	CommitWindow time.Duration
	// Skew is the largest clock difference between instances the lease decisions tolerate.
	Skew time.Duration
	// Margin is kept free at the end of a lease for recording the outcome of the last remote call.
	Margin time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Check reports settings whose relations would let an effect outlive its lease: the lease must cover an effect
// of effectTimeout plus the margin, with the skew tolerance taken off at both ends.
func (l *Ledger) Check(effectTimeout time.Duration) error {
	var errs []error
	if l.Kind == "" || !validKey(l.Kind) {
		errs = append(errs, fmt.Errorf("the ledger kind %q is not usable in a row key", l.Kind))
	}
	if l.Skew < 0 || l.Margin < 0 || effectTimeout <= 0 {
		errs = append(errs, errors.New("the skew tolerance and margin must not be negative, and the effect timeout must be positive"))
	}
	if need := effectTimeout + l.Margin + 2*l.Skew; l.Lease < need {
		errs = append(errs, fmt.Errorf("the lease (%s) must be at least the remote call's timeout (%s) plus the margin (%s) and twice the clock-skew tolerance (%s): %s", l.Lease, effectTimeout, l.Margin, l.Skew, need))
	}
	if l.CommitWindow < effectTimeout {
		errs = append(errs, fmt.Errorf("the commit window (%s) must be at least the remote call's timeout (%s)", l.CommitWindow, effectTimeout))
	}
	return errors.Join(errs...)
}

func (l *Ledger) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

func (l *Ledger) rowKey() string { return "ledger-" + l.Kind }

// Intent says what a claim is for.
type Intent int

const (
	// Run claims the key to work on it now: in progress, under a lease.
	Run Intent = iota
	// Queue records the key as accepted for the queue to work on; nobody owns it.
	Queue
)

// ClaimRequest is one claim.
type ClaimRequest struct {
	Key string
	// Ref is the reference the remote will carry; used when the entry is new (an existing entry keeps its own).
	Ref string
	// Payload replaces the stored one when not empty (a push again after the data was corrected).
	Payload string
	// Data is the caller's state of a new entry; an existing entry keeps its own (see Attempt.SetData).
	Data string
	// Owner names the attempt (the invocation id).
	Owner  string
	Intent Intent
}

// Claim makes the caller the owner of req.Key (Run) or records it as queued (Queue). It returns the attempt when
// the caller owns the key (nil otherwise) and the entry as it stands. Not owned: the entry is done, owned by a
// running attempt, or (for Queue) already queued. A fresh Run claim records the intent to send in its insert.
func (l *Ledger) Claim(ctx context.Context, req ClaimRequest) (*Attempt, Entry, error) {
	if !validKey(req.Key) {
		return nil, Entry{}, problem.New(problem.Invalid, "%q cannot be a ledger key", req.Key)
	}
	now := l.now()
	e := Entry{State: Accepted, Ref: req.Ref, Attempts: 0, Payload: req.Payload, Data: req.Data, CreatedAt: now, UpdatedAt: now}
	if req.Intent == Run {
		e.State, e.Owner, e.Attempts, e.LeaseUntil = InProgress, req.Owner, 1, now.Add(l.Lease)
		e.SentUntil, e.Sends = l.sendDeadline(e.LeaseUntil), 1
	}
	raw, err := e.encode()
	if err != nil {
		return nil, Entry{}, err
	}
	row := store.Row[json.RawMessage]{PartitionKey: req.Key, RowKey: l.rowKey(), Value: raw}
	for try := 0; try < 5; try++ {
		etag, err := l.Table.Insert(ctx, row)
		if err == nil {
			row.ETag = etag
			if req.Intent == Queue {
				return nil, e, nil
			}
			return &Attempt{l: l, row: row, e: e, intentMarked: true}, e, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return nil, Entry{}, problem.Wrap(problem.Unavailable, err, "recording the claim of %s", req.Key)
		}
		cur, found, err := l.read(ctx, req.Key)
		if err != nil {
			return nil, Entry{}, err
		}
		if !found {
			continue // deleted between insert and read
		}
		a, e, _, err := l.take(ctx, cur, req)
		if errors.Is(err, errLostRace) {
			continue // someone changed it between our read and our write: decide again
		}
		return a, e, err
	}
	return nil, Entry{}, problem.New(problem.Conflict, "%s is being claimed by others; try again", req.Key)
}

var errLostRace = errors.New("another attempt changed the entry first")

// Take claims an entry the caller has just read and decided on (the queue path), without trying an insert first.
// When the entry changed since that read (a push, a rejection, a correction), it does not decide again on the
// caller's behalf: it returns no attempt and the entry as it stands now, for the caller to decide on afresh.
func (l *Ledger) Take(ctx context.Context, key string, cur Snapshot, req ClaimRequest) (*Attempt, Entry, error) {
	req.Key = key
	a, e, _, err := l.take(ctx, cur.row, req)
	if errors.Is(err, errLostRace) {
		now, found, err := l.Get(ctx, key)
		if err != nil || !found {
			return nil, Entry{}, err
		}
		return nil, now.Entry, nil
	}
	return a, e, err
}

// take decides on an existing entry: owned by someone, done, or free to take over (guarded by its ETag).
func (l *Ledger) take(ctx context.Context, cur store.Row[json.RawMessage], req ClaimRequest) (*Attempt, Entry, bool, error) {
	e, err := decodeEntry(cur.Value)
	if err != nil {
		return nil, Entry{}, false, problem.Wrap(problem.Internal, err, "reading the ledger entry of %s", req.Key)
	}
	now := l.now()
	switch {
	case e.State.Done():
		return nil, e, false, nil
	case e.State == InProgress && now.Before(e.LeaseUntil.Add(l.Skew)):
		return nil, e, false, nil // a running attempt owns it (give its clock the benefit of the doubt)
	case req.Intent == Queue && e.State == Accepted:
		// Already queued: nobody owns it, so a corrected payload can replace the queued one under the ETag
		// (the queue then sends what was pushed last). The entry stays as it is otherwise.
		if req.Payload == "" || req.Payload == e.Payload {
			return nil, e, false, nil
		}
		e.Payload, e.UpdatedAt = req.Payload, now
		raw, err := e.encode()
		if err != nil {
			return nil, Entry{}, false, err
		}
		cur.Value = raw
		switch _, err := l.Table.Update(ctx, cur); {
		case err == nil:
			return nil, e, false, nil
		case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound):
			return nil, Entry{}, false, errLostRace
		default:
			return nil, Entry{}, false, problem.Wrap(problem.Unavailable, err, "storing the corrected payload of %s", req.Key)
		}
	case (e.State == Rejected || e.State == Failed) && req.Payload == "":
		// An ended entry is taken again only by a new push carrying its (possibly corrected) payload, never by a
		// queue message or a sweep that found it queued before it ended.
		return nil, e, false, nil
	}
	if req.Payload != "" {
		e.Payload = req.Payload
	}
	if e.Ref == "" {
		e.Ref = req.Ref
	}
	e.UpdatedAt, e.LastError, e.Messages, e.Reported = now, "", "", false
	if req.Intent == Queue {
		e.State, e.Owner, e.LeaseUntil, e.NextAttempt = Accepted, "", time.Time{}, now
	} else {
		e.State, e.Owner, e.LeaseUntil = InProgress, req.Owner, now.Add(l.Lease)
		e.Attempts++
	}
	raw, err := e.encode()
	if err != nil {
		return nil, Entry{}, false, err
	}
	cur.Value = raw
	etag, err := l.Table.Update(ctx, cur)
	switch {
	case err == nil:
		cur.ETag = etag
	case errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound):
		return nil, Entry{}, false, errLostRace
	default:
		return nil, Entry{}, false, problem.Wrap(problem.Unavailable, err, "taking over %s", req.Key)
	}
	if req.Intent == Queue {
		return nil, e, true, nil
	}
	return &Attempt{l: l, row: cur, e: e}, e, true, nil
}

// Snapshot is an entry as read, with what a later ETag-guarded change needs.
type Snapshot struct {
	Entry Entry
	row   store.Row[json.RawMessage]
}

// Get reads the entry of key; found is false when there is none.
func (l *Ledger) Get(ctx context.Context, key string) (Snapshot, bool, error) {
	row, found, err := l.read(ctx, key)
	if err != nil || !found {
		return Snapshot{}, found, err
	}
	e, err := decodeEntry(row.Value)
	if err != nil {
		return Snapshot{}, false, problem.Wrap(problem.Internal, err, "reading the ledger entry of %s", key)
	}
	return Snapshot{Entry: e, row: row}, true, nil
}

func (l *Ledger) read(ctx context.Context, key string) (store.Row[json.RawMessage], bool, error) {
	row, err := l.Table.Get(ctx, key, l.rowKey())
	switch {
	case err == nil:
		return row, true, nil
	case errors.Is(err, store.ErrNotFound):
		return row, false, nil
	default:
		return row, false, problem.Wrap(problem.Unavailable, err, "reading the ledger entry of %s", key)
	}
}

// Update changes a snapshot's entry under its ETag (the follow-up of a created effect, reporting an end).
// It refuses to clear an unresolved send or to change a done entry into anything but done.
func (l *Ledger) Update(ctx context.Context, s Snapshot, change func(*Entry), extra ...store.Row[json.RawMessage]) (Snapshot, error) {
	e := s.Entry
	change(&e)
	if s.Entry.Unresolved() && !e.Unresolved() && !e.State.Done() {
		return s, errors.New("ledger: an update may not clear an unresolved send")
	}
	if s.Entry.State.Done() && !e.State.Done() {
		return s, errors.New("ledger: an update may not undo a done entry")
	}
	e.UpdatedAt = l.now()
	row, err := l.write(ctx, s.row, e, extra)
	if err != nil {
		return s, err
	}
	return Snapshot{Entry: e, row: row}, nil
}

// write stores e under row's ETag, in one transaction with extra rows of the same partition when given.
func (l *Ledger) write(ctx context.Context, row store.Row[json.RawMessage], e Entry, extra []store.Row[json.RawMessage]) (store.Row[json.RawMessage], error) {
	raw, err := e.encode()
	if err != nil {
		return row, err
	}
	row.Value = raw
	if len(extra) == 0 {
		etag, err := l.Table.Update(ctx, row)
		if err != nil {
			return row, l.writeErr(row.PartitionKey, err)
		}
		row.ETag = etag
		return row, nil
	}
	ops := []store.Op[json.RawMessage]{{Kind: store.OpUpdate, Row: row}}
	for _, x := range extra {
		ops = append(ops, store.Op[json.RawMessage]{Kind: store.OpUpsert, Row: x})
	}
	res, err := l.Table.TransactETags(ctx, row.PartitionKey, ops)
	if err != nil {
		return row, l.writeErr(row.PartitionKey, err)
	}
	if len(res.ETags) > 0 && res.ETags[0] != "" {
		row.ETag = res.ETags[0]
		return row, nil
	}
	// The answer named no ETag: read it back so the caller can change the entry again.
	cur, err := l.Table.Get(ctx, row.PartitionKey, row.RowKey)
	if err != nil {
		row.ETag = ""
		return row, nil
	}
	return cur, nil
}

// ErrLost is returned when an entry changed under the attempt (its lease ended and another attempt took over).
var ErrLost = errors.New("ledger: the entry was changed by another attempt")

func (l *Ledger) writeErr(key string, err error) error {
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("recording the outcome of %s: %w: %w", key, ErrLost, err)
	}
	return problem.Wrap(problem.Unavailable, err, "recording the outcome of %s", key)
}

// sendDeadline is the latest moment an attempt whose lease ends at lease may have an effect in flight.
func (l *Ledger) sendDeadline(lease time.Time) time.Time { return lease.Add(-l.Skew - l.Margin) }

// validKey says whether s can be a PartitionKey or RowKey: at most 1 KiB, none of / \ # ? or control characters.
func validKey(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for _, r := range s {
		if r == '/' || r == '\\' || r == '#' || r == '?' || r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return false
		}
	}
	return true
}

// Key is the snapshot's key.
func (s Snapshot) Key() string { return s.row.PartitionKey }
