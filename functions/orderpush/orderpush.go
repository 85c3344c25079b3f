// Package orderpush turns a Dynamics 365 sales order into exactly one SAP sales order.
//
// The exactly-once machinery is shared/ledger's: one entry per D365 order elects one owner among concurrent
// pushes; before a create is sent the entry says so; a create whose answer was lost stays unresolved until a
// lookup finds the SAP order or the commit window has passed with lookups that found nothing. The lookup goes by
// a reference unique to the D365 order that the create stores in SAP (the mapping's reference mode), never by
// the customer's purchase order number alone, which customers reuse. This package holds the rest: reading the
// order, the mapping, the SAP calls and the write-back to Dynamics.
package orderpush

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
	"github.com/d365sap/d365sap/shared/uom"
)

// SAP is what the push needs of SAP.
type SAP interface {
	CreateSalesOrder(ctx context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error)
	FindSalesOrders(ctx context.Context, purchaseOrderByCustomer, soldToParty string) ([]sap.SalesOrder, error)
	FindSalesOrdersByField(ctx context.Context, field, value string) ([]sap.SalesOrder, error)
	FindSalesOrdersWithTexts(ctx context.Context, purchaseOrderByCustomer, soldToParty string, since time.Time) ([]sap.SalesOrder, error)
}

// Dataverse is what the push needs of Dataverse.
type Dataverse interface {
	Retrieve(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error)
	Update(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error)
}

// Units converts a line's quantity into the material's base unit.
type Units interface {
	ToBase(ctx context.Context, product, unit, qty string) (uom.Result, error)
}

// Archive keeps payloads whole.
type Archive interface {
	Put(ctx context.Context, kind, key, what string, at time.Time, invocation string, v any) (string, error)
	Get(ctx context.Context, name string, v any) error
}

// Audit builds and writes audit rows.
type Audit interface {
	Row(e audit.Entry) (store.Row[json.RawMessage], error)
}

// Service pushes orders. main builds it with concrete clients.
type Service struct {
	SAP       SAP
	Dataverse Dataverse
	Units     Units
	Ledger    *ledger.Ledger
	Queue     ledger.Enqueuer
	Archive   Archive
	Audit     Audit
	Mapping   *Mapping

	QueueName string
	// SyncTimeout is how long a request waits for SAP, or for a concurrent push of the same order, before it
	// answers 202 and leaves the rest to the queue.
	SyncTimeout time.Duration
	// CreateTimeout bounds one SAP create; it starts only when the lease (and the request) still cover it.
	CreateTimeout time.Duration
	// Backoff spaces the queue's retries of pushes that met an outage.
	Backoff ledger.Backoff
	// SweepGrace is how late the queue may be before the sweeper re-queues an order.
	SweepGrace time.Duration
	Now        func() time.Time
	Log        *slog.Logger
	// Ready, when set, makes sure the storage the push writes to exists; called before each push.
	Ready func(ctx context.Context) error

	// refBreaker caches the reference breaker (see breaker.go).
	refBreaker breakerCache
}

// Kind names the push's entries in the ledger, audit and archive.
const Kind = "salesorder"

// Check reports settings whose relations would break exactly-once: the lease must cover a create, and the
// request's wait must leave a create room to run.
func (s *Service) Check() error {
	if err := s.Ledger.Check(s.CreateTimeout); err != nil {
		return err
	}
	// A create starts only while the request has a whole create's time left, so a wait of exactly one create is
	// already too short.
	if s.SyncTimeout <= s.CreateTimeout {
		return fmt.Errorf("the push's wait (%s) is not longer than one SAP create (%s): every push would be queued", s.SyncTimeout, s.CreateTimeout)
	}
	if need := s.SyncTimeout + s.Ledger.Margin + 2*s.Ledger.Skew; s.Ledger.Lease < need {
		return fmt.Errorf("the lease (%s) must outlast a request's wait (%s) plus the margin and twice the skew tolerance: %s", s.Ledger.Lease, s.SyncTimeout, need)
	}
	return nil
}

func (s *Service) ready(ctx context.Context) error {
	if s.Ready == nil {
		return nil
	}
	if err := s.Ready(ctx); err != nil {
		return problem.Wrap(problem.Unavailable, err, "preparing storage")
	}
	return nil
}

// Result is the outcome of a push.
type Result struct {
	SalesOrderID  string
	SAPSalesOrder string
	State         State
	// Created: this call created the SAP order, or learnt of the order an earlier attempt of this push made (201);
	// otherwise a replay (200) or accepted (202).
	Created  bool
	Accepted bool
	// WriteBackPending: the SAP order exists but Dynamics does not know yet; the queue finishes it.
	WriteBackPending bool
	// RetryAfter, with Accepted, is when polling is worth it.
	RetryAfter time.Duration
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func invocationID(ctx context.Context) string {
	if inv, ok := trigger.InvocationFrom(ctx); ok && inv.ID != "" {
		return inv.ID
	}
	return fmt.Sprintf("local-%d", rand.Int64())
}
