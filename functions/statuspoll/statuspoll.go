// Package statuspoll is the polling fallback of the status updates, for S/4HANA landscapes without event
// delivery: a timer reads the SAP orders whose LastChangeDateTime moved since its checkpoint, and for each one
// D365 pushed (it has a link row) puts a SalesOrder.Changed CloudEvent on STATUS_EVENTS_QUEUE, where statusupdates
// applies it like any event. When nothing changed a run costs one SAP read and one storage read, however many
// orders are linked.
package statuspoll

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/checkpoint"
	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Stream is the checkpoint's name; BillingStream the billing documents'.
const (
	Stream        = "sap-salesorder-status"
	BillingStream = "sap-billingdocument-status"
)

// Source is the CloudEvents source of the events the poll raises.
const Source = "/d365sap/statuspoll"

// SAP lists orders.
type SAP interface {
	SalesOrders(ctx context.Context, q sap.Query) *sap.Rows[sap.SalesOrder]
}

// Billing lists billing documents.
type Billing interface {
	BillingDocuments(ctx context.Context, q sap.Query) *sap.Rows[sap.BillingDocument]
}

// Links finds whether D365 pushed an SAP order.
type Links interface {
	FindLink(ctx context.Context, remoteID string) (ledger.Link, bool, error)
}

// Checkpoints keeps the poll's position.
type Checkpoints interface {
	Get(ctx context.Context, stream string) (checkpoint.Checkpoint, azcore.ETag, bool, error)
	Save(ctx context.Context, cp checkpoint.Checkpoint, etag azcore.ETag) (azcore.ETag, error)
}

// Poller polls SAP for changed orders.
type Poller struct {
	SAP SAP
	// Billing, when set, is polled too (the invoices' fallback where SAP raises no billing events).
	Billing     Billing
	Links       Links
	Checkpoints Checkpoints
	Queue       ledger.Enqueuer
	QueueName   string
	// Overlap is how far before the checkpoint each run reads again: SAP stamps a change before it commits it,
	// so a change committed late with an earlier stamp is still seen. Orders fed within the overlap are
	// remembered (with their stamp) and not fed twice.
	Overlap  time.Duration
	PageSize int
	// Enabled turns the poll on (STATUS_POLL_ENABLED); off, a tick returns at once.
	Enabled bool
	Now     func() time.Time
	Log     *slog.Logger
}

// Result is what one run did.
type Result struct {
	Read, Linked, Fed int
	Since, Until      time.Time
}

// Function declares the timer function.
func Function(p *Poller) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "statuspoll", Definition: d, Timer: trigger.TimerFunc(func(ctx context.Context, _ trigger.Timer) error {
		if !p.Enabled {
			return nil
		}
		res, err := p.Poll(ctx)
		p.log().InfoContext(ctx, "status poll", "read", res.Read, "linked", res.Linked, "fed", res.Fed, "since", res.Since, "until", res.Until, "err", err)
		if p.Billing == nil {
			return err
		}
		// The billing documents are polled even when the orders failed: the two streams are independent.
		bres, berr := p.PollBilling(ctx)
		p.log().InfoContext(ctx, "billing poll", "read", bres.Read, "fed", bres.Fed, "since", bres.Since, "until", bres.Until, "err", berr)
		return errors.Join(err, berr)
	})}, nil
}

// fed is the checkpoint's Extra: the orders fed within the overlap, with the stamp they were fed at.
type fed map[string]time.Time

// linkGrace is how long after its change an order without a link row is taken for one whose push has not
// written the link yet (statusupdates waits as long for the same race).
const linkGrace = 2 * time.Minute

// stream is one kind of document the poll follows: where its changes are read, whether one is D365's, and the
// event that is fed for it.
type stream struct {
	name, what string
	read       func(ctx context.Context, since time.Time) iter.Seq2[doc, error]
	// linked says whether D365 follows a document; nil feeds every one (the consumer decides).
	linked    func(ctx context.Context, number string) (bool, error)
	eventType string
	dataKey   string
}

// doc is a changed document: its number and SAP's change stamp.
type doc struct {
	number string
	stamp  time.Time
}

func (p *Poller) orders() stream {
	return stream{name: Stream, what: "SAP orders", eventType: "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", dataKey: "SalesOrder",
		read: func(ctx context.Context, since time.Time) iter.Seq2[doc, error] {
			q := sap.Query{Filter: sap.Gt("LastChangeDateTime", sap.DateTimeOffset{Time: since}),
				Select: []string{"SalesOrder", "LastChangeDateTime"}, OrderBy: []string{"LastChangeDateTime"}, PageSize: p.pageSize()}
			return func(yield func(doc, error) bool) {
				for o, err := range p.SAP.SalesOrders(ctx, q).All() {
					if !yield(doc{sap.NormalizeDocumentNumber(o.SalesOrder), o.LastChangeDateTime.Time}, err) {
						return
					}
				}
			}
		},
		linked: func(ctx context.Context, number string) (bool, error) {
			_, linked, err := p.Links.FindLink(ctx, number)
			return linked, err
		}}
}

// billing follows billing documents (A_BillingDocument.LastChangeDateTime is filterable, unlike a delivery's
// change date): every changed one is fed, since which order a document bills is in its items, and the consumer
// reads it anyway.
func (p *Poller) billing() stream {
	return stream{name: BillingStream, what: "SAP billing documents", eventType: "sap.s4.beh.billingdocument.v1.BillingDocument.Changed.v1",
		dataKey: "BillingDocument",
		read: func(ctx context.Context, since time.Time) iter.Seq2[doc, error] {
			q := sap.Query{Filter: sap.Gt("LastChangeDateTime", sap.DateTimeOffset{Time: since}),
				Select: []string{"BillingDocument", "LastChangeDateTime"}, OrderBy: []string{"LastChangeDateTime"}, PageSize: p.pageSize()}
			return func(yield func(doc, error) bool) {
				for b, err := range p.Billing.BillingDocuments(ctx, q).All() {
					if !yield(doc{sap.NormalizeDocumentNumber(b.BillingDocument), b.LastChangeDateTime.Time}, err) {
						return
					}
				}
			}
		}}
}

// Poll reads the orders changed since the checkpoint (less the overlap) and feeds the linked ones.
func (p *Poller) Poll(ctx context.Context) (Result, error) { return p.poll(ctx, p.orders()) }

// PollBilling reads the billing documents changed since its checkpoint and feeds each.
func (p *Poller) PollBilling(ctx context.Context) (Result, error) { return p.poll(ctx, p.billing()) }

func (p *Poller) poll(ctx context.Context, st stream) (Result, error) {
	now := p.now()
	cp, etag, found, err := p.Checkpoints.Get(ctx, st.name)
	if err != nil {
		return Result{}, classify.Storage(err, "reading the status poll's checkpoint")
	}
	mark := now.Add(-p.Overlap)
	seen := fed{}
	if found {
		if mark, err = cp.Time(); err != nil {
			return Result{}, problem.Wrap(problem.Internal, err, "reading the status poll's checkpoint")
		}
		if cp.Extra != "" {
			_ = json.Unmarshal([]byte(cp.Extra), &seen)
		}
	}
	since := mark.Add(-p.Overlap)
	res := Result{Since: since, Until: mark}
	for d, err := range st.read(ctx, since) {
		if err != nil {
			return res, classify.SAP(err, "reading the "+st.what+" changed since "+since.Format(time.RFC3339))
		}
		res.Read++
		number, stamp := d.number, d.stamp
		if stamp.After(res.Until) {
			res.Until = stamp
		}
		if prev, ok := seen[number]; ok && !stamp.After(prev) {
			continue
		}
		if st.linked != nil {
			linked, err := st.linked(ctx, number)
			if err != nil {
				return res, err
			}
			if !linked {
				// Not D365's: not looked up again until it changes. Unless it is young: the push writes its link
				// just after SAP answers the create (and retries a failed write), so a poll between the two must
				// look again, or the order is skipped until SAP next changes it.
				if now.Sub(stamp) >= linkGrace {
					seen[number] = stamp
				}
				continue
			}
		}
		res.Linked++
		if err := p.feed(ctx, st, number, stamp); err != nil {
			return res, err
		}
		seen[number] = stamp
		res.Fed++
	}
	if found && res.Read == 0 && res.Until.Equal(mark) {
		return res, nil // nothing moved: nothing to save
	}
	for n, t := range seen {
		if !t.After(res.Until.Add(-p.Overlap)) {
			delete(seen, n) // out of the next run's window
		}
	}
	next := checkpoint.Checkpoint{Stream: st.name, RunID: runID(ctx)}
	next.SetTime(res.Until)
	b, _ := json.Marshal(seen)
	next.Extra = string(b)
	if _, err := p.Checkpoints.Save(ctx, next, etag); err != nil {
		if errors.Is(err, checkpoint.ErrConflict) {
			return res, nil // another run advanced it; what this one fed is applied once all the same
		}
		return res, classify.Storage(err, "saving the status poll's checkpoint")
	}
	return res, nil
}

// feed puts a Changed event for the document on the status queue; its id is the document and stamp, so the same
// change fed twice is the same event.
func (p *Poller) feed(ctx context.Context, st stream, number string, stamp time.Time) error {
	data, _ := json.Marshal(map[string]string{st.dataKey: number, "EventRaisedDateTime": stamp.UTC().Format(time.RFC3339Nano)})
	e := cloudevent.Event{ID: fmt.Sprintf("poll-%s-%d", number, stamp.UnixMilli()), Source: Source, SpecVersion: "1.0",
		Type: st.eventType, Time: stamp, ContentType: cloudevent.JSON, Data: data}
	if st.name != Stream {
		e.ID = fmt.Sprintf("poll-%s-%s-%d", st.dataKey, number, stamp.UnixMilli())
	}
	body, err := e.Marshal()
	if err != nil {
		return problem.Wrap(problem.Internal, err, "encoding the poll's event")
	}
	if _, err := p.Queue.Enqueue(ctx, p.QueueName, body, &store.EnqueueOptions{TimeToLive: -1}); err != nil {
		return problem.Wrap(problem.Unavailable, err, "queueing the status of %s %s", st.dataKey, number)
	}
	return nil
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Poller) pageSize() int {
	if p.PageSize > 0 {
		return p.PageSize
	}
	return 1000
}

func (p *Poller) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func runID(ctx context.Context) string {
	inv, _ := trigger.InvocationFrom(ctx)
	return inv.ID
}
