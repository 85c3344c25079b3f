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
		qm.LastDelivery = maxDequeueCount > 0 && m.DequeueCount >= maxDequeueCount
		return r.Resume(ctx, qm)
	})}, nil
}
