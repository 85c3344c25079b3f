package inventorysync_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/dataverse"
)

// lostAnswers passes writes of one kind through and, from the after-th on, lets Dataverse commit each one and
// then answers 503: what a run sees when it dies (or its connection does) with writes in flight, the writes
// having landed.
type lostAnswers struct {
	inventorysync.Dataverse
	op    string // "upsert", "update" or "batch"
	after int64
	calls atomic.Int64
}

var errLost = &dataverse.Error{Status: 503, Kind: dataverse.KindServer, Message: "the answer was lost"}

func (l *lostAnswers) lose() bool { return l.calls.Add(1) > l.after }

func (l *lostAnswers) UpsertMultiple(ctx context.Context, set string, recs []dataverse.Record, o *dataverse.BulkOptions) (dataverse.BulkResult, error) {
	res, err := l.Dataverse.UpsertMultiple(ctx, set, recs, o)
	if err == nil && l.op == "upsert" && l.lose() {
		return dataverse.BulkResult{}, errLost
	}
	return res, err
}

func (l *lostAnswers) UpdateMultiple(ctx context.Context, set string, recs []dataverse.Record, o *dataverse.BulkOptions) (dataverse.BulkResult, error) {
	_, state := recs[0]["statecode"]
	res, err := l.Dataverse.UpdateMultiple(ctx, set, recs, o)
	if err == nil && l.op == "update" && !state && l.lose() {
		return dataverse.BulkResult{}, errLost
	}
	return res, err
}

func (l *lostAnswers) ExecuteBatch(ctx context.Context, b *dataverse.Batch, o *dataverse.BatchOptions) ([]dataverse.BatchResult, error) {
	res, err := l.Dataverse.ExecuteBatch(ctx, b, o)
	if err == nil && l.op == "batch" && l.lose() {
		return nil, errLost
	}
	return res, err
}

// A run that ends with writes landed but not recorded (its checkpoint and fingerprints not moved) leaves its
// writing mark; the next run reads those values back from Dataverse and writes none of them again: no write
// that changes nothing, counted on the simulator, in any stream. Afterwards D365 matches SAP everywhere.
func TestARunAfterOneThatDiedWritingRepeatsNoWrite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     string
		stream func(inventorysync.Summary) *inventorysync.StreamStats
		// change, when set, runs after a clean first load: the lost writes are then updates, not creates.
		change func(t *testing.T, w *world)
	}{
		{"products created", "upsert", func(s inventorysync.Summary) *inventorysync.StreamStats { return s.Products }, nil},
		{"products renamed", "upsert", func(s inventorysync.Summary) *inventorysync.StreamStats { return s.Products },
			func(t *testing.T, w *world) {
				for i := range w.products {
					if _, err := w.sap.ChangeProduct(sapsim.ProductID(i), func(p *sapsim.ProductData) { p.Descriptions["EN"] += " (new)" }, nil); err != nil {
						t.Fatal(err)
					}
				}
			}},
		{"stock changed", "update", func(s inventorysync.Summary) *inventorysync.StreamStats { return s.Stock },
			func(t *testing.T, w *world) {
				for i := range w.products {
					if err := w.sap.SetStock(sapsim.StockRow{Material: sapsim.ProductID(i), Plant: "1010", StorageLocation: "101A",
						InventoryStockType: "01", Quantity: fmt.Sprintf("%d.25", 7000+i)}, nil); err != nil {
						t.Fatal(err)
					}
				}
			}},
		{"prices created", "batch", func(s inventorysync.Summary) *inventorysync.StreamStats { return s.Prices }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, options{products: 90, batch: 10, parallel: 3})
			if tc.change != nil {
				w.run(t, "timer")
				tc.change(t, w)
			}
			real := w.syncer.Dataverse
			lost := &lostAnswers{Dataverse: real, op: tc.op, after: 2}
			w.syncer.Dataverse = lost
			if _, err := w.syncer.Run(t.Context(), "dies", "timer"); err == nil {
				t.Fatal("the run whose answers were lost succeeded")
			}
			if lost.calls.Load() <= lost.after {
				t.Fatalf("only %d %s calls: no answer was lost, the test tests nothing", lost.calls.Load(), tc.op)
			}
			w.syncer.Dataverse = real
			before := w.dv.AllWrites()
			sum := w.run(t, "timer")
			for set, now := range w.dv.AllWrites() {
				if d := now.Sub(before[set]); d.Unchanged != 0 {
					t.Errorf("%s: the run after the dead one wrote %d rows with the values they held (%+v)", set, d.Unchanged, d)
				}
			}
			if st := tc.stream(sum); st == nil || st.Landed == 0 {
				t.Errorf("the stream found nothing already landed: %+v", st)
			}
			w.checkD365(t)
			w.noDuplicateItems(t)
			rep, err := w.syncer.Drift(t.Context(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if d := rep.Products.Differ + rep.Stock.Differ + rep.Prices.Differ; d != 0 {
				t.Errorf("%d differences after the recovery: %+v", d, rep)
			}
			// The mark is cleared: a third run reads nothing back.
			again := w.run(t, "timer")
			for _, st := range []*inventorysync.StreamStats{again.Products, again.Stock, again.Prices} {
				if st != nil && (st.Landed != 0 || st.Written != 0) {
					t.Errorf("the run after the recovery wrote or read back: %+v", st)
				}
			}
		})
	}
}

// noDuplicateItems fails when a product has two items on one price list and unit.
func (w *world) noDuplicateItems(t *testing.T) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range w.dv.Find("productpricelevels", "", nil) {
		k := fmt.Sprint(r["_pricelevelid_value"], r["_productid_value"], r["_uomid_value"])
		if seen[k] {
			t.Errorf("two price list items for %s", k)
		}
		seen[k] = true
	}
}
