package inventorysync_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/shared/dataverse"
)

// failingStates answers every state change (publish, retire) with Dataverse down while down is set.
type failingStates struct {
	inventorysync.Dataverse
	down atomic.Bool
}

func (f *failingStates) UpdateMultiple(ctx context.Context, set string, recs []dataverse.Record, o *dataverse.BulkOptions) (dataverse.BulkResult, error) {
	for _, rec := range recs {
		if _, state := rec["statecode"]; state && f.down.Load() {
			return dataverse.BulkResult{}, &dataverse.Error{Status: 503, Kind: dataverse.KindServer, Message: "Service Unavailable"}
		}
	}
	return f.Dataverse.UpdateMultiple(ctx, set, recs, o)
}

// A run creates products (drafts), and the publish that follows fails (an outage: the run fails, as a run killed
// between the upsert and the publish would end). The next run finds the drafts it created and publishes them:
// a product the sync created is never left a draft, which quotes and orders cannot use.
func TestAProductCreatedByARunThatFailedBeforePublishingIsPublishedByTheNext(t *testing.T) {
	w := newWorld(t, options{products: 30, batch: 10})
	f := &failingStates{Dataverse: w.syncer.Dataverse}
	w.syncer.Dataverse = f
	f.down.Store(true)
	if _, err := w.syncer.Run(t.Context(), "first", "timer"); err == nil {
		t.Fatal("the run whose publishes met an outage succeeded")
	}
	drafts := 0
	for _, r := range w.dv.Find("products", "", nil) {
		if jsonText(r["statecode"]) == "2" {
			drafts++
		}
	}
	if drafts == 0 {
		t.Fatal("no draft after the failed run: the test does not test anything")
	}
	f.down.Store(false)
	w.run(t, "timer")
	w.run(t, "timer")
	w.checkD365(t)
}
