// Package invoices turns SAP billing documents into Dynamics 365 invoices: one D365 invoice per SAP billing
// document, created with a create-only upsert on an alternate key that holds the billing number, so no
// redelivery, reordering or race can make a second one. A cancellation document cancels the invoice of the
// document it names; a correction rewrites an invoice while it is active; a closed (paid or canceled) invoice is
// never touched. The status updates call it for every billing document event, and the status poll raises those
// events where SAP cannot.
//
// Once and in order: the invoice is read from D365 before the billing document is read from SAP, and every
// rewrite is fenced by the ETag of that read and carries SAP's change time, so a slow reader can neither write
// twice nor write an older state over a newer one.
package invoices

import (
	"context"
	"encoding/json"
	"iter"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/trigger"
)

// SAP reads billing documents (a *sap.Client).
type SAP interface {
	GetBillingDocumentPriced(ctx context.Context, number string) (sap.BillingDocument, error)
}

// Dataverse is what the invoices are read from and written with (a *dataverse.Client).
type Dataverse interface {
	Retrieve(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error)
	List(ctx context.Context, set string, q *dataverse.Query) iter.Seq2[dataverse.Record, error]
	ExecuteBatch(ctx context.Context, b *dataverse.Batch, o *dataverse.BatchOptions) ([]dataverse.BatchResult, error)
}

// Links finds the D365 order an SAP order number belongs to (the order push's link rows).
type Links interface {
	FindLink(ctx context.Context, remoteID string) (ledger.Link, bool, error)
}

// Audit keeps each document's story.
type Audit interface {
	Insert(ctx context.Context, e audit.Entry) error
}

// Units gives the D365 unit name of an SAP unit code (the value maps shared with the order push).
type Units interface {
	D365(sapCode string) (string, bool)
}

// Service reconciles D365 invoices with SAP's billing documents.
type Service struct {
	SAP       SAP
	Dataverse Dataverse
	Links     Links
	Audit     Audit
	Units     Units
	Mapping   Mapping
	// PricingPrecision is organization.pricingdecimalprecision, the decimals D365 keeps on a price per unit
	// (0: read from the organization on first use).
	PricingPrecision int
	Log              *slog.Logger
	Stats            Stats

	precision atomic.Int32 // read from the organization, plus one (0: not read yet)
}

// Stats counts outcomes, for the soak and the logs.
type Stats struct {
	Created, Corrected, Canceled, Paid, Unchanged, Stale, Skipped, NotLinked, Closed atomic.Int64
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// audit writes an entry of the document's story; a failure is logged, never the cause of a retry.
func (s *Service) audit(ctx context.Context, number, outcome, detail string) {
	if s.Audit == nil {
		return
	}
	inv, _ := trigger.InvocationFrom(ctx)
	d, _ := json.Marshal(detail)
	if err := s.Audit.Insert(ctx, audit.Entry{Kind: "invoice", Key: "sap-billingdocument-" + number, InvocationID: inv.ID,
		Trigger: "queue", Outcome: outcome, RemoteID: number, Detail: string(d)}); err != nil {
		s.log().WarnContext(ctx, "writing the audit entry failed", "billing_document", number, "outcome", outcome, "err", err)
	}
}

var _ = time.Second
