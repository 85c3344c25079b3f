// Package orderpushsweep is the timer function that finds order pushes nothing is scheduled to finish (a queue
// message dead-lettered or never written, an instance that died mid-attempt, a write-back or report that failed)
// and sends them to the queue again, so no order needs a human to notice it.
package orderpushsweep

import (
	"context"
	_ "embed"
	"log/slog"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Sweeper is what the function needs.
type Sweeper interface {
	Sweep(ctx context.Context, table orderpush.Finder) (orderpush.SweepReport, error)
}

// Function declares the sweeper.
func Function(s Sweeper, table orderpush.Finder, log *slog.Logger) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "orderpushsweep", Definition: d, Timer: trigger.TimerFunc(func(ctx context.Context, t trigger.Timer) error {
		rep, err := s.Sweep(ctx, table)
		log.InfoContext(ctx, "order push sweep", "scanned", rep.Scanned, "requeued", rep.Requeued, "pastDue", t.IsPastDue)
		return err
	})}, nil
}
