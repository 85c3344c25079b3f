// Package orderpushqueue is the queue function that finishes order pushes answered with 202 and write-backs that
// failed: it works from the ORDER_PUSH_QUEUE queue, so nothing depends on a goroutine outliving its request.
package orderpushqueue

import (
	"context"
	_ "embed"
	"encoding/json"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Resumer continues a queued push.
type Resumer interface {
	Resume(ctx context.Context, m orderpush.QueueMessage) error
}

// Function declares the queue function. maxDequeueCount is host.json's extensions.queues.maxDequeueCount: the
// delivery after which the host moves a failing message to the poison queue.
func Function(r Resumer, maxDequeueCount int) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "orderpushqueue", Definition: d, Queue: trigger.QueueFunc(func(ctx context.Context, m trigger.Message) error {
		var qm orderpush.QueueMessage
		if err := json.Unmarshal(m.Body, &qm); err != nil || !orderpush.IsOrderID(qm.SalesOrderID) {
			// Nothing can make this message valid: dead-letter it.
			return problem.New(problem.Invalid, "message %s is not an order-push message", m.ID)
		}
		if !orderpush.IsAction(qm.Action) {
			// Resume would acknowledge it for an order that has an entry (an action it does not know is not a
			// push), so the message would vanish without a trace: it is kept in the dead letters instead.
			return problem.New(problem.Invalid, "message %s asks for %q, which is not push, writeback or report", m.ID, cutAction(qm.Action))
		}
		qm.LastDelivery = maxDequeueCount > 0 && m.DequeueCount >= maxDequeueCount
		return r.Resume(ctx, qm)
	})}, nil
}

// cutAction keeps a hostile action short in the dead letter's reason.
func cutAction(a string) string {
	if r := []rune(a); len(r) > 32 {
		return string(r[:32]) + "…"
	}
	return a
}
