package invoices

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// Func-field fakes: each test says what the systems answer; what is not set fails the test when called.
type fakeSAP struct {
	get func(number string) (sap.BillingDocument, error)
}

func (f fakeSAP) GetBillingDocumentPriced(_ context.Context, n string) (sap.BillingDocument, error) {
	return f.get(n)
}

type fakeDV struct {
	retrieve func(set string, key dataverse.Key) (dataverse.Record, error)
	list     func(set string, q *dataverse.Query) []dataverse.Record
	batch    func(b *dataverse.Batch) ([]dataverse.BatchResult, error)
	mu       sync.Mutex
	batches  int
}

func (f *fakeDV) Retrieve(_ context.Context, set string, key dataverse.Key, _ *dataverse.RetrieveOptions) (dataverse.Record, error) {
	return f.retrieve(set, key)
}

func (f *fakeDV) List(_ context.Context, set string, q *dataverse.Query) iter.Seq2[dataverse.Record, error] {
	return func(yield func(dataverse.Record, error) bool) {
		for _, r := range f.list(set, q) {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (f *fakeDV) ExecuteBatch(_ context.Context, b *dataverse.Batch, _ *dataverse.BatchOptions) ([]dataverse.BatchResult, error) {
	f.mu.Lock()
	f.batches++
	f.mu.Unlock()
	return f.batch(b)
}

type fakeLinks map[string]string

func (l fakeLinks) FindLink(_ context.Context, n string) (ledger.Link, bool, error) {
	k, ok := l[n]
	return ledger.Link{Key: k}, ok, nil
}

type auditLog struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (a *auditLog) Insert(_ context.Context, e audit.Entry) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return nil
}

func (a *auditLog) outcomes() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var o []string
	for _, e := range a.entries {
		o = append(o, e.Outcome)
	}
	return strings.Join(o, ",")
}

type units map[string]string

func (u units) D365(c string) (string, bool) { v, ok := u[c]; return v, ok }

const (
	orderID   = "00000000-0000-0000-0000-00000000a001"
	invoiceID = "00000000-0000-0000-0000-00000000b001"
)

var stamp = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

func shippedMapping() Mapping {
	return Mapping{Enabled: true, KeyColumn: "d365sap_sapbillingdocument", ChangedColumn: "d365sap_sapchangedon",
		Types: map[string]Action{"F2": MakeInvoice, "S1": Cancel, "F8": Skip}, Categories: map[string]Action{"O": MakeNegativeInvoice},
		PriceConditions: []string{"PPR0"}, PaidWhenCleared: true}
}

func bill(number, typ string, at time.Time) sap.BillingDocument {
	b := sap.BillingDocument{BillingDocument: number, BillingDocumentType: typ, SDDocumentCategory: "M",
		TotalNetAmount: sap.MustDecimal("10.00"), TaxAmount: sap.MustDecimal("1.90"), TotalGrossAmount: sap.MustDecimal("11.90"),
		LastChangeDateTime: sap.DateTimeOffset{Time: at}}
	b.Items.Results = []sap.BillingDocumentItem{{BillingDocumentItem: "10", Material: "M1", BillingQuantity: sap.MustDecimal("3"),
		BillingQuantityUnit: "PC", NetAmount: sap.MustDecimal("10.00"), TaxAmount: sap.MustDecimal("1.90"), SalesDocument: "1"}}
	return b
}

// existing is the invoice D365 shows, written from SAP's state at changed.
func existing(st state, changed time.Time) dataverse.Record {
	return dataverse.Record{"invoiceid": invoiceID, "@odata.etag": `W/"7"`, "statecode": json.Number(string(rune('0' + st))),
		"d365sap_sapchangedon": changed.Format(time.RFC3339Nano), "invoice_details": []any{}}
}

func newService(s SAP, d *fakeDV, a *auditLog) *Service {
	return &Service{SAP: s, Dataverse: d, Links: fakeLinks{"1": orderID}, Audit: a, Units: units{"PC": "Piece"},
		Mapping: shippedMapping(), PricingPrecision: 2}
}

// d365World answers the reads a create needs: the order, no products (write-ins), the invoice as given.
func d365World(inv func() (dataverse.Record, error)) *fakeDV {
	return &fakeDV{
		retrieve: func(set string, _ dataverse.Key) (dataverse.Record, error) {
			switch set {
			case "invoices":
				return inv()
			case "salesorders":
				return dataverse.Record{"_customerid_value": "00000000-0000-0000-0000-0000000000c1",
					"_pricelevelid_value": "00000000-0000-0000-0000-0000000000d1", "_transactioncurrencyid_value": "00000000-0000-0000-0000-0000000000e1"}, nil
			}
			return nil, errors.New("unexpected retrieve of " + set)
		},
		list: func(string, *dataverse.Query) []dataverse.Record { return nil },
	}
}

var notFound = &dataverse.Error{Status: http.StatusNotFound, Kind: dataverse.KindNotFound}

func TestReconcileDecides(t *testing.T) {
	ok := func(b *dataverse.Batch) ([]dataverse.BatchResult, error) {
		return make([]dataverse.BatchResult, b.Len()), nil
	}
	cases := []struct {
		name        string
		doc         sap.BillingDocument
		docs        map[string]sap.BillingDocument // for a cancellation's original
		invoice     func() (dataverse.Record, error)
		wantBatches int
		wantAudit   string
		wantErr     problem.Kind
	}{
		{name: "a new document is created", doc: bill("90000001", "F2", stamp), invoice: func() (dataverse.Record, error) { return nil, notFound },
			wantBatches: 1, wantAudit: "created"},
		{name: "a duplicate of the applied state costs no write", doc: bill("90000001", "F2", stamp),
			invoice: func() (dataverse.Record, error) { return existing(active, stamp), nil }},
		{name: "an older state than the one applied is never written", doc: bill("90000001", "F2", stamp.Add(-time.Minute)),
			invoice: func() (dataverse.Record, error) { return existing(active, stamp), nil }},
		{name: "a canceled invoice is never touched", doc: bill("90000001", "F2", stamp.Add(time.Hour)),
			invoice: func() (dataverse.Record, error) { return existing(canceled, stamp), nil }, wantAudit: "closed"},
		{name: "a paid invoice is never rewritten", doc: bill("90000001", "F2", stamp.Add(time.Hour)),
			invoice: func() (dataverse.Record, error) { return existing(paid, stamp), nil }, wantAudit: "closed"},
		{name: "a paid invoice is canceled when SAP cancels the cleared document", doc: func() sap.BillingDocument {
			b := bill("90000001", "F2", stamp.Add(time.Hour))
			b.BillingDocumentIsCancelled, b.InvoiceClearingStatus = true, "C"
			return b
		}(), invoice: func() (dataverse.Record, error) { return existing(paid, stamp), nil }, wantBatches: 1, wantAudit: "canceled"},
		{name: "an unmapped type is skipped and audited", doc: bill("90000001", "ZZ9", stamp), wantAudit: "skipped",
			invoice: func() (dataverse.Record, error) { return nil, notFound }},
		{name: "a type the mapping skips is audited", doc: bill("90000001", "F8", stamp), wantAudit: "skipped",
			invoice: func() (dataverse.Record, error) { return nil, notFound }},
		{name: "a cancellation cancels the document it names, creating it canceled when it is missing", doc: func() sap.BillingDocument {
			b := bill("90000002", "S1", stamp)
			b.CancelledBillingDocument = "90000001"
			return b
		}(), docs: map[string]sap.BillingDocument{"90000001": func() sap.BillingDocument {
			b := bill("90000001", "F2", stamp)
			b.BillingDocumentIsCancelled = true
			return b
		}()}, invoice: func() (dataverse.Record, error) { return nil, notFound }, wantBatches: 1, wantAudit: "created"},
		{name: "a cancellation naming nothing is invalid", doc: bill("90000002", "S1", stamp),
			invoice: func() (dataverse.Record, error) { return nil, notFound }, wantErr: problem.Invalid},
		{name: "items that do not add up to the header are invalid", doc: func() sap.BillingDocument {
			b := bill("90000001", "F2", stamp)
			b.TotalNetAmount = sap.MustDecimal("10.01")
			return b
		}(), invoice: func() (dataverse.Record, error) { return nil, notFound }, wantErr: problem.Invalid},
		{name: "a document SAP does not show yet is read again", doc: sap.BillingDocument{},
			invoice: func() (dataverse.Record, error) { return nil, notFound }, wantErr: problem.Unavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := d365World(c.invoice)
			d.batch = ok
			var a auditLog
			s := newService(fakeSAP{get: func(n string) (sap.BillingDocument, error) {
				if b, ok := c.docs[n]; ok {
					return b, nil
				}
				if c.doc.BillingDocument == "" || n != c.doc.BillingDocument {
					return sap.BillingDocument{}, sap.ErrNotFound
				}
				return c.doc, nil
			}}, d, &a)
			number := c.doc.BillingDocument
			if number == "" {
				number = "90000009"
			}
			err := s.Reconcile(t.Context(), number)
			if c.wantErr != 0 {
				var p *problem.Error
				if !errors.As(err, &p) || p.Kind != c.wantErr {
					t.Fatalf("err = %v, want a %s problem", err, c.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if d.batches != c.wantBatches {
				t.Errorf("%d writes, want %d", d.batches, c.wantBatches)
			}
			if got := a.outcomes(); got != c.wantAudit {
				t.Errorf("audit %q, want %q", got, c.wantAudit)
			}
		})
	}
}

// The cancellation of a missing original is one changeset: header by create-only upsert, the line bound to it
// by the key, then the state, in that order (a canceled invoice takes no lines).
func TestCreateOfACanceledDocumentWritesLinesBeforeTheState(t *testing.T) {
	d := d365World(func() (dataverse.Record, error) { return nil, notFound })
	var sent *dataverse.Batch
	d.batch = func(b *dataverse.Batch) ([]dataverse.BatchResult, error) {
		sent = b
		return make([]dataverse.BatchResult, b.Len()), nil
	}
	b := bill("90000001", "F2", stamp)
	b.BillingDocumentIsCancelled = true
	s := newService(fakeSAP{get: func(string) (sap.BillingDocument, error) { return b, nil }}, d, &auditLog{})
	if err := s.Reconcile(t.Context(), "90000001"); err != nil {
		t.Fatal(err)
	}
	if sent == nil || sent.Len() != 3 {
		t.Fatalf("sent %v, want one changeset of three operations", sent)
	}
	if s.Stats.Created.Load() != 1 || s.Stats.Canceled.Load() != 1 {
		t.Errorf("created %d canceled %d, want 1 and 1", s.Stats.Created.Load(), s.Stats.Canceled.Load())
	}
}

// Another instance creating the invoice between the read and the create: the create meets the key taken (412),
// the invoice is read again and, being what SAP says, is left alone.
func TestCreateThatMeetsTheKeyTakenReadsAgainAndWritesNothingMore(t *testing.T) {
	reads := 0
	d := d365World(func() (dataverse.Record, error) {
		reads++
		if reads == 1 {
			return nil, notFound
		}
		return existing(active, stamp), nil
	})
	d.batch = func(b *dataverse.Batch) ([]dataverse.BatchResult, error) {
		r := make([]dataverse.BatchResult, b.Len())
		r[0].Err = &dataverse.Error{Status: 412, Kind: dataverse.KindDuplicate, Message: "A record with matching key values already exists."}
		for i := 1; i < len(r); i++ {
			r[i].Err = dataverse.ErrRolledBack
		}
		return r, nil
	}
	s := newService(fakeSAP{get: func(string) (sap.BillingDocument, error) { return bill("90000001", "F2", stamp), nil }}, d, &auditLog{})
	if err := s.Reconcile(t.Context(), "90000001"); err != nil {
		t.Fatal(err)
	}
	if d.batches != 1 || reads != 2 || s.Stats.Created.Load() != 0 || s.Stats.Unchanged.Load() != 1 {
		t.Errorf("batches %d reads %d created %d unchanged %d; want 1, 2, 0, 1", d.batches, reads, s.Stats.Created.Load(), s.Stats.Unchanged.Load())
	}
}

// A rewrite fenced by the ETag read before SAP: a 412 on it is tried again, never forced.
func TestCorrectionThatMeetsANewerETagIsTriedAgain(t *testing.T) {
	d := d365World(func() (dataverse.Record, error) { return existing(active, stamp), nil })
	d.batch = func(b *dataverse.Batch) ([]dataverse.BatchResult, error) {
		r := make([]dataverse.BatchResult, b.Len())
		r[0].Err = &dataverse.Error{Status: 412, Kind: dataverse.KindConcurrency}
		return r, nil
	}
	s := newService(fakeSAP{get: func(string) (sap.BillingDocument, error) { return bill("90000001", "F2", stamp.Add(time.Minute)), nil }}, d, &auditLog{})
	err := s.Reconcile(t.Context(), "90000001")
	if !problem.Retryable(err) {
		t.Fatalf("err = %v, want a retryable one", err)
	}
}
