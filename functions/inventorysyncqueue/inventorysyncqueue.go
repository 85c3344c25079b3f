// Package inventorysyncqueue runs the inventory sync again when a run asks for it: a run that reached its time
// budget queues a continuation, which goes on where the checkpoints say, minutes before the next timer tick.
package inventorysyncqueue

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Function runs a continuation. A message that is not one is refused (and dead-lettered by the runtime), never
// taken for a run; a continuation that finds another run holding the lock ends quietly, since that run goes on.
// A continuation whose run fails is reported (the run log and an error line) and not retried by the queue: the
// checkpoints keep the position, and the next timer tick goes on from it, where a queue retry would only meet
// the same outage within seconds and end in the poison queue.
func Function(r inventorysync.Runner, log *slog.Logger) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "inventorysyncqueue", Definition: d, Queue: trigger.QueueFunc(func(ctx context.Context, m trigger.Message) error {
		if _, err := Parse(m.Body); err != nil {
			return problem.New(problem.Invalid, "message %s is not an inventory sync continuation: %v", m.ID, err)
		}
		sum, err := r.Run(ctx, inventorysync.RunID(ctx), "continuation")
		if err != nil {
			log.ErrorContext(ctx, "inventory sync continuation failed; the next timer run goes on from the checkpoints",
				"run", sum.RunID, "error", err)
		}
		return nil
	})}, nil
}

// Parse reads a continuation message strictly: one JSON object with action "continue" and nothing unknown.
func Parse(body []byte) (inventorysync.ContinuationMessage, error) {
	var m inventorysync.ContinuationMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, err
	}
	if dec.More() {
		return m, errNotOne
	}
	if m.Action != "continue" {
		return m, errAction
	}
	return m, nil
}

type parseError string

func (e parseError) Error() string { return string(e) }

const (
	errNotOne parseError = "more than one JSON value"
	errAction parseError = `action is not "continue"`
)
