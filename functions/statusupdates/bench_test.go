package statusupdates_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/functions/statuspoll"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/checkpoint"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

// benchWorkers is one instance's queue trigger: the host's default batch of 16 messages in flight.
const benchWorkers = 16

// deliveredOrders makes n linked orders, each delivered in full in SAP, and returns their SAP numbers and D365 ids.
func deliveredOrders(b *testing.B, w *world, n int) (numbers, ids []string) {
	b.Helper()
	for range n {
		number, id := w.order(b)
		if _, err := w.sap.Deliver(number, map[string]string{"10": "4"}); err != nil {
			b.Fatal(err)
		}
		numbers, ids = append(numbers, number), append(ids, id)
	}
	w.take()
	return numbers, ids
}

// drain works the queue with benchWorkers in flight until it is empty, calling work for each message and deleting
// it when work succeeds; it returns how many it worked.
func drain(b *testing.B, w *world, work func(ctx context.Context, m store.Message) error) int64 {
	b.Helper()
	var done atomic.Int64
	var wg sync.WaitGroup
	ctx := b.Context()
	for range benchWorkers {
		wg.Go(func() {
			empty := 0
			for empty < 3 {
				ms, err := w.acct.Dequeue(ctx, w.queue, 1, time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if len(ms) == 0 {
					empty++
					time.Sleep(20 * time.Millisecond)
					continue
				}
				empty = 0
				if err := work(ctx, ms[0]); err != nil {
					b.Error(err)
					return
				}
				if err := w.acct.DeleteMessage(ctx, w.queue, ms[0].ID, ms[0].PopReceipt); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return done.Load()
}

func enqueueChanged(b *testing.B, w *world, numbers []string) {
	b.Helper()
	for _, n := range numbers {
		ev := sapsim.Event{Type: "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", Data: map[string]string{"SalesOrder": n}, Raised: time.Now()}
		if _, err := w.acct.Enqueue(b.Context(), w.queue, ev.CloudEvent(w.newID()), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatusEvents: events worked per second by one instance (16 in flight, as the host's batch) against a
// ceiling measured in the same run on orders of the same shape: the same queue reads and deletes, the same SAP
// re-read (the order with its flow, and its delivery) and one Dataverse write of the same values, done bare:
// without the link lookup, the version row and its claim, or the fence read. Each event is a real change, so
// each costs one write in both. Goal: ≥ 0.5.
func BenchmarkStatusEvents(b *testing.B) {
	const orders = 400
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w := newWorld(b)
		// Two rounds of each pass, alternating, on fresh orders every time; the best of each counts, so that a
		// warm-up or a stall of the machine in one pass does not decide the ratio.
		idOf := map[string]string{}
		fresh := func() []string {
			numbers, ids := deliveredOrders(b, w, orders)
			for k, n := range numbers {
				idOf[n] = ids[k]
			}
			return numbers
		}
		sets := [][]string{fresh(), fresh(), fresh(), fresh()}
		bareWork := func(ctx context.Context, m store.Message) error {
			var e struct {
				Data struct{ SalesOrder string } `json:"data"`
			}
			if err := json.Unmarshal(m.Body, &e); err != nil {
				return err
			}
			so, err := w.svc.SAP.GetSalesOrderFlow(ctx, e.Data.SalesOrder)
			if err != nil {
				return err
			}
			var ds []sap.OutboundDelivery
			for _, f := range so.Subsequent.Results {
				d, err := w.svc.SAP.GetOutboundDelivery(ctx, f.SubsequentDocument)
				if err != nil {
					return err
				}
				ds = append(ds, d)
			}
			rec := dataverse.Record{"d365sap_sapdeliverystatus": so.OverallDeliveryStatus, "d365sap_sapprocessstatus": so.OverallSDProcessStatus}
			if len(ds) > 0 {
				rec["d365sap_sapdeliveries"] = ds[0].DeliveryDocument
			}
			_, err = w.svc.Dataverse.Update(ctx, "salesorders", dataverse.ID(idOf[e.Data.SalesOrder]), rec, nil)
			return err
		}
		productWork := func(ctx context.Context, m store.Message) error {
			ictx := trigger.WithInvocation(ctx, trigger.Invocation{ID: "bench-" + m.ID, Function: "statusupdates"})
			return w.svc.Handle(ictx, trigger.Message{ID: m.ID, Body: m.Body, DequeueCount: int(m.DequeueCount)})
		}
		pass := func(numbers []string, work func(context.Context, store.Message) error) float64 {
			enqueueChanged(b, w, numbers)
			before := w.dv.Writes("salesorders")
			b.StartTimer()
			began := time.Now()
			n := drain(b, w, work)
			r := float64(n) / time.Since(began).Seconds()
			b.StopTimer()
			if got := w.dv.Writes("salesorders").Sub(before); n != orders || got.Updates != orders {
				b.Fatalf("a pass worked %d of %d with %+v writes", n, orders, got)
			}
			return r
		}
		var ceiling, rate float64
		for round := range 2 {
			ceiling = max(ceiling, pass(sets[2*round], bareWork))
			rate = max(rate, pass(sets[2*round+1], productWork))
		}
		if w.svc.Stats.Requeued.Load() != 0 {
			b.Fatalf("%d events were sent again", w.svc.Stats.Requeued.Load())
		}
		b.ReportMetric(rate, "events/s")
		b.ReportMetric(ceiling, "ceiling-events/s")
		b.ReportMetric(rate/ceiling, "events/ceiling")
		b.Logf("%d events: %.1f/s against a bare ceiling of %.1f/s (ratio %.3f)", orders, rate, ceiling, rate/ceiling)
	}
}

// countingLinks counts the link lookups, countingCheckpoints the checkpoint reads and writes: the storage
// requests of a poll.
type countingLinks struct {
	next  *ledger.Ledger
	reads atomic.Int64
}

func (c *countingLinks) FindLink(ctx context.Context, id string) (ledger.Link, bool, error) {
	c.reads.Add(1)
	return c.next.FindLink(ctx, id)
}

type countingCheckpoints struct {
	next checkpoint.Store
	ops  atomic.Int64
}

func (c *countingCheckpoints) Get(ctx context.Context, s string) (checkpoint.Checkpoint, azcore.ETag, bool, error) {
	c.ops.Add(1)
	return c.next.Get(ctx, s)
}

func (c *countingCheckpoints) Save(ctx context.Context, cp checkpoint.Checkpoint, e azcore.ETag) (azcore.ETag, error) {
	c.ops.Add(1)
	return c.next.Save(ctx, cp, e)
}

// BenchmarkStatusPollUnchanged: the requests of one poll over 10,000 linked orders when nothing changed since the
// last poll, counted from SAP's side and from the app's storage calls.
func BenchmarkStatusPollUnchanged(b *testing.B) {
	const linked = 10000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w := newWorld(b)
		for range linked {
			number, err := w.sap.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO", SoldToParty: sapsim.CustomerID(0),
				Items: []sapsim.ManualItem{{Material: sapsim.ProductID(0), Quantity: "1"}}})
			if err != nil {
				b.Fatal(err)
			}
			if err := w.links.PutLink(b.Context(), number, "00000000-0000-0000-0000-000000000001"); err != nil {
				b.Fatal(err)
			}
		}
		links := &countingLinks{next: w.links}
		cps := &countingCheckpoints{next: checkpoint.Store{Table: w.links.Table}}
		p := &statuspoll.Poller{SAP: w.svc.SAP.(statuspoll.SAP), Links: links, Checkpoints: cps, Queue: w.acct, QueueName: w.queue,
			Overlap: time.Second, Enabled: true}
		time.Sleep(2 * time.Second)                    // every order is older than the window
		if _, err := p.Poll(b.Context()); err != nil { // the first poll sets the checkpoint
			b.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		sapBefore, linkBefore, cpBefore := w.sap.Stats().Requests, links.reads.Load(), cps.ops.Load()
		b.StartTimer()
		res, err := p.Poll(b.Context())
		b.StopTimer()
		if err != nil || res.Fed != 0 {
			b.Fatalf("poll %+v, %v", res, err)
		}
		sapReqs := w.sap.Stats().Requests - sapBefore
		storage := links.reads.Load() - linkBefore + cps.ops.Load() - cpBefore
		b.ReportMetric(float64(sapReqs), "sap-requests/poll")
		b.ReportMetric(float64(storage), "storage-requests/poll")
		b.Logf("%d linked orders, nothing changed: %d SAP requests, %d storage requests (a per-order poll would make %d)", linked, sapReqs, storage, linked)
	}
}
