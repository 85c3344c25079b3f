package statusupdates_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// soakOrders reads D365SAP_SOAK_ORDERS (default 2,000), for shorter runs while working on the soak itself.
func soakOrders(t *testing.T) int {
	if v := os.Getenv("D365SAP_SOAK_ORDERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("D365SAP_SOAK_ORDERS=%q: want a number of at least 10", v)
		}
		return n
	}
	return 2000
}

// TestStatusSoak (make soak): orders go through their lives in SAP, interleaved, while the publisher delivers
// their events at least once with 20 % duplicated (half under new ids) and 20 % reordered, and SAP is down for a
// time-scaled 30 minutes (30 s) in the middle. Four workers take the queue as host instances would. At the end no
// order is lost (every D365 order shows SAP's final state, closed as SAP is done with it), each closed order
// changed state once, and the duplicates and stale events cost no write: Dataverse saw no write that changed
// nothing.
func TestStatusSoak(t *testing.T) {
	if os.Getenv("D365SAP_SOAK") == "" {
		t.Skip("set D365SAP_SOAK=1 (make soak) to run the status soak")
	}
	n := soakOrders(t)
	w := newWorld(t)
	w.svc.Backoff.Base, w.svc.Backoff.Max = 200*time.Millisecond, 2*time.Second
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pub := sapsim.NewPublisher(func(body []byte) error {
		_, err := w.acct.Enqueue(ctx, w.queue, body, nil)
		return err
	}, sapsim.PublisherFaults{Duplicate: 0.1, NewID: 0.1, Reorder: 0.2, Delay: 50 * time.Millisecond}, 42)
	defer pub.Close()
	go func() { // the simulator's events into the publisher
		for ctx.Err() == nil {
			for _, e := range w.take() {
				pub.Raise(e)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	type life struct {
		number, id string
		steps      []func() error
	}
	rng := rand.New(rand.NewPCG(7, 11))
	lives := make([]*life, n)
	for i := range lives {
		number, id := w.order(t)
		l := &life{number: number, id: id}
		deliver := func(q map[string]string) func() error {
			return func() error {
				d, err := w.sap.Deliver(number, q)
				if err == nil {
					err = w.sap.PostGoodsIssue(d)
				}
				return err
			}
		}
		bill := func() error { _, err := w.sap.Bill(number); return err }
		reject := func(item, reason string) func() error {
			return func() error { return w.sap.Reject(number, item, reason) }
		}
		switch r := rng.IntN(100); {
		case r < 55: // partial, rest, billed: fulfilled
			l.steps = []func() error{deliver(map[string]string{"10": "3"}), deliver(nil), bill}
		case r < 70: // delivered, never billed: stays open
			l.steps = []func() error{deliver(nil)}
		case r < 82: // every item rejected: canceled
			l.steps = []func() error{reject("10", "Z1"), reject("20", "Z1")}
		case r < 94: // a rejection undone, then the order runs its course
			l.steps = []func() error{reject("20", "Z1"), reject("20", ""), deliver(nil), bill}
		default: // one item rejected, the other delivered and billed: fulfilled
			l.steps = []func() error{reject("20", "Z2"), deliver(nil), bill}
		}
		lives[i] = l
	}
	// Four workers, as four instances of the queue trigger: a message whose work fails stays on the queue and
	// comes back after its visibility timeout, as the host lets it.
	var wg sync.WaitGroup
	var handled, failed atomic.Int64
	var permanent sync.Map
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				ms, err := w.acct.Dequeue(ctx, w.queue, 16, 5*time.Second)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				if len(ms) == 0 {
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
	// The lives, interleaved: one step of every order in turn. The first round is worked before SAP goes down;
	// the second and third are raised during the outage, the rest after it.
	started := time.Now()
	settle := func() {
		t.Helper()
		last, quiet := handled.Load(), time.Now()
		for time.Since(quiet) < 2*time.Second {
			time.Sleep(200 * time.Millisecond)
			if h := handled.Load(); h != last || pub.Pending() > 0 {
				last, quiet = h, time.Now()
			}
		}
	}
	var back chan struct{}
	for round := 0; ; round++ {
		switch round {
		case 1:
			settle()
			w.sap.SetFaults(sapsim.Faults{Down: true})
			t.Logf("SAP down at %s", time.Since(started).Round(time.Second))
			back = make(chan struct{})
			go func() {
				defer close(back)
				time.Sleep(30 * time.Second)
				w.sap.SetFaults(sapsim.Faults{})
				t.Logf("SAP back at %s", time.Since(started).Round(time.Second))
			}()
		case 3:
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
	// Wait for the events to drain and the last retries to be applied: every order matching SAP. The publisher
	// delivers one event at a time, as fast as this machine lets it, so the wait ends when nothing moves any more
	// (no delivery made, no order come right) for stallAfter, not at a fixed time.
	const stallAfter = 3 * time.Minute
	var mismatched []string
	lastPending, lastMismatched, moved := -1, -1, time.Now()
	for {
		mismatched = mismatched[:0]
		for _, l := range lives {
			if why := w.differs(t, l.number, l.id); why != "" {
				mismatched = append(mismatched, l.number+": "+why)
			}
		}
		pending := pub.Pending()
		if len(mismatched) == 0 && pending == 0 {
			break
		}
		if pending != lastPending || len(mismatched) != lastMismatched {
			lastPending, lastMismatched, moved = pending, len(mismatched), time.Now()
		}
		if time.Since(moved) > stallAfter {
			t.Fatalf("%d of %d orders differ from SAP and %d deliveries pending, nothing moved for %s (after %s; publisher %+v), first: %s",
				len(mismatched), n, pending, stallAfter, time.Since(started).Round(time.Second), pub.Stats(),
				strings.Join(mismatched[:min(5, len(mismatched))], "; "))
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
	writes := w.dv.Writes("salesorders")
	closed := 0
	for _, l := range lives {
		if o := w.d365(t, l.id); str(o["statecode"]) != "0" {
			closed++
		}
	}
	st, ps := &w.svc.Stats, pub.Stats()
	t.Logf("%d orders in %s: %d events raised, %d deliveries (%d duplicated, %d under new ids, %d reordered, %d failed); "+
		"handled %d, retried by the host %d, sent again by the service %d; applied %d, unchanged %d, stale %d, not linked %d; "+
		"D365 writes %+v, orders closed %d", n, time.Since(started).Round(time.Second), ps.Raised, ps.Delivered, ps.Duplicated, ps.NewIDs,
		ps.Reordered, ps.Failed, handled.Load(), failed.Load(), st.Requeued.Load(), st.Applied.Load(), st.Unchanged.Load(), st.Stale.Load(),
		st.NotLinked.Load(), writes, closed)
	if writes.StateChanges != closed || int(st.Closed.Load()) != closed {
		t.Errorf("%d state changes and %d closes for %d closed orders: an order closed twice", writes.StateChanges, st.Closed.Load(), closed)
	}
	if writes.Unchanged != 0 {
		t.Errorf("%d writes changed nothing: duplicates or stale events cost writes", writes.Unchanged)
	}
	if st.Unchanged.Load()+st.Stale.Load() == 0 || ps.Duplicated == 0 || ps.Reordered == 0 || st.Requeued.Load() == 0 {
		t.Errorf("the soak did not meet its faults: %+v %+v", ps, st)
	}
	if closed == 0 || closed == n {
		t.Errorf("%d of %d orders closed: the lives did not vary", closed, n)
	}
}

// differs says how a D365 order differs from its SAP order's final state ("" when it matches): the header
// statuses, the documents, and whether it is closed as SAP is done with it.
func (w *world) differs(t *testing.T, number, id string) string {
	t.Helper()
	so, err := w.svc.SAP.GetSalesOrderFlow(context.Background(), number)
	if err != nil {
		return "reading SAP: " + err.Error()
	}
	o := w.d365(t, id)
	for sap, col := range map[string]string{so.OverallDeliveryStatus: "d365sap_sapdeliverystatus", so.OverallSDDocumentRejectionSts: "d365sap_saprejectionstatus",
		so.OverallOrdReltdBillgStatus: "d365sap_sapbillingstatus", so.OverallSDProcessStatus: "d365sap_sapprocessstatus"} {
		if str(o[col]) != sap {
			return fmt.Sprintf("%s %q, SAP %q", col, str(o[col]), sap)
		}
	}
	var deliveries, bills int
	for _, f := range so.Subsequent.Results {
		switch f.SubsequentDocumentCategory {
		case "J":
			deliveries++
		case "M":
			bills++
		}
	}
	if got := len(strings.Split(str(o["d365sap_sapdeliveries"]), ", ")); deliveries > 0 && got != deliveries {
		return fmt.Sprintf("%d deliveries listed, SAP has %d", got, deliveries)
	}
	want := "0"
	switch {
	case so.OverallSDDocumentRejectionSts == "C":
		want = "2"
	case so.OverallDeliveryStatus == "C" && so.OverallOrdReltdBillgStatus == "C":
		want = "3"
	}
	if str(o["statecode"]) != want {
		return fmt.Sprintf("statecode %s, want %s", str(o["statecode"]), want)
	}
	_ = bills
	return ""
}
