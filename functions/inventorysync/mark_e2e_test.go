package inventorysync_test

import (
	"context"
	"iter"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/dataverse"
)

// failFirstFind fails the first lookup of products by productnumber: a run that ends (killed, or a fault) after
// it saved its writing mark for a group and before that group landed.
type failFirstFind struct {
	inventorysync.Dataverse
	failed atomic.Bool
}

func (f *failFirstFind) List(ctx context.Context, set string, q *dataverse.Query) iter.Seq2[dataverse.Record, error] {
	if set == "products" && q != nil && strings.Contains(q.Filter, "productnumber eq") && !f.failed.Swap(true) {
		return func(yield func(dataverse.Record, error) bool) { yield(nil, errLost) }
	}
	return f.Dataverse.List(ctx, set, q)
}

// A run that finds a dead run's mark reads back everything up to the mark's position, however the run itself
// ends: the mark it leaves behind, or clears, must still cover what the dead run may have written. The first
// group a resumed products run writes starts an overlap earlier than the dead run's group did, so it ends
// before the dead run's position; stopping there (at the budget, or by dying) must not make the next run
// rewrite the rest of the dead run's group.
func TestARunEndingBeforeTheDeadRunsMarkKeepsItsReach(t *testing.T) {
	for _, tc := range []struct {
		name string
		// second runs the run after the dead one so that it ends after its first group.
		second func(t *testing.T, w *world)
	}{
		{"stopped by its budget", func(t *testing.T, w *world) {
			w.syncer.Budget = time.Nanosecond
			defer func() { w.syncer.Budget = time.Hour }()
			if sum := w.run(t, "timer"); sum.Outcome != inventorysync.Continued {
				t.Fatalf("the second run %s, want continued: %+v", sum.Outcome, sum)
			}
		}},
		{"ended after saving its mark", func(t *testing.T, w *world) {
			real := w.syncer.Dataverse
			w.syncer.Dataverse = &failFirstFind{Dataverse: real}
			defer func() { w.syncer.Dataverse = real }()
			if _, err := w.syncer.Run(t.Context(), "dies-too", "timer"); err == nil {
				t.Fatal("the second run succeeded")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, options{products: 90, batch: 10, parallel: 3})
			w.run(t, "timer")
			// Renames a few milliseconds apart, and an overlap of a few of them: SAP's change stamps of the
			// renamed products are ordered and close, as a busy day's are.
			w.syncer.Overlap = 20 * time.Millisecond
			for i := range w.products {
				if _, err := w.sap.ChangeProduct(sapsim.ProductID(i), func(p *sapsim.ProductData) { p.Descriptions["EN"] += " (new)" }, nil); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond)
			}
			real := w.syncer.Dataverse
			lost := &lostAnswers{Dataverse: real, op: "upsert", after: 3} // the first group lands; the second lands unanswered
			w.syncer.Dataverse = lost
			if _, err := w.syncer.Run(t.Context(), "dies", "timer"); err == nil {
				t.Fatal("the run whose answers were lost succeeded")
			}
			if lost.calls.Load() <= lost.after {
				t.Fatalf("only %d upserts: no answer was lost, the test tests nothing", lost.calls.Load())
			}
			w.syncer.Dataverse = real
			before := w.dv.Writes("products")
			tc.second(t, w)
			for i := 0; ; i++ {
				if s := w.run(t, "continuation"); s.Outcome == inventorysync.Complete {
					break
				}
				if i > 10 {
					t.Fatal("the continuations never complete")
				}
			}
			if d := w.dv.Writes("products").Sub(before); d.Unchanged != 0 {
				t.Errorf("the runs after the dead one rewrote %d products with the names they held (%+v)", d.Unchanged, d)
			}
			w.checkD365(t)
		})
	}
}

// lostStates lets Dataverse commit state changes (UpdateMultiple of statecode) and then answers 503.
type lostStates struct {
	inventorysync.Dataverse
	lost atomic.Int64
}

func (l *lostStates) UpdateMultiple(ctx context.Context, set string, recs []dataverse.Record, o *dataverse.BulkOptions) (dataverse.BulkResult, error) {
	_, state := recs[0]["statecode"]
	res, err := l.Dataverse.UpdateMultiple(ctx, set, recs, o)
	if err == nil && state {
		l.lost.Add(1)
		return dataverse.BulkResult{}, errLost
	}
	return res, err
}

// A product the sync retired stays the sync's to bring back, even when the run that retired it ended before
// recording it: the run after reads the retired state back (it is what the dead run wrote) and must remember
// that the sync, not a user, retired it, so that the product is active again once SAP clears the flag.
func TestAProductRetiredByARunThatDiedComesBackWhenSAPClearsTheFlag(t *testing.T) {
	for _, tc := range []struct {
		name     string
		material string
	}{
		{"the first product", sapsim.ProductID(0)},
		{"a product later in the batch", sapsim.ProductID(3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, options{products: 30, batch: 10, parallel: 3})
			w.run(t, "timer")
			flag := func(on bool) {
				if _, err := w.sap.ChangeProduct(tc.material, func(p *sapsim.ProductData) { p.IsMarkedForDeletion = on }, nil); err != nil {
					t.Fatal(err)
				}
			}
			state := func() string {
				rows := w.dv.Find("products", "productnumber", tc.material)
				if len(rows) != 1 {
					t.Fatalf("%d products numbered %s", len(rows), tc.material)
				}
				return jsonText(rows[0]["statecode"])
			}
			flag(true)
			real := w.syncer.Dataverse
			lost := &lostStates{Dataverse: real}
			w.syncer.Dataverse = lost
			if _, err := w.syncer.Run(t.Context(), "dies", "timer"); err == nil {
				t.Fatal("the run whose state answers were lost succeeded")
			}
			w.syncer.Dataverse = real
			if lost.lost.Load() == 0 || state() != "1" {
				t.Fatalf("%d state changes lost, %s in state %s: the retire did not land unanswered, the test tests nothing",
					lost.lost.Load(), tc.material, state())
			}
			w.run(t, "timer") // reads back what the dead run wrote
			flag(false)
			w.run(t, "timer")
			if st := state(); st != "0" {
				t.Errorf("SAP cleared the deletion flag of %s; D365 state %s, want active (0)", tc.material, st)
			}
			w.checkD365(t)
		})
	}
}
