// Package inventorysync keeps Dynamics 365 products and their stock in step with SAP: a timer run (and its
// continuations) reads SAP's changed products and all of its stock, compares each value with what was last written
// (fingerprints in the state table), and writes only what changed, in bulk, at the rate Dataverse allows.
package inventorysync

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/d365sap/d365sap/shared/checkpoint"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/lock"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// Stream is one SAP read: its rows, and how many there are once the first page says (a *sap.Rows).
type Stream[T any] interface {
	All() iter.Seq2[T, error]
	Count() (int64, bool)
}

// SAP is what the sync reads of SAP.
type SAP interface {
	// ProductsChangedSince streams products changed after since, oldest change first, with descriptions.
	ProductsChangedSince(ctx context.Context, since time.Time) Stream[sap.Product]
	// Stock streams the stock rows of the plants from material after on (exclusive; "" from the start),
	// ordered by material.
	Stock(ctx context.Context, plants []string, after string) Stream[sap.StockRow]
	// Prices streams the price condition validities q selects, with their records, ordered by material.
	Prices(ctx context.Context, q sap.PriceQuery) Stream[sap.PriceCondition]
}

// Dataverse is what the sync writes and reads of Dataverse.
type Dataverse interface {
	UpsertMultiple(ctx context.Context, set string, recs []dataverse.Record, o *dataverse.BulkOptions) (dataverse.BulkResult, error)
	UpdateMultiple(ctx context.Context, set string, recs []dataverse.Record, o *dataverse.BulkOptions) (dataverse.BulkResult, error)
	Update(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error)
	ExecuteBatch(ctx context.Context, b *dataverse.Batch, o *dataverse.BatchOptions) ([]dataverse.BatchResult, error)
	List(ctx context.Context, set string, q *dataverse.Query) iter.Seq2[dataverse.Record, error]
	Stats() dataverse.Stats
}

// Locks takes the run's lock (lock.Take over the storage account).
type Locks interface {
	Take(ctx context.Context, name string) (*lock.Held, error)
}

// RecordDeadLetterer keeps a record the sync could not write, with its reason, for an operator to replay.
type RecordDeadLetterer interface {
	DeadLetterRecord(ctx context.Context, stream, key string, record any, cause error) error
}

// Continuer asks for another run at once: a run that stopped at its time budget is finished by its continuation,
// not by the next timer tick.
type Continuer interface {
	Continue(ctx context.Context, reason string) error
}

// Syncer runs the sync. Every field is required.
type Syncer struct {
	SAP          SAP
	Dataverse    Dataverse
	Fingerprints Fingerprints
	Checkpoints  checkpoint.Store
	Runs         RunLog
	Locks        Locks
	DeadLetters  RecordDeadLetterer
	Continue     Continuer
	Mapping      *Mapping
	Units        *valuemap.Map
	// BatchSize is the records per Dataverse write; Parallel is how many writes are in flight at once. A
	// checkpoint follows every BatchSize × Parallel values: a run killed anywhere repeats at most those.
	BatchSize int
	Parallel  int
	// Overlap is how far before its high-water mark the products stream reads again: SAP stamps a change when
	// its work begins and commits it later, so a change can appear with a stamp older than the last one read.
	Overlap time.Duration
	// Budget is how long one invocation may run before it stops at a batch boundary and continues in another.
	Budget time.Duration
	Log    *slog.Logger
	Now    func() time.Time
	// Ready makes sure the storage the run writes to exists (the app's provisioner).
	Ready func(ctx context.Context) error
}

// lockName is the blob every run of the sync leases.
const lockName = "inventorysync"

// Outcomes of a run.
const (
	Complete  = "complete"  // every stream read to its end
	Continued = "continued" // stopped at the time budget; a continuation was queued
	Skipped   = "skipped"   // another run held the lock
	Failed    = "failed"
)

// errBudget stops a stream at a batch boundary when the budget is spent.
var errBudget = errors.New("time budget spent")

// Run runs every stream the mapping names, products before stock and prices so that they land on products
// that exist and no product row is written by two streams at once. It returns the run's summary, also written to the run log.
func (s *Syncer) Run(ctx context.Context, runID, trigger string) (Summary, error) {
	sum := Summary{RunID: runID, Trigger: trigger, Started: s.Now().UTC()}
	if err := s.Ready(ctx); err != nil {
		return sum, fmt.Errorf("starting the inventory sync: %w", err)
	}
	held, err := s.Locks.Take(ctx, lockName)
	if errors.Is(err, lock.ErrHeld) {
		sum.Outcome, sum.Ended = Skipped, s.Now().UTC()
		s.Log.InfoContext(ctx, "inventory sync skipped: another run holds the lock", "run", runID, "trigger", trigger)
		return sum, nil
	}
	if err != nil {
		return sum, fmt.Errorf("starting the inventory sync: %w", err)
	}
	defer func() {
		if err := held.Release(context.WithoutCancel(ctx)); err != nil {
			s.Log.WarnContext(ctx, "releasing the inventory sync lock", "error", err)
		}
	}()
	deadline := sum.Started.Add(s.Budget)
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-held.Lost():
			cancel(held.Err())
		case <-runCtx.Done():
		}
	}()
	r := &run{Syncer: s, id: runID, deadline: deadline, sum: &sum}
	if s.Mapping.Products != nil {
		err = r.products(runCtx)
	}
	if err == nil && s.Mapping.Stock != nil {
		err = r.stock(runCtx)
	}
	if err == nil && s.Mapping.Prices != nil {
		err = r.prices(runCtx)
	}
	sum.Ended = s.Now().UTC()
	if err != nil && held.Err() != nil {
		// The streams fail with whatever the cancel cut short (a read, a write); the reason is the lock.
		err = fmt.Errorf("stopped because %w: %w", held.Err(), err)
	}
	switch {
	case errors.Is(err, errBudget):
		sum.Outcome = Continued
		err = s.Continue.Continue(ctx, "the run reached its time budget")
		if err != nil {
			err = fmt.Errorf("queueing the continuation: %w", err)
			sum.Outcome = Failed
		}
	case err != nil:
		sum.Outcome, sum.Error = Failed, err.Error()
	default:
		sum.Outcome = Complete
	}
	if lerr := s.Runs.Record(context.WithoutCancel(ctx), sum); lerr != nil {
		s.Log.WarnContext(ctx, "recording the inventory sync run", "error", lerr)
	}
	s.Log.InfoContext(ctx, "inventory sync ended", "run", runID, "outcome", sum.Outcome, "summary", sum)
	return sum, err
}

// run is one invocation's state.
type run struct {
	*Syncer
	id       string
	deadline time.Time
	sum      *Summary
	// batchTook is how long the slowest batch took: the run stops when less than twice that is left.
	batchTook time.Duration
	// gone, when set, collects the keys of records updated by id that Dataverse no longer has (see writeAll).
	gone map[string]bool
	// afterChunk, when set, runs after each chunk of a writeAll, in its goroutine, with the records [lo, hi) of
	// it and which of all records have landed so far.
	afterChunk func(lo, hi int, landed []bool) error
}

// group is the values a stream collects before it writes them and checkpoints.
func (r *run) group() int { return max(r.BatchSize, 1) * max(r.Parallel, 1) }

// spent reports whether another batch could outlast the budget.
func (r *run) spent() bool {
	return r.Now().Add(2 * r.batchTook).After(r.deadline)
}

// timed measures a batch for spent.
func (r *run) timed(fn func() error) error {
	start := r.Now()
	err := fn()
	r.batchTook = max(r.batchTook, r.Now().Sub(start))
	return err
}
