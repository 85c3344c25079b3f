package orderpush_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// These drive the app through the host stand-in against an SAP simulator that fails the ugly ways, counting SAP
// orders from SAP's side: by the reference each create carries.

// ordersFor counts the SAP orders carrying a D365 order's id in the extension field, and those entered by hand.
func (w *world) ordersFor(id string) (ours []sapsim.OrderInfo) {
	for _, o := range w.sap.Orders() {
		if equalFold(o.Extensions["YY1_D365OrderID_SDH"], id) {
			ours = append(ours, o)
		}
	}
	return ours
}

func equalFold(a, b string) bool { return len(a) == len(b) && (a == b || upper(a) == upper(b)) }

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// waitFinal polls the status until it is no longer 202, and returns the final answer.
func (w *world) waitFinal(t *testing.T, id string, within time.Duration) answer {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := w.status(t, id)
		if st.Status != http.StatusAccepted {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s still %s after %s: %s", id, st.State, within, st.Raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// exactlyOne checks that SAP holds exactly one order for the D365 order and that Dynamics got its number.
func (w *world) exactlyOne(t *testing.T, id string) string {
	t.Helper()
	return w.exactlyOneWithin(t, id, 30*time.Second)
}

func (w *world) exactlyOneWithin(t *testing.T, id string, within time.Duration) string {
	t.Helper()
	st := w.waitFinal(t, id, within)
	ours := w.ordersFor(id)
	if len(ours) != 1 {
		t.Fatalf("SAP holds %d orders for D365 order %s, want exactly 1: %+v", len(ours), id, ours)
	}
	if st.Status != http.StatusOK || st.SAPSalesOrder != ours[0].SalesOrder {
		t.Fatalf("status says %d %q, SAP has %s: %s", st.Status, st.SAPSalesOrder, ours[0].SalesOrder, st.Raw)
	}
	return ours[0].SalesOrder
}

func TestTwoOrdersWithOnePOAndSoldToAreTwoSAPOrders(t *testing.T) {
	w := newWorld(t)
	const po = "BLANKET-4711"
	a := w.orderWithPO(t, sapsim.CustomerID(1), po, line{sapsim.ProductID(0), "1"})
	b := w.orderWithPO(t, sapsim.CustomerID(1), po, line{sapsim.ProductID(1), "2"})
	ra := w.push(t, `{"salesorderid":"`+a+`"}`, nil)
	rb := w.push(t, `{"salesorderid":"`+b+`"}`, nil)
	if ra.Status != http.StatusCreated || rb.Status != http.StatusCreated || ra.SAPSalesOrder == rb.SAPSalesOrder {
		t.Fatalf("two orders, one PO: %d %s / %d %s", ra.Status, ra.Raw, rb.Status, rb.Raw)
	}
	if w.exactlyOne(t, a) != ra.SAPSalesOrder || w.exactlyOne(t, b) != rb.SAPSalesOrder {
		t.Fatal("written-back numbers differ from SAP's")
	}
	for id, want := range map[string]string{a: ra.SAPSalesOrder, b: rb.SAPSalesOrder} {
		row, _ := w.dv.Get("salesorders", id)
		if desc, _ := row["submitstatusdescription"].(string); desc != "Created in SAP as sales order "+want {
			t.Errorf("order %s written back as %q, want its own number %s", id, desc, want)
		}
	}
}

func TestTwentyConcurrentOrdersWithOnePOAreTwentySAPOrders(t *testing.T) {
	w := newWorld(t)
	w.sap.SetFaults(sapsim.Faults{LatencyMin: sapsim.Duration(20 * time.Millisecond), LatencyMax: sapsim.Duration(80 * time.Millisecond)})
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = w.orderWithPO(t, sapsim.CustomerID(2), "SPLIT-PO-1", line{sapsim.ProductID(i), "1"})
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() { w.push(t, `{"salesorderid":"`+id+`"}`, nil) })
	}
	wg.Wait()
	numbers := map[string]bool{}
	for _, id := range ids {
		numbers[w.exactlyOne(t, id)] = true
	}
	if len(numbers) != 20 {
		t.Fatalf("%d distinct SAP orders for 20 D365 orders", len(numbers))
	}
}

func TestAHandEnteredOrderWithTheSamePOIsNotAdopted(t *testing.T) {
	w := newWorld(t)
	hand, err := w.sap.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO-HAND-1", SoldToParty: sapsim.CustomerID(3),
		Items: []sapsim.ManualItem{{Material: sapsim.ProductID(2), Quantity: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := w.orderWithPO(t, sapsim.CustomerID(3), "PO-HAND-1", line{sapsim.ProductID(2), "1"})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusCreated || a.SAPSalesOrder == hand {
		t.Fatalf("the hand-entered order %s was adopted: %d %s", hand, a.Status, a.Raw)
	}
	w.exactlyOne(t, id)
}

// A gateway answers 504 after SAP committed: the push finds the order instead of creating a second one, and the
// caller's retries answer its number.
func TestCommitThen504IsOneOrder(t *testing.T) {
	for _, lag := range []time.Duration{0, time.Second} {
		t.Run(fmt.Sprintf("search lag %s", lag), func(t *testing.T) {
			w := newWorld(t)
			id := w.order(t, sapsim.CustomerID(4), line{sapsim.ProductID(3), "1"})
			w.sap.SetFaults(sapsim.Faults{CommitThenGatewayNext: 1, GatewayStatus: 504, SearchLag: sapsim.Duration(lag)})
			first := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
			if first.Status != http.StatusCreated && first.Status != http.StatusAccepted {
				t.Fatalf("after commit-then-504: %d %s", first.Status, first.Raw)
			}
			var number string
			for i := 0; i < 40 && number == ""; i++ {
				r := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
				number = r.SAPSalesOrder
				if number == "" {
					time.Sleep(150 * time.Millisecond)
				}
			}
			if got := w.exactlyOne(t, id); got != number {
				t.Fatalf("the retries answered %q, SAP has %s", number, got)
			}
		})
	}
}

// SAP commits after the client gave up (its timeout passed while the work process ran on): inside the commit
// window no second create is sent, and the order that landed late is the one written back.
func TestCommitAfterTheClientGaveUpIsOneOrder(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(5), line{sapsim.ProductID(4), "1"})
	w.sap.SetFaults(sapsim.Faults{SlowCommitNext: 1, SlowCommitDelay: sapsim.Duration(2500 * time.Millisecond)})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusAccepted {
		t.Fatalf("a create that timed out must be queued, not failed: %d %s", a.Status, a.Raw)
	}
	w.sap.Quiesce()
	w.exactlyOne(t, id)
}

// The lookup sees new orders only after a lag (and the answer to the create was lost): the hold keeps every
// attempt from creating again until the lookups can see it.
func TestALaggingLookupIsOneOrder(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(6), line{sapsim.ProductID(5), "1"})
	w.sap.SetFaults(sapsim.Faults{DropCreateNext: 1, SearchLag: sapsim.Duration(2 * time.Second)})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusAccepted {
		t.Fatalf("a lost answer with a lagging lookup: %d %s", a.Status, a.Raw)
	}
	// The caller retries meanwhile; none of them may create.
	for range 5 {
		w.push(t, `{"salesorderid":"`+id+`"}`, nil)
		time.Sleep(300 * time.Millisecond)
	}
	w.exactlyOne(t, id)
}

// SAP commits only after the lease of the attempt that sent the create has ended, and the caller keeps retrying:
// the takers find the create unresolved and hold, so nobody sends a second one.
func TestACreateOutlivingItsLeaseIsOneOrder(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(7), line{sapsim.ProductID(6), "1"})
	w.sap.SetFaults(sapsim.Faults{SlowCommitNext: 1, SlowCommitDelay: sapsim.Duration(7 * time.Second)}) // lease is 6 s
	ctx, cancel := context.WithTimeout(t.Context(), 12*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		w.push(t, `{"salesorderid":"`+id+`"}`, nil)
		time.Sleep(400 * time.Millisecond)
	}
	w.sap.Quiesce()
	w.exactlyOne(t, id)
}

// A 30-minute SAP outage, scaled to 15 s against a 1 s retry ceiling: every queued order is created once SAP is
// back, none used up its queue deliveries, none ended failed.
func TestALongOutageEndsWithEveryOrderCreated(t *testing.T) {
	w := newWorld(t)
	w.sap.SetFaults(sapsim.Faults{Down: true})
	var ids []string
	for i := range 10 {
		id := w.order(t, sapsim.CustomerID(8+i%3), line{sapsim.ProductID(10 + i), "1"})
		ids = append(ids, id)
		a := w.push(t, `{"salesorderid":"`+id+`"}`, http.Header{"Prefer": {"respond-async"}})
		if a.Status != http.StatusAccepted {
			t.Fatalf("async push during the outage: %d %s", a.Status, a.Raw)
		}
	}
	time.Sleep(15 * time.Second)
	w.sap.SetFaults(sapsim.Faults{})
	for _, id := range ids {
		w.exactlyOne(t, id)
	}
	if n := w.app.QueueLength(t, w.queue+"-poison"); n != 0 {
		t.Fatalf("%d messages reached the poison queue during an outage", n)
	}
}
