// Package statusupdates is the queue function that brings SAP's state of an order back to Dynamics 365: each
// message on STATUS_EVENTS_QUEUE is a CloudEvent that only says which SAP document changed (a sales order, an
// outbound delivery, a billing document). The function reads the document again, finds the SAP orders it
// concerns, reads each order with its deliveries and billing documents, and makes the D365 order show that state,
// closing it once when SAP is done with it.
//
// Once and in order: per SAP order a version row (Table Storage) holds the fingerprint of what was last written
// and SAP's change time of it, so a duplicate or a stale event costs no Dataverse write, and since the state is
// always re-read, a late event cannot roll a status back. A claim on the row keeps two instances from writing the
// same change twice.
package statusupdates

import (
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// SAP is what the function reads from SAP (a *sap.Client).
type SAP interface {
	// GetSalesOrderFlow reads an order's header with the documents that follow it.
	GetSalesOrderFlow(ctx context.Context, number string) (sap.SalesOrder, error)
	GetOutboundDelivery(ctx context.Context, number string) (sap.OutboundDelivery, error)
	GetBillingDocument(ctx context.Context, number string) (sap.BillingDocument, error)
}

// Dataverse is what the function writes to Dynamics 365.
type Dataverse interface {
	Retrieve(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error)
	Update(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error)
	Action(ctx context.Context, name string, params any, o *dataverse.ActionOptions) (dataverse.Record, error)
}

// Invoices makes D365 show a billing document as an invoice (an *invoices.Service). A document SAP does not
// show yet is an error that wraps sap.ErrNotFound.
type Invoices interface {
	Reconcile(ctx context.Context, billingDocument string) error
}

// Links finds the D365 order an SAP order number belongs to (the order push's link rows).
type Links interface {
	FindLink(ctx context.Context, remoteID string) (ledger.Link, bool, error)
}

// Versions holds the version rows.
type Versions interface {
	Get(ctx context.Context, partitionKey, rowKey string) (store.Row[Version], error)
	Insert(ctx context.Context, row store.Row[Version]) (azcore.ETag, error)
	Update(ctx context.Context, row store.Row[Version]) (azcore.ETag, error)
}

// Audit keeps each document's story.
type Audit interface {
	Insert(ctx context.Context, e audit.Entry) error
}

// Service reconciles D365 orders with SAP.
type Service struct {
	SAP       SAP
	Dataverse Dataverse
	Links     Links
	Versions  Versions
	Audit     Audit
	Mapping   Mapping
	// Invoices, when set, is given every billing document an event names, after its orders.
	Invoices Invoices
	// Queue and QueueName take the retries of work that met an outage (see ledger.Backoff).
	Queue     ledger.Enqueuer
	QueueName string
	Backoff   ledger.Backoff
	// ClaimLease is how long a claim on a version row keeps other instances off it.
	ClaimLease time.Duration
	// Ready creates the state table before the first message is worked (nil: it exists).
	Ready func(context.Context) error
	Log   *slog.Logger
	Now   func() time.Time
	Stats Stats
}

// Stats counts outcomes, for the soak and the logs.
type Stats struct {
	Applied, Closed, Unchanged, Stale, NotLinked, Requeued atomic.Int64
}

// Function declares the queue function.
func Function(s *Service) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "statusupdates", Definition: d, Queue: trigger.QueueFunc(s.Handle)}, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) claimLease() time.Duration {
	if s.ClaimLease > 0 {
		return s.ClaimLease
	}
	return 2 * time.Minute
}

// envelope is the queue message's own members beside the CloudEvent (CloudEvents extension attributes, so the
// body stays a CloudEvent any reader takes): how often the work was sent again, and how many of those because SAP
// did not show the document.
type envelope struct {
	Retry   int `json:"d365sapretry"`
	Missing int `json:"d365sapmissing"`
}

// onto sets the envelope's members on a structured event.
func (e envelope) onto(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, problem.Wrap(problem.Internal, err, "re-encoding the event for its retry")
	}
	for k, v := range map[string]int{"d365sapretry": e.Retry, "d365sapmissing": e.Missing} {
		b, _ := json.Marshal(v)
		m[k] = b
	}
	return json.Marshal(m)
}
