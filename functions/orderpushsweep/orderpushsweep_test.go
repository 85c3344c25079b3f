package orderpushsweep_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/functions/orderpushsweep"
	"github.com/d365sap/d365sap/shared/trigger"
)

type fakeSweeper struct {
	SweepFn func(ctx context.Context, table orderpush.Finder) (orderpush.SweepReport, error)
}

func (f *fakeSweeper) Sweep(ctx context.Context, table orderpush.Finder) (orderpush.SweepReport, error) {
	return f.SweepFn(ctx, table)
}

var _ orderpushsweep.Sweeper = (*fakeSweeper)(nil)

func TestTimerRunsOneSweepAndReportsItsError(t *testing.T) {
	boom := errors.New("storage down")
	for _, want := range []error{nil, boom} {
		runs := 0
		fn, err := orderpushsweep.Function(&fakeSweeper{SweepFn: func(context.Context, orderpush.Finder) (orderpush.SweepReport, error) {
			runs++
			return orderpush.SweepReport{Scanned: 3, Requeued: 1}, want
		}}, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if fn.Definition.Trigger().Schedule != "%ORDER_PUSH_SWEEP_SCHEDULE%" {
			t.Fatalf("schedule %q", fn.Definition.Trigger().Schedule)
		}
		if got := fn.Timer.HandleTimer(t.Context(), trigger.Timer{}); !errors.Is(got, want) || runs != 1 {
			t.Fatalf("got %v after %d runs, want %v after 1", got, runs, want)
		}
	}
}
