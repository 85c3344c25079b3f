package inventorysync

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/d365sap/d365sap/shared/deadletter"
	"github.com/d365sap/d365sap/shared/lock"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Runner runs one sync (a *Syncer).
type Runner interface {
	Run(ctx context.Context, runID, trigger string) (Summary, error)
}

// Function is the timer: each tick runs the sync, which ends quietly when a continuation still holds the lock.
func Function(r Runner) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "inventorysync", Definition: d, Timer: trigger.TimerFunc(func(ctx context.Context, t trigger.Timer) error {
		_, err := r.Run(ctx, RunID(ctx), "timer")
		return err
	})}, nil
}

// RunID is the invocation's id, or a new one outside an invocation.
func RunID(ctx context.Context) string {
	if inv, ok := trigger.InvocationFrom(ctx); ok && inv.ID != "" {
		return inv.ID
	}
	return uuid.NewString()
}

// SAPSource reads the streams from an SAP client.
type SAPSource struct {
	Client *sap.Client
	// PageSize is the rows asked for per request ($top); 0 is each stream's default (pageSizes).
	PageSize int
}

// pageSizes are the rows per request each stream asks for when SAPSource.PageSize is 0. The reads page
// themselves (see keyset): many S/4HANA services do no server-driven paging, and without $top one answer would
// hold every row, past SAP_MAX_RESPONSE_BYTES (a page of 5,000 price validities with their records is over
// 30 MB). Stock rows are narrow ($select), products carry their descriptions, prices their record.
var pageSizes = struct{ products, stock, prices int }{products: 1000, stock: 5000, prices: 1000}

func (s SAPSource) pageSize(def int) int {
	if s.PageSize > 0 {
		return s.PageSize
	}
	return def
}

// ProductsChangedSince implements SAP, in pages keyed by change time: each asks for the products changed after
// the last time the page before read whole.
func (s SAPSource) ProductsChangedSince(ctx context.Context, since time.Time) Stream[sap.Product] {
	return &keyset[sap.Product]{size: s.pageSize(pageSizes.products),
		key: func(p sap.Product) string { return p.LastChangeDateTime.Time.UTC().Format(time.RFC3339Nano) },
		page: func(last *sap.Product, top int, count bool) Stream[sap.Product] {
			from := since
			if last != nil {
				from = last.LastChangeDateTime.Time
			}
			return s.Client.ProductsChangedSince(ctx, sap.ProductQuery{Since: from, WithDescriptions: true, InlineCount: count,
				PageSize: top, Top: top})
		}}
}

// Stock implements SAP: unrestricted-use rows only, ordered by material, in pages keyed by material.
func (s SAPSource) Stock(ctx context.Context, plants []string, after string) Stream[sap.StockRow] {
	return &keyset[sap.StockRow]{size: s.pageSize(pageSizes.stock), key: func(r sap.StockRow) string { return r.Material },
		page: func(last *sap.StockRow, top int, count bool) Stream[sap.StockRow] {
			from := after
			if last != nil {
				from = last.Material
			}
			return s.Client.Stock(ctx, sap.StockQuery{Plants: plants, StockType: "01", After: from, ByMaterial: true,
				InlineCount: count, PageSize: top, Top: top})
		}}
}

// Prices implements SAP, in pages keyed by material and condition record (one material may have thousands of
// customer prices), leaving out the records without a material, which the stream does not use.
func (s SAPSource) Prices(ctx context.Context, q sap.PriceQuery) Stream[sap.PriceCondition] {
	q.MaterialsOnly = true
	return &keyset[sap.PriceCondition]{size: s.pageSize(pageSizes.prices),
		key: func(c sap.PriceCondition) string { return c.Material + "\x00" + c.ConditionRecord },
		page: func(last *sap.PriceCondition, top int, count bool) Stream[sap.PriceCondition] {
			pq := q
			if last != nil {
				pq.After, pq.AfterRecord = last.Material, last.ConditionRecord
			}
			pq.PageSize, pq.Top, pq.InlineCount = top, top, count
			return s.Client.PriceConditions(ctx, pq)
		}}
}

// BlobLocks takes locks as blob leases in one container.
type BlobLocks struct {
	Blobs     lock.Blobs
	Container string
}

// Take implements Locks.
func (l BlobLocks) Take(ctx context.Context, name string) (*lock.Held, error) {
	return lock.Take(ctx, l.Blobs, l.Container, name)
}

// DeadLetters keeps refused records as dead letters of the inventorysync function, one per record, in the
// format the replay tooling reads.
type DeadLetters struct{ Store *deadletter.Store }

// DeadLetterRecord implements RecordDeadLetterer.
func (d DeadLetters) DeadLetterRecord(ctx context.Context, stream, key string, record any, cause error) error {
	body, err := json.Marshal(map[string]any{"stream": stream, "key": key, "record": record})
	if err != nil {
		return fmt.Errorf("encoding the dead letter of %s %s: %w", stream, key, err)
	}
	id := fmt.Sprintf("%s-%s-%s", stream, key, RunID(ctx))
	return d.Store.DeadLetter(ctx, "inventorysync", trigger.Message{ID: id, Body: body}, cause)
}

// Enqueuer sends queue messages (a *store.Account).
type Enqueuer interface {
	Enqueue(ctx context.Context, queue string, body []byte, opts *store.EnqueueOptions) (string, error)
}

// QueueContinuer asks for a continuation with a message on the sync's queue.
type QueueContinuer struct {
	Queue Enqueuer
	Name  string
}

// ContinuationMessage is the body of a continuation: the checkpoints say where to go on, so it carries only why.
type ContinuationMessage struct {
	Action string `json:"action"` // "continue"
	Reason string `json:"reason"`
	After  string `json:"after"` // the run that asked
}

// Continue implements Continuer.
func (q QueueContinuer) Continue(ctx context.Context, reason string) error {
	b, _ := json.Marshal(ContinuationMessage{Action: "continue", Reason: reason, After: RunID(ctx)})
	if _, err := q.Queue.Enqueue(ctx, q.Name, b, nil); err != nil {
		return fmt.Errorf("queueing an inventory sync continuation: %w", err)
	}
	return nil
}
