package inventorysyncqueue_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/functions/inventorysyncqueue"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

type fakeRunner struct {
	RunFn func(ctx context.Context, runID, trigger string) (inventorysync.Summary, error)
}

func (f *fakeRunner) Run(ctx context.Context, runID, trigger string) (inventorysync.Summary, error) {
	return f.RunFn(ctx, runID, trigger)
}

// A continuation runs the sync; anything else on the queue is refused as invalid (and so dead-lettered by the
// runtime), never taken for a run.
func TestOnlyAContinuationRunsTheSync(t *testing.T) {
	for _, c := range []struct {
		name string
		body string
		runs int
	}{
		{"a continuation", `{"action":"continue","reason":"budget","after":"r1"}`, 1},
		{"another action", `{"action":"push"}`, 0},
		{"an unknown field", `{"action":"continue","plant":"1010"}`, 0},
		{"two documents", `{"action":"continue"}{"action":"continue"}`, 0},
		{"not JSON", `continue`, 0},
		{"empty", ``, 0},
		{"an order push", `{"salesorderid":"c0ffee00-0000-4000-8000-000000000001","action":"push"}`, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			runs := 0
			fn, err := inventorysyncqueue.Function(&fakeRunner{RunFn: func(_ context.Context, _, trig string) (inventorysync.Summary, error) {
				runs++
				if trig != "continuation" {
					t.Errorf("trigger %q", trig)
				}
				return inventorysync.Summary{}, nil
			}}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			err = fn.Queue.HandleMessage(t.Context(), trigger.Message{ID: "m1", Body: []byte(c.body)})
			if runs != c.runs {
				t.Fatalf("%d runs, want %d", runs, c.runs)
			}
			if c.runs == 0 && problem.KindOf(err) != problem.Invalid {
				t.Fatalf("error %v, want an invalid-message problem", err)
			}
			if c.runs == 1 && err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A failed continuation is reported in the log and not handed back to the queue, whose retry would meet the same
// outage within seconds: the checkpoints keep the position for the next timer run.
func TestAFailedContinuationIsReportedNotRetried(t *testing.T) {
	var logged bytes.Buffer
	fn, _ := inventorysyncqueue.Function(&fakeRunner{RunFn: func(context.Context, string, string) (inventorysync.Summary, error) {
		return inventorysync.Summary{RunID: "r7"}, errors.New("dataverse down")
	}}, slog.New(slog.NewJSONHandler(&logged, nil)))
	if err := fn.Queue.HandleMessage(t.Context(), trigger.Message{Body: []byte(`{"action":"continue"}`)}); err != nil {
		t.Fatalf("got %v, want the failure reported, not retried", err)
	}
	if !strings.Contains(logged.String(), `"level":"ERROR"`) || !strings.Contains(logged.String(), "dataverse down") {
		t.Fatalf("log %s does not report the failure", logged.String())
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"action":"continue","reason":"the run reached its time budget","after":"r1"}`))
	f.Add([]byte(`{"action":"continue"} `))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := inventorysyncqueue.Parse(b)
		if err == nil && m.Action != "continue" {
			t.Fatalf("accepted action %q", m.Action)
		}
	})
}
