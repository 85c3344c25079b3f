package orderpush

import (
	"context"
	"encoding/json"
	"iter"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/store"
)

// Finder queries the state table across partitions.
type Finder interface {
	Find(ctx context.Context, f store.Filter, opts *store.FindOptions) iter.Seq2[store.Row[json.RawMessage], error]
}

// SweepReport says what a sweep did.
type SweepReport struct {
	Scanned, Requeued int
}

// Sweep finds pushes that nothing is scheduled to finish — queued with no live message (dead-lettered, never
// written), past their lease (the instance died), created but not written back, ended but not reported — and
// sends each to the queue again, so no order needs a human to notice it. The query returns only entries that
// are not finished; what counts as stuck is decided here, with the grace for a queue that is merely late.
func (s *Service) Sweep(ctx context.Context, table Finder) (SweepReport, error) {
	var rep SweepReport
	rk := store.Eq("RowKey", s.Ledger.RowKey())
	open := store.Or(store.Eq("state", string(ledger.Accepted)), store.Eq("state", string(ledger.InProgress)),
		store.Eq("state", string(ledger.Created)),
		store.And(store.Or(store.Eq("state", string(ledger.Rejected)), store.Eq("state", string(ledger.Failed))), store.Eq("reported", false)))
	now := s.now()
	for row, err := range table.Find(ctx, store.And(rk, open), nil) {
		if err != nil {
			return rep, err
		}
		rep.Scanned++
		e, err := ledger.Decode(row.Value)
		if err != nil {
			s.Log.WarnContext(ctx, "an unreadable push entry", "salesorderid", row.PartitionKey, "err", err)
			continue
		}
		if !s.Ledger.Stuck(e, now, s.SweepGrace) {
			continue
		}
		action := ActionPush
		switch e.State {
		case ledger.Created:
			action = ActionWriteBack
		case ledger.Rejected, ledger.Failed:
			action = ActionReport
		}
		if err := s.enqueue(ctx, row.PartitionKey, action, 0, 0); err != nil {
			return rep, err
		}
		rep.Requeued++
		s.Log.InfoContext(ctx, "sweeper re-queued a stuck push", "salesorderid", row.PartitionKey, "state", string(e.State), "action", action)
	}
	return rep, nil
}
