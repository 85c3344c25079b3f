package statusupdates_test

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// soakBills reads D365SAP_SOAK_BILLS (default 2,000), the billing documents the invoice soak makes.
func soakBills(t *testing.T) int {
	if v := os.Getenv("D365SAP_SOAK_BILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 20 {
			t.Fatalf("D365SAP_SOAK_BILLS=%q: want a number of at least 20", v)
		}
		return n
	}
	return 2000
}

// TestInvoiceSoak (make soak): orders are delivered in two parts and each delivery billed; a tenth of the
// documents are then cancelled and a credit memo is issued for one order in ten (5 % of the documents), while the
// publisher delivers the events at least once with 20 % duplicated (half under new ids) and 20 % reordered, SAP is
// down for a time-scaled 30 minutes (30 s), new documents are not readable for a moment after their event, and
// Dataverse drops the connection after committing 5 % of the changesets (and answers 503 to 2 % before). At the
// end every mapped document has exactly one D365 invoice, canceled exactly when SAP cancelled it, with totals
// equal to SAP's to the cent; no cancellation document has one.
func TestInvoiceSoak(t *testing.T) {
	if os.Getenv("D365SAP_SOAK") == "" {
		t.Skip("set D365SAP_SOAK=1 (make soak) to run the invoice soak")
	}
	n := soakBills(t)
	w := invoiceWorld(t)
	w.svc.Backoff.Base, w.svc.Backoff.Max = 200*time.Millisecond, 2*time.Second
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pub := sapsim.NewPublisher(func(body []byte) error {
		_, err := w.acct.Enqueue(ctx, w.queue, body, nil)
		return err
	}, sapsim.PublisherFaults{Duplicate: 0.1, NewID: 0.1, Reorder: 0.2, Delay: 50 * time.Millisecond}, 43)
	defer pub.Close()
	go func() {
		for ctx.Err() == nil {
			for _, e := range w.take() {
				pub.Raise(e)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	lag := sapsim.Faults{BillingReadLag: sapsim.Duration(300 * time.Millisecond)}
	w.sap.SetFaults(lag)
	w.dv.SetFaults(dvsim.Faults{CommitDrop: 0.05, Error503: 0.02, Only: []string{"POST"}})

	type life struct {
		number, id string
		steps      []func() error
	}
	rng := rand.New(rand.NewPCG(17, 19))
	orders := n * 10 / 21 // two documents an order, and a credit memo for one in ten
	lives := make([]*life, orders)
	var mu sync.Mutex
	var mapped, cancelled []string
	credits := map[string]bool{}
	for i := range lives {
		number, id := w.order(t)
		l := &life{number: number, id: id}
		var d1, d2 string
		bill := func(d *string, cancelIt bool) func() error {
			return func() error {
				b, err := w.sap.BillDelivery(*d)
				if err != nil {
					return err
				}
				mu.Lock()
				mapped = append(mapped, b)
				mu.Unlock()
				if cancelIt {
					if _, err := w.sap.CancelBilling(b); err != nil {
						return err
					}
					mu.Lock()
					cancelled = append(cancelled, b)
					mu.Unlock()
				}
				return nil
			}
		}
		l.steps = []func() error{
			func() (err error) { d1, err = w.sap.Deliver(number, map[string]string{"10": "3", "20": "7"}); return },
			func() (err error) { d2, err = w.sap.Deliver(number, nil); return },
			bill(&d1, rng.IntN(10) == 0),
			bill(&d2, rng.IntN(10) == 0),
		}
		if i%10 == 5 {
			l.steps = append(l.steps, func() error {
				c, err := w.sap.CreditMemo(number, map[string]string{"10": "1", "20": "2"})
				if err == nil {
					mu.Lock()
					mapped, credits[c] = append(mapped, c), true
					mu.Unlock()
				}
				return err
			})
		}
		lives[i] = l
	}
	w.take() // the orders' creation

	var wg sync.WaitGroup
	var handled, failed atomic.Int64
	var permanent sync.Map
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				ms, err := w.acct.Dequeue(ctx, w.queue, 16, 5*time.Second)
				if err != nil || len(ms) == 0 {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				for _, m := range ms {
					ictx := trigger.WithInvocation(ctx, trigger.Invocation{ID: "soak-" + m.ID, Function: "statusupdates"})
					err := w.svc.Handle(ictx, trigger.Message{ID: m.ID, Body: m.Body, DequeueCount: int(m.DequeueCount)})
					switch {
					case err == nil:
						handled.Add(1)
						_ = w.acct.DeleteMessage(ctx, w.queue, m.ID, m.PopReceipt)
					case !problem.Retryable(err):
						permanent.Store(m.ID, err.Error())
						_ = w.acct.DeleteMessage(ctx, w.queue, m.ID, m.PopReceipt)
					default:
						failed.Add(1)
					}
				}
			}
		})
	}
	started := time.Now()
	var back chan struct{}
	for round := 0; ; round++ {
		if round == 2 {
			// The first bills are raised as SAP goes down; it is back before the credit memos.
			w.sap.SetFaults(sapsim.Faults{Down: true, BillingReadLag: lag.BillingReadLag})
			t.Logf("SAP down at %s", time.Since(started).Round(time.Second))
			back = make(chan struct{})
			go func() {
				defer close(back)
				time.Sleep(30 * time.Second)
				w.sap.SetFaults(lag)
				t.Logf("SAP back at %s", time.Since(started).Round(time.Second))
			}()
		}
		if round == 4 {
			<-back
		}
		any := false
		for _, l := range lives {
			if round < len(l.steps) {
				any = true
				if err := l.steps[round](); err != nil {
					t.Fatalf("order %s, step %d: %v", l.number, round, err)
				}
			}
		}
		if !any {
			break
		}
	}
	if back != nil {
		<-back
	}
	isCancelled := map[string]bool{}
	for _, b := range cancelled {
		isCancelled[b] = true
	}
	// Wait until every document's invoice is right, or nothing moves any more.
	stallAfter := 3 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("D365SAP_SOAK_STALL")); err == nil {
		stallAfter = v
	}
	var wrong []string
	lastPending, lastWrong, moved := -1, -1, time.Now()
	for {
		wrong = wrong[:0]
		for _, b := range mapped {
			if why := w.invoiceDiffers(t, b, isCancelled[b], credits[b]); why != "" {
				wrong = append(wrong, b+": "+why)
			}
		}
		pending := pub.Pending()
		if len(wrong) == 0 && pending == 0 {
			break
		}
		if pending != lastPending || len(wrong) != lastWrong {
			lastPending, lastWrong, moved = pending, len(wrong), time.Now()
		}
		if time.Since(moved) > stallAfter {
			permanent.Range(func(k, v any) bool {
				t.Errorf("message %v dead-lettered: %v", k, v)
				return false // the first tells why
			})
			if len(wrong) > 0 {
				first := strings.SplitN(wrong[0], ":", 2)[0]
				b, err := w.svc.SAP.GetBillingDocument(context.Background(), first)
				t.Errorf("SAP's %s: type %s category %s cancelled %v cancels %q (%v)", first, b.BillingDocumentType, b.SDDocumentCategory,
					b.BillingDocumentIsCancelled, b.CancelledBillingDocument, err)
				for e, err := range w.trail.List(context.Background(), "sap-billingdocument-"+first) {
					t.Errorf("its story: %+v %v", e, err)
				}
			}
			t.Fatalf("%d of %d documents wrong and %d deliveries pending, nothing moved for %s (after %s; publisher %+v), first: %s",
				len(wrong), len(mapped), pending, stallAfter, time.Since(started).Round(time.Second), pub.Stats(), strings.Join(wrong[:min(5, len(wrong))], "; "))
		}
		time.Sleep(2 * time.Second)
	}
	time.Sleep(3 * time.Second) // the copies still on the queue, worked
	cancel()
	wg.Wait()
	permanent.Range(func(k, v any) bool {
		t.Errorf("message %v dead-lettered: %v", k, v)
		return true
	})
	if got := w.dv.Count("invoices"); got != len(mapped) {
		t.Errorf("%d D365 invoices for %d mapped documents", got, len(mapped))
	}
	st, ps, inj := &w.inv.Stats, pub.Stats(), w.dv.Injected()
	t.Logf("%d documents (%d cancelled, %d credit memos) of %d orders in %s: %d events raised, %d deliveries (%d duplicated, %d under new ids, %d reordered); "+
		"handled %d, retried by the host %d, sent again by the service %d; invoices created %d, corrected %d, canceled %d, unchanged %d, stale %d; "+
		"Dataverse faults %v; invoice writes %+v, line writes %+v", len(mapped), len(cancelled), len(credits), orders, time.Since(started).Round(time.Second),
		ps.Raised, ps.Delivered, ps.Duplicated, ps.NewIDs, ps.Reordered, handled.Load(), failed.Load(), w.svc.Stats.Requeued.Load(),
		st.Created.Load(), st.Corrected.Load(), st.Canceled.Load(), st.Unchanged.Load(), st.Stale.Load(), inj,
		w.dv.Writes("invoices"), w.dv.Writes("invoicedetails"))
	// Counted on Dataverse's side: one create per document, one state change per cancellation.
	if wr := w.dv.Writes("invoices"); wr.Creates != len(mapped) || wr.StateChanges != len(cancelled) {
		t.Errorf("Dataverse saw %d invoice creates and %d state changes for %d documents and %d cancellations", wr.Creates, wr.StateChanges, len(mapped), len(cancelled))
	}
	if ps.Duplicated == 0 || ps.Reordered == 0 || w.svc.Stats.Requeued.Load() == 0 || len(inj) == 0 {
		t.Errorf("the soak did not meet its faults: %+v, requeued %d, dataverse %v", ps, w.svc.Stats.Requeued.Load(), inj)
	}
}

// invoiceDiffers says how a billing document's D365 invoice differs from SAP ("" when it matches): exactly one,
// canceled as SAP cancelled it, totals equal to SAP's (negative for a credit memo).
func (w *world) invoiceDiffers(t *testing.T, number string, cancelled, credit bool) string {
	rows := w.dv.Find("invoices", w.inv.Mapping.KeyColumn, number)
	if len(rows) != 1 {
		return fmt.Sprintf("%d invoices", len(rows))
	}
	inv := rows[0]
	want := "0"
	if cancelled {
		want = "3"
	}
	if fmt.Sprint(inv["statecode"]) != want {
		return fmt.Sprintf("statecode %v, want %s", inv["statecode"], want)
	}
	b, err := w.svc.SAP.GetBillingDocument(context.Background(), number)
	if err != nil {
		return "reading SAP: " + err.Error()
	}
	sign := big.NewRat(1, 1)
	if credit {
		sign = big.NewRat(-1, 1)
	}
	if got, want := rat(t, inv["totalamount"]), new(big.Rat).Mul(sign, b.TotalGrossAmount.Rat()); got.Cmp(want) != 0 {
		return fmt.Sprintf("total %s, SAP's %s", got.FloatString(2), want.FloatString(2))
	}
	if got, want := rat(t, inv["totaltax"]), new(big.Rat).Mul(sign, b.TaxAmount.Rat()); got.Cmp(want) != 0 {
		return fmt.Sprintf("tax %s, SAP's %s", got.FloatString(2), want.FloatString(2))
	}
	return ""
}
