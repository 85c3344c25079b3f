package statusupdates_test

// Cases from an outside review of the status path: each TestAttack... was a way the path lost, rolled back or
// dead-lettered an update (all fixed; the names say what went wrong), each TestAttackHeld... an attack that held.

import (
	"context"
	"encoding/base64"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/functions/statusupdates"
	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

// clock is a settable Service.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// twin is a second instance of the service: the same stores and systems, its own wrappers.
func twin(w *world, sapc statusupdates.SAP, dv statusupdates.Dataverse, versions statusupdates.Versions) *statusupdates.Service {
	s := w.svc
	if sapc == nil {
		sapc = s.SAP
	}
	if dv == nil {
		dv = s.Dataverse
	}
	if versions == nil {
		versions = s.Versions
	}
	return &statusupdates.Service{SAP: sapc, Dataverse: dv, Links: s.Links, Versions: versions, Audit: s.Audit, Mapping: s.Mapping,
		Queue: s.Queue, QueueName: s.QueueName, Backoff: s.Backoff, ClaimLease: s.ClaimLease, Log: s.Log, Now: s.Now}
}

func handleWith(t *testing.T, svc *statusupdates.Service, id string, body []byte) error {
	t.Helper()
	ctx := trigger.WithInvocation(context.Background(), trigger.Invocation{ID: "inv-" + id, Function: "statusupdates"})
	return svc.Handle(ctx, trigger.Message{ID: "m-" + id, Body: body, DequeueCount: 1})
}

func firstOf(t *testing.T, evs []sapsim.Event, typ string) sapsim.Event {
	t.Helper()
	for _, e := range evs {
		if strings.HasSuffix(e.Type, typ) {
			return e
		}
	}
	t.Fatalf("no %s event among %d", typ, len(evs))
	return sapsim.Event{}
}

// ---------------------------------------------------------------------------------------------------------------
// 1. A Dataverse outage during the write loses the update: the claim taken before the write is never released,
// and the retry (due after the outage's 30 s Retry-After floor, well inside the claim lease) finds "another
// instance writing this very state", counts it Unchanged and acknowledges it. No further retry exists.

func TestAttackRetryAfterDataverseOutageIsDroppedByItsOwnClaim(t *testing.T) {
	w := newWorld(t)
	c := &clock{t: time.Now()}
	w.svc.Now = c.Now
	number, id := w.order(t)
	if _, err := w.sap.Deliver(number, map[string]string{"10": "4"}); err != nil {
		t.Fatal(err)
	}
	ev := firstOf(t, w.take(), "OutboundDelivery.Created.v1")

	// Dataverse answers 503 to every PATCH for a while.
	w.dv.SetFaults(dvsim.Faults{Error503: 1, Only: []string{"PATCH"}})
	if err := w.handle(t, ev.CloudEvent("during-dv-outage")); err != nil {
		t.Fatalf("an outage failed the message: %v", err)
	}
	rs := w.takeRetries()
	if len(rs) != 1 {
		t.Fatalf("the outage sent %d retries, want 1", len(rs))
	}
	w.dv.SetFaults(dvsim.Faults{})

	// The retry becomes visible after its delay; the clock moves by exactly that much.
	c.Add(rs[0].delay)
	t.Logf("retry delay %s, claim lease %s", rs[0].delay, w.svc.ClaimLease)
	if err := w.handle(t, rs[0].body); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	more := w.takeRetries()
	o := w.d365(t, id)
	if str(o["d365sap_sapdeliverystatus"]) != "B" || str(o["d365sap_sapdeliveries"]) == "" {
		t.Fatalf("after the outage ended and the retry was worked, D365 shows delivery status %q, deliveries %q; "+
			"further retries queued: %d; stats unchanged=%d applied=%d. The update is lost.",
			str(o["d365sap_sapdeliverystatus"]), str(o["d365sap_sapdeliveries"]), len(more),
			w.svc.Stats.Unchanged.Load(), w.svc.Stats.Applied.Load())
	}
}

// ---------------------------------------------------------------------------------------------------------------
// 2. A slow reader overwrites a newer state with an older one. Goods issue changes the delivery only (SAP's order
// header, and its LastChangeDateTime, do not move), so the version row's change time cannot tell the two reads
// apart. Instance A reads SAP before the goods issue and is slow to go on; instance B reads after it and writes
// the goods-issue date; A then finds no claim, a different fingerprint and an equal change time, and writes its
// older state: the date disappears from D365, and the version row now holds A's fingerprint, so nothing repairs
// it until some later event for the order.

type gatedVersions struct {
	statusupdates.Versions
	once             sync.Once
	reached, release chan struct{}
}

func (g *gatedVersions) Get(ctx context.Context, pk, rk string) (store.Row[statusupdates.Version], error) {
	g.once.Do(func() { close(g.reached); <-g.release })
	return g.Versions.Get(ctx, pk, rk)
}

func TestAttackSlowReaderRollsBackTheGoodsIssue(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	d1, err := w.sap.Deliver(number, map[string]string{"10": "4"})
	if err != nil {
		t.Fatal(err)
	}
	created := w.take()
	w.deliver(t, created)

	gate := &gatedVersions{Versions: w.svc.Versions, reached: make(chan struct{}), release: make(chan struct{})}
	slow := twin(w, nil, nil, gate)
	done := make(chan error, 1)
	go func() {
		done <- handleWith(t, slow, "slow", firstOf(t, created, "OutboundDelivery.Created.v1").CloudEvent("late-copy"))
	}()
	<-gate.reached // A has read SAP: no goods issue yet

	if err := w.sap.PostGoodsIssue(d1); err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take()) // B writes the goods-issue date
	gi := str(w.d365(t, id)["d365sap_goodsissuedate"])
	if gi == "" {
		t.Fatal("the goods issue did not arrive")
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := str(w.d365(t, id)["d365sap_goodsissuedate"]); got != gi {
		t.Fatalf("the goods-issue date was %q after B, and is %q after the slow reader A wrote its older state", gi, got)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// 3. The claim is no fence. A's write to Dataverse is slow (throttling with Retry-After, a slow PATCH) and outlives
// the claim lease; B claims the lapsed row and writes the newer state; A's PATCH then lands with the older state.
// The version row records B's newer fingerprint, so every later copy of B's events is "Unchanged": D365 keeps
// the older state for good.

type slowDV struct {
	statusupdates.Dataverse
	once            sync.Once
	inside, release chan struct{}
}

func (d *slowDV) Update(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error) {
	d.once.Do(func() { close(d.inside); <-d.release })
	return d.Dataverse.Update(ctx, set, key, rec, o)
}

func TestAttackAWriteOutlivingTheClaimLeaseOverwritesANewerState(t *testing.T) {
	w := newWorld(t)
	c := &clock{t: time.Now()}
	w.svc.Now = c.Now
	number, id := w.order(t)
	if _, err := w.sap.Deliver(number, map[string]string{"10": "4"}); err != nil {
		t.Fatal(err)
	}
	first := w.take()
	dv := &slowDV{Dataverse: w.svc.Dataverse, inside: make(chan struct{}), release: make(chan struct{})}
	a := twin(w, nil, dv, nil)
	done := make(chan error, 1)
	go func() {
		done <- handleWith(t, a, "a", firstOf(t, first, "OutboundDelivery.Created.v1").CloudEvent("a"))
	}()
	<-dv.inside // A holds the claim and its PATCH is on its way

	d2, err := w.sap.Deliver(number, map[string]string{"20": "5"})
	if err != nil {
		t.Fatal(err)
	}
	second := w.take()
	c.Add(w.svc.ClaimLease + time.Second) // A's write is still in flight when its lease runs out
	w.deliver(t, second)                  // B applies the newer state
	close(dv.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.deliver(t, second) // B's events once more: nothing repairs D365
	if got := str(w.d365(t, id)["d365sap_sapdeliveries"]); !strings.Contains(got, d2) {
		t.Fatalf("D365 lists deliveries %q: the newer delivery %s was overwritten by A's older state and never restored", got, d2)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// 4. The retry count is read from the raw message body, while the event itself may come base64-encoded (which
// ReadQueue accepts, "a host with messageEncoding none hands on the encoded text"). Such a message never counts
// its retries: a document SAP never shows is read again forever instead of being dead-lettered after maxMissing,
// and its backoff never grows.

func TestAttackBase64MessageNeverCountsItsRetries(t *testing.T) {
	w := newWorld(t)
	_, id := w.order(t)
	ghost := "4999998"
	if err := w.links.PutLink(t.Context(), ghost, id); err != nil {
		t.Fatal(err)
	}
	ev := sapsim.Event{Type: "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", Data: map[string]string{"SalesOrder": ghost}, Raised: time.Now()}
	plain := strings.TrimSuffix(string(ev.CloudEvent("ghost")), "}") + `,"d365sapmissing":8}`

	// As JSON, the ninth read of a document SAP does not show is permanent.
	if err := w.handle(t, []byte(plain)); err == nil || problem.Retryable(err) {
		t.Fatalf("plain JSON with d365sapmissing 8: %v, want a permanent error", err)
	}
	w.takeRetries()
	// The same message base64-encoded.
	err := w.handle(t, []byte(base64.StdEncoding.EncodeToString([]byte(plain))))
	rs := w.takeRetries()
	if err == nil || problem.Retryable(err) {
		var sent string
		if len(rs) > 0 {
			sent = string(rs[0].body)
		}
		t.Fatalf("base64 of the same message: error %v and %d retries sent (%s): the retry count 8 was read as 0", err, len(rs), sent)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Events are not ordered (sap-events.md: "a Deleted may arrive before a pending Changed"). After a Deleted
// event canceled the D365 order (version row Closed), a late Changed event for the same order re-reads SAP,
// gets 404, and is read again maxMissing times, then dead-lettered as NotFound: normal traffic that ends in the
// dead letters (an operator alert) for an order the service already knows is closed.

type goneSAP struct {
	statusupdates.SAP
	gone string
}

func (g goneSAP) GetSalesOrderFlow(ctx context.Context, number string) (sap.SalesOrder, error) {
	if number == g.gone {
		return sap.SalesOrder{}, sap.ErrNotFound
	}
	return g.SAP.GetSalesOrderFlow(ctx, number)
}

func TestAttackLateChangedAfterDeletedIsRetriedThenDeadLettered(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	w.svc.SAP = goneSAP{SAP: w.svc.SAP, gone: number} // the order is deleted in SAP
	del := sapsim.Event{Type: "sap.s4.beh.salesorder.v1.SalesOrder.Deleted.v1", Data: map[string]string{"SalesOrder": number}, Raised: time.Now()}
	if err := w.handle(t, del.CloudEvent("deleted")); err != nil {
		t.Fatal(err)
	}
	if o := w.d365(t, id); str(o["statecode"]) != "2" {
		t.Fatalf("the Deleted event did not cancel the D365 order: %v", o)
	}
	w.takeRetries()
	late := sapsim.Event{Type: "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", Data: map[string]string{"SalesOrder": number}, Raised: time.Now().Add(-time.Minute)}
	err := w.handle(t, late.CloudEvent("late-changed"))
	rs := w.takeRetries()
	if err != nil || len(rs) != 0 {
		t.Fatalf("a late Changed event for an order already closed: error %v, %d retries sent", err, len(rs))
	}
	last := strings.TrimSuffix(string(late.CloudEvent("late-changed")), "}") + `,"d365sapmissing":8}`
	if err := w.handle(t, []byte(last)); err != nil {
		t.Fatalf("the late Changed event is dead-lettered: %v", err)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// 6. "Not linked" is taken as final, but the order push writes the link only after SAP answered the create (and
// when that write fails, a queued write-back retries it seconds later). An event SAP raises in that window (a
// rush order's immediate delivery, a credit block set at save) is skipped without a retry, and D365 never shows
// the state until some later event happens to come.

func TestAttackEventBeforeTheLinkIsWrittenIsLost(t *testing.T) {
	w := newWorld(t)
	number, err := w.sap.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO-RUSH", SoldToParty: sapsim.CustomerID(0),
		Items: []sapsim.ManualItem{{Material: sapsim.ProductID(0), Quantity: "3"}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.dv.Insert("salesorders", map[string]any{"name": "Order " + number})
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	if _, err := w.sap.Deliver(number, nil); err != nil { // delivered at once, before the push wrote its link
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	if err := w.links.PutLink(t.Context(), number, id); err != nil { // the push's link lands a moment later
		t.Fatal(err)
	}
	for _, r := range w.takeRetries() {
		if err := w.handle(t, r.body); err != nil {
			t.Fatal(err)
		}
	}
	if o := w.d365(t, id); str(o["d365sap_sapdeliverystatus"]) != "C" {
		t.Fatalf("the order was delivered in SAP before its link was written; D365 shows delivery status %q and deliveries %q, and nothing was retried",
			str(o["d365sap_sapdeliverystatus"]), str(o["d365sap_sapdeliveries"]))
	}
}

// ---------------------------------------------------------------------------------------------------------------
// Held: a crash after the D365 close but before the version row records it, then a redelivery after the claim
// lapsed, closes nothing twice and writes nothing that lands.

type loseDone struct {
	statusupdates.Versions
	lost atomic.Bool
}

func (l *loseDone) Update(ctx context.Context, row store.Row[statusupdates.Version]) (azcore.ETag, error) {
	if row.Value.Claim == "" && row.Value.Closed != "" && l.lost.CompareAndSwap(false, true) {
		return "", context.DeadlineExceeded // the process died here
	}
	return l.Versions.Update(ctx, row)
}

func TestAttackHeldCrashBetweenCloseAndVersionRow(t *testing.T) {
	w := newWorld(t)
	c := &clock{t: time.Now()}
	w.svc.Now = c.Now
	number, id := w.order(t)
	lose := &loseDone{Versions: w.svc.Versions}
	w.svc.Versions = lose
	if _, err := w.sap.Deliver(number, nil); err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	if _, err := w.sap.Bill(number); err != nil {
		t.Fatal(err)
	}
	evs := w.take()
	w.deliver(t, evs)
	if !lose.lost.Load() {
		t.Fatal("the version row was never lost")
	}
	if str(w.d365(t, id)["statecode"]) != "3" {
		t.Fatal("not fulfilled")
	}
	before := w.dv.Writes("salesorders")
	w.deliver(t, evs) // inside the lease
	c.Add(w.svc.ClaimLease + time.Second)
	w.deliver(t, evs) // after it
	if got := w.dv.Writes("salesorders").Sub(before); got.Total() != 0 {
		t.Fatalf("redelivery after the lost version row wrote %+v", got)
	}
}

// Held: many instances handling copies of the same events for one order at once close it exactly once and
// leave it showing the final state.
func TestAttackHeldConcurrentCopiesCloseOnce(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	if _, err := w.sap.Deliver(number, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sap.Bill(number); err != nil {
		t.Fatal(err)
	}
	evs := w.take()
	before := w.dv.Writes("salesorders")
	var wg sync.WaitGroup
	for i := range 6 {
		svc := twin(w, nil, nil, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j, e := range evs {
				if err := handleWith(t, svc, "c"+string(rune('a'+i))+string(rune('a'+j)), e.CloudEvent("copy")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Work what was sent again until nothing is left.
	for range 5 {
		rs := w.takeRetries()
		if len(rs) == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
		for _, r := range rs {
			_ = w.handle(t, r.body)
		}
	}
	got := w.dv.Writes("salesorders").Sub(before)
	if got.StateChanges != 1 || str(w.d365(t, id)["statecode"]) != "3" {
		t.Fatalf("writes %+v, state %v", got, w.d365(t, id)["statecode"])
	}
}

// ---------------------------------------------------------------------------------------------------------------
// 7. One delivery can serve several SAP orders (same ship-to). The orders are reconciled in turn and the first
// permanent failure ends the event: when Dynamics refuses the write for the first order (a plug-in, a business
// rule), the event is dead-lettered and the second order, which nothing stops, never gets the delivery.

type mergedDelivery struct {
	statusupdates.SAP
	delivery, other string
}

func (m mergedDelivery) GetOutboundDelivery(ctx context.Context, number string) (sap.OutboundDelivery, error) {
	d, err := m.SAP.GetOutboundDelivery(ctx, number)
	if err != nil || number != m.delivery {
		return d, err
	}
	o, err := m.SAP.GetOutboundDelivery(ctx, m.other)
	if err != nil {
		return d, err
	}
	d.Items.Results = append(d.Items.Results, o.Items.Results...)
	return d, nil
}

type refuseFor struct {
	statusupdates.Dataverse
	id string
}

func (r refuseFor) Update(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error) {
	if reflect.DeepEqual(key, dataverse.ID(r.id)) {
		return dataverse.Written{}, &dataverse.Error{Status: 400, Kind: dataverse.KindBadRequest, Message: "a plug-in refused the update", Method: "PATCH", Path: "salesorders"}
	}
	return r.Dataverse.Update(ctx, set, key, rec, o)
}

func TestAttackOneOrderOfADeliveryFailingStarvesTheOther(t *testing.T) {
	w := newWorld(t)
	a, aid := w.order(t)
	b, bid := w.order(t)
	da, err := w.sap.Deliver(a, map[string]string{"10": "1"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := w.sap.Deliver(b, map[string]string{"10": "1"})
	if err != nil {
		t.Fatal(err)
	}
	w.take()
	w.svc.SAP = mergedDelivery{SAP: w.svc.SAP, delivery: da, other: db} // delivery da references both orders
	w.svc.Dataverse = refuseFor{Dataverse: w.svc.Dataverse, id: aid}
	ev := sapsim.Event{Type: "sap.s4.beh.outbounddelivery.v1.OutboundDelivery.Changed.v1", Data: map[string]string{"OutboundDelivery": da}, Raised: time.Now()}
	herr := w.handle(t, ev.CloudEvent("two-orders"))
	if got := str(w.d365(t, bid)["d365sap_sapdeliveries"]); !strings.Contains(got, db) {
		t.Fatalf("order %s's update was refused (%v); order %s of the same delivery shows deliveries %q, want %s", a, herr, b, got, db)
	}
}

// ---------------------------------------------------------------------------------------------------------------
// 8. When the write is refused because the order may be closed, the service reads the order's statecode to tell;
// if that read meets a blip (network, 503), the original 400 is returned as a permanent rejection and the event
// is dead-lettered, though one retry would have found the order closed (or open) and finished.

type blipRetrieve struct {
	statusupdates.Dataverse
	failed atomic.Bool
}

func (b *blipRetrieve) Retrieve(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error) {
	if b.failed.CompareAndSwap(false, true) {
		return nil, &dataverse.Error{Status: 503, Kind: dataverse.KindServer, Message: "Service Unavailable", Method: "GET", Path: "salesorders"}
	}
	return b.Dataverse.Retrieve(ctx, set, key, o)
}

func closeByUser(t *testing.T, w *world, id string) {
	t.Helper()
	_, err := w.svc.Dataverse.Action(t.Context(), "FulfillSalesOrder", map[string]any{
		"OrderClose": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.orderclose", "subject": "closed by a user", "salesorderid@odata.bind": "/salesorders(" + id + ")"},
		"Status":     100002,
	}, &dataverse.ActionOptions{Set: "salesorders"})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAttackABlipWhileReadingTheStateDeadLettersTheEvent(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	closeByUser(t, w, id)
	if _, err := w.sap.Deliver(number, map[string]string{"10": "1"}); err != nil {
		t.Fatal(err)
	}
	w.svc.Dataverse = &blipRetrieve{Dataverse: w.svc.Dataverse}
	ev := firstOf(t, w.take(), "OutboundDelivery.Created.v1")
	if err := w.handle(t, ev.CloudEvent("blip")); err != nil && !problem.Retryable(err) {
		t.Fatalf("a 503 on the statecode read made the event permanent (dead letters): %v", err)
	}
}

// Held: an event for an order a user closed in D365 is recorded as closed, with no retry and no further writes.
func TestAttackHeldOrderClosedByAUser(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	closeByUser(t, w, id)
	if _, err := w.sap.Deliver(number, map[string]string{"10": "1"}); err != nil {
		t.Fatal(err)
	}
	evs := w.take()
	w.deliver(t, evs)
	before := w.dv.Writes("salesorders")
	w.deliver(t, evs)
	if rs := w.takeRetries(); len(rs) != 0 {
		t.Fatalf("%d retries", len(rs))
	}
	if got := w.dv.Writes("salesorders").Sub(before); got.Total() != 0 || str(w.d365(t, id)["statuscode"]) != "100002" {
		t.Fatalf("writes %+v, order %v", got, w.d365(t, id))
	}
}

// Held: the slow reader of test 2, when the newer change moves the order's LastChangeDateTime (a second delivery),
// is recognised as stale and writes nothing.
func TestAttackHeldSlowReaderIsStaleWhenTheOrderChangeTimeMoves(t *testing.T) {
	w := newWorld(t)
	number, id := w.order(t)
	if _, err := w.sap.Deliver(number, map[string]string{"10": "4"}); err != nil {
		t.Fatal(err)
	}
	created := w.take()
	w.deliver(t, created)
	gate := &gatedVersions{Versions: w.svc.Versions, reached: make(chan struct{}), release: make(chan struct{})}
	slow := twin(w, nil, nil, gate)
	done := make(chan error, 1)
	go func() {
		done <- handleWith(t, slow, "slow", firstOf(t, created, "OutboundDelivery.Created.v1").CloudEvent("late-copy"))
	}()
	<-gate.reached
	d2, err := w.sap.Deliver(number, map[string]string{"20": "4"})
	if err != nil {
		t.Fatal(err)
	}
	w.deliver(t, w.take())
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := str(w.d365(t, id)["d365sap_sapdeliveries"]); !strings.Contains(got, d2) {
		t.Fatalf("deliveries %q", got)
	}
}
