package canary_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/store"
)

// driveEveryPath runs every function through its successes and failures in a world whose systems accept the
// canaries. Each step checks only as much of the answer as proves the path ran; the order push's own tests pin
// the answers.
func driveEveryPath(t *testing.T, w *world) {
	stuck := w.plantStuckPush(t) // found by the sweeper at the end, once ORDER_PUSH_SWEEP_GRACE has passed

	t.Run("health and openapi", func(t *testing.T) {
		expect(t, "health", read(w.do(t, http.MethodGet, "/api/health", "", nil, nil)), http.StatusOK)
		doc := read(w.do(t, http.MethodGet, "/api/openapi.json", "", nil, nil))
		expect(t, "openapi", doc, http.StatusOK)
		expect(t, "openapi HEAD", read(w.do(t, http.MethodHead, "/api/openapi.json", "", nil, nil)), http.StatusOK)
		expect(t, "openapi unchanged", read(w.do(t, http.MethodGet, "/api/openapi.json", "", nil,
			http.Header{"If-None-Match": {doc.Header.Get("ETag")}})), http.StatusNotModified)
	})
	t.Run("created, replayed, written back", func(t *testing.T) {
		id := w.order(t, sapsim.CustomerID(1), "", sapsim.ProductID(0), sapsim.ProductID(1))
		expectState(t, "push", w.pushID(t, id, nil), http.StatusCreated, "written-back")
		expectState(t, "replay", w.pushID(t, strings.ToUpper(id), nil), http.StatusOK, "written-back")
		expectState(t, "status", w.status(t, id), http.StatusOK, "written-back")
		other := w.order(t, sapsim.CustomerID(2), "", sapsim.ProductID(2))
		expect(t, "inline push", w.push(t, inline(other, sapsim.CustomerID(2), sapsim.ProductID(2)), nil), http.StatusCreated)
	})
	t.Run("async, finished from the queue", func(t *testing.T) {
		id := w.order(t, sapsim.CustomerID(3), "", sapsim.ProductID(3))
		expect(t, "push", w.pushID(t, id, http.Header{"Prefer": {"respond-async"}}), http.StatusAccepted)
		expectState(t, "final status", w.waitFinal(t, id, 30*time.Second), http.StatusOK, "written-back")
	})
	t.Run("rejected by SAP", func(t *testing.T) {
		id := w.order(t, "99999999", "", sapsim.ProductID(4))
		expect(t, "push", w.pushID(t, id, nil), http.StatusUnprocessableEntity)
		expectState(t, "status", w.status(t, id), http.StatusUnprocessableEntity, "rejected")
	})
	t.Run("failed: a unit the material does not have", func(t *testing.T) {
		litre, err := w.dv.Insert("uoms", map[string]any{"name": "Litre", "quantity": json.Number("1")})
		if err != nil {
			t.Fatal(err)
		}
		id := w.order(t, sapsim.CustomerID(4), litre, sapsim.ProductID(5))
		expect(t, "push", w.pushID(t, id, nil), http.StatusBadRequest)
		expectState(t, "status", w.status(t, id), http.StatusBadRequest, "failed")
	})
	t.Run("CSRF token expired", func(t *testing.T) {
		w.sap.SetFaults(sapsim.Faults{ExpireCSRFNextWrite: 1})
		defer w.sap.SetFaults(sapsim.Faults{})
		id := w.order(t, sapsim.CustomerID(5), "", sapsim.ProductID(6))
		expect(t, "push", w.pushID(t, id, nil), http.StatusCreated)
		if w.sap.Stats().CSRFRejections == 0 {
			t.Error("SAP never refused a token: the fault did not fire")
		}
	})
	t.Run("SAP down, then back", func(t *testing.T) {
		w.sap.SetFaults(sapsim.Faults{Down: true})
		id := w.order(t, sapsim.CustomerID(6), "", sapsim.ProductID(7))
		expect(t, "push", w.pushID(t, id, nil), http.StatusAccepted)
		if st := w.status(t, id); st.Status != http.StatusAccepted {
			t.Errorf("status while down: %s, want 202", st)
		}
		time.Sleep(time.Second) // a retry or two meets the outage
		w.sap.SetFaults(sapsim.Faults{})
		expectState(t, "final status", w.waitFinal(t, id, 30*time.Second), http.StatusOK, "written-back")
	})
	t.Run("in progress while SAP commits", func(t *testing.T) {
		w.sap.SetFaults(sapsim.Faults{SlowCommitNext: 1, SlowCommitDelay: sapsim.Duration(1500 * time.Millisecond)})
		defer w.sap.SetFaults(sapsim.Faults{})
		id := w.order(t, sapsim.CustomerID(7), "", sapsim.ProductID(8))
		seen := pollWhile(t, w, id, func() { w.pushID(t, id, nil) })
		if !seen["in-progress"] {
			t.Errorf("the status never said in-progress while the create ran; it said %v", seen)
		}
		expectState(t, "final status", w.waitFinal(t, id, 30*time.Second), http.StatusOK, "written-back")
	})
	t.Run("created, Dynamics refusing the write-back", func(t *testing.T) {
		w.dv.SetFaults(dvsim.Faults{Error503: 1, Only: []string{http.MethodPatch}})
		id := w.order(t, sapsim.CustomerID(8), "", sapsim.ProductID(9))
		expectState(t, "push", w.pushID(t, id, nil), http.StatusCreated, "created")
		expectState(t, "status", w.status(t, id), http.StatusOK, "created")
		w.dv.SetFaults(dvsim.Faults{})
		expectState(t, "final status", w.waitFinal(t, id, 30*time.Second), http.StatusOK, "written-back")
	})
	t.Run("SAP refuses the create with a 401, then takes it", func(t *testing.T) {
		id := w.order(t, sapsim.CustomerID(11), "", sapsim.ProductID(12))
		w.sapRefuser.on.Store(true)
		expect(t, "push", w.pushID(t, id, nil), http.StatusAccepted) // a 401 proves SAP did nothing: queued
		time.Sleep(time.Second)                                      // the queue's tries meet the refusal too
		w.sapRefuser.on.Store(false)
		expectState(t, "final status", w.waitFinal(t, id, 30*time.Second), http.StatusOK, "written-back")
	})
	t.Run("Dataverse refuses the write-back with a 401, then takes it", func(t *testing.T) {
		id := w.order(t, sapsim.CustomerID(12), "", sapsim.ProductID(13))
		w.dvRefuser.on.Store(true)
		expectState(t, "push", w.pushID(t, id, nil), http.StatusCreated, "created")
		time.Sleep(time.Second)
		w.dvRefuser.on.Store(false)
		expectState(t, "final status", w.waitFinal(t, id, 30*time.Second), http.StatusOK, "written-back")
	})
	t.Run("not found and bad requests", func(t *testing.T) {
		unknown := "0c0ffee0-0000-4000-8000-00000000ca1a"
		expect(t, "push of an order Dynamics lacks", w.pushID(t, unknown, nil), http.StatusNotFound)
		expect(t, "status of no push", w.status(t, unknown), http.StatusNotFound)
		expect(t, "status of no GUID", w.status(t, "not-a-guid"), http.StatusBadRequest)
		expect(t, "invalid JSON", w.push(t, `{"salesorderid":`, nil), http.StatusBadRequest)
		expect(t, "no content type", read(w.do(t, http.MethodPost, "/api/orders", w.app.FunctionKey, []byte(`{}`), nil)), http.StatusUnsupportedMediaType)
		expect(t, "no function key", read(w.do(t, http.MethodPost, "/api/orders", "", []byte(`{}`), http.Header{"Content-Type": {"application/json"}})), http.StatusUnauthorized)
		expect(t, "a wrong function key", read(w.do(t, http.MethodGet, "/api/orders/"+unknown, "wrong-key", nil, nil)), http.StatusUnauthorized)
	})
	t.Run("queue: a message for a finished push, and one that is dead-lettered", func(t *testing.T) {
		id := w.order(t, sapsim.CustomerID(9), "", sapsim.ProductID(10))
		expect(t, "push", w.pushID(t, id, nil), http.StatusCreated)
		w.app.Enqueue(t, w.prefix+"-push", `{"salesorderid":"`+id+`","action":"push"}`)
		w.app.Enqueue(t, w.prefix+"-push", `{"salesorderid":"not an order"}`)
		w.admin(t, "orderpushqueue", `{"salesorderid":"`+id+`","action":"writeback"}`)
		waitFor(t, "a dead letter", 20*time.Second, func() bool { return w.app.Log.Contains(`"message dead-lettered"`) })
	})
	t.Run("sweeper finds a push whose message was lost", func(t *testing.T) {
		time.Sleep(time.Until(stuck.due))
		w.admin(t, "orderpushsweep", "")
		waitFor(t, "the sweep's log line", 20*time.Second, func() bool { return w.app.Log.Contains(`"order push sweep"`) })
		expectState(t, "the stuck push", w.waitFinal(t, stuck.id, 30*time.Second), http.StatusOK, "written-back")
	})
	t.Run("inventory sync, its continuation, and a message that is none", func(t *testing.T) {
		w.admin(t, "inventorysync", "")
		waitFor(t, "the sync's end", 60*time.Second, func() bool { return w.app.Log.Contains(`"outcome":"complete"`) })
		w.app.Enqueue(t, w.prefix+"-inv", `{"action":"continue","reason":"canary"}`)
		w.app.Enqueue(t, w.prefix+"-inv", `{"action":"drop everything"}`)
		waitFor(t, "two sync ends", 60*time.Second, func() bool { return w.app.Log.Count(`"outcome":"complete"`) >= 2 })
		waitFor(t, "the bad continuation dead-lettered", 20*time.Second, func() bool {
			return w.app.Log.Count(`"message dead-lettered"`) >= 2
		})
		expect(t, "the runs", read(w.do(t, http.MethodGet, "/api/inventory/runs?last=5", w.app.FunctionKey, nil, nil)), http.StatusOK)
		expect(t, "the runs, a bad last", read(w.do(t, http.MethodGet, "/api/inventory/runs?last=all", w.app.FunctionKey, nil, nil)), http.StatusBadRequest)
		expect(t, "the drift report", read(w.do(t, http.MethodGet, "/api/inventory/drift", w.app.FunctionKey, nil, nil)), http.StatusOK)
		expect(t, "the drift report, a bad limit", read(w.do(t, http.MethodGet, "/api/inventory/drift?limit=0", w.app.FunctionKey, nil, nil)), http.StatusBadRequest)
		expect(t, "the drift fix", read(w.do(t, http.MethodPost, "/api/inventory/drift/fix", w.app.FunctionKey, nil, nil)), http.StatusOK)
	})
	t.Run("SAP events in, applied to the order; the poll; and what they refuse", func(t *testing.T) {
		// The poll meeting SAP down first, while no status event is in flight (one would be sent again for later,
		// past the search of the queues).
		w.sap.SetFaults(sapsim.Faults{Down: true})
		w.admin(t, "statuspoll", "")
		waitFor(t, "the poll meeting SAP down", 30*time.Second, func() bool { return w.app.Log.Contains(`"status poll"`) })
		w.sap.SetFaults(sapsim.Faults{})
		id := w.order(t, sapsim.CustomerID(13), "", sapsim.ProductID(14))
		pushed := w.pushID(t, id, nil)
		expectState(t, "push", pushed, http.StatusCreated, "written-back")
		if _, err := w.sap.Deliver(pushed.SAPSalesOrder, nil); err != nil {
			t.Fatal(err)
		}
		ev := `{"specversion":"1.0","id":"canary-1","source":"/default/sap.s4.beh/1","type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1",` +
			`"data":{"SalesOrder":"` + pushed.SAPSalesOrder + `"}}`
		ce := http.Header{"Content-Type": {"application/cloudevents+json"}}
		expect(t, "an event", read(w.do(t, http.MethodPost, "/api/events", w.app.FunctionKey, []byte(ev), ce)), http.StatusAccepted)
		expect(t, "the handshake", read(w.do(t, http.MethodOptions, "/api/events", w.app.FunctionKey, nil,
			http.Header{"WebHook-Request-Origin": {"eventmesh.example.com"}})), http.StatusOK)
		expect(t, "a malformed event", read(w.do(t, http.MethodPost, "/api/events", w.app.FunctionKey, []byte(`{"specversion":"1.0"}`), ce)), http.StatusBadRequest)
		waitFor(t, "the delivery in D365", 30*time.Second, func() bool {
			o, _ := w.dv.Get("salesorders", id)
			return o["d365sap_sapdeliverystatus"] == "C"
		})
		w.app.Enqueue(t, w.prefix+"-events", `{"specversion":"1.0","id":"x","source":"/s","type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","data":{}}`)
		waitFor(t, "the bad event dead-lettered", 20*time.Second, func() bool {
			return strings.Contains(w.app.Log.String(), `"function":"statusupdates"`) && w.app.Log.Count(`"message dead-lettered"`) >= 3
		})
		w.admin(t, "statuspoll", "")
		waitFor(t, "the poll", 20*time.Second, func() bool { return w.app.Log.Count(`"status poll"`) >= 2 })
	})
	for _, st := range []orderpush.State{orderpush.StateAccepted, orderpush.StateInProgress, orderpush.StateCreated,
		orderpush.StateWrittenBack, orderpush.StateRejected, orderpush.StateFailed} {
		if !w.statesSeen()[string(st)] {
			t.Errorf("no status read answered state %q; it said %v", st, w.statesSeen())
		}
	}
}

// driveRefused runs the paths that meet a refused credential: SAP answering 401 (a wrong Basic password, or an
// OAuth token endpoint refusing the client secret) and Dataverse's token endpoint answering 401.
func driveRefused(t *testing.T, w *world) {
	t.Run("health", func(t *testing.T) {
		expect(t, "health", read(w.do(t, http.MethodGet, "/api/health", "", nil, nil)), http.StatusOK)
	})
	id := w.order(t, sapsim.CustomerID(1), "", sapsim.ProductID(0))
	t.Run("push by id", func(t *testing.T) {
		expectFailed(t, "push", w.pushID(t, id, nil))
		time.Sleep(2 * time.Second) // the queue's tries meet the refusal: unavailability never ends an order
		expectFailed(t, "status", w.status(t, id))
	})
	other := w.order(t, sapsim.CustomerID(2), "", sapsim.ProductID(1))
	t.Run("inline push, async", func(t *testing.T) {
		a := w.push(t, inline(other, sapsim.CustomerID(2), sapsim.ProductID(1)), http.Header{"Prefer": {"respond-async"}})
		expect(t, "push", a, http.StatusAccepted)
		time.Sleep(2 * time.Second)
		expectFailed(t, "status", w.status(t, other))
	})
	t.Run("inline push, sync", func(t *testing.T) {
		third := w.order(t, sapsim.CustomerID(3), "", sapsim.ProductID(2))
		a := w.push(t, inline(third, sapsim.CustomerID(3), sapsim.ProductID(2)), nil)
		expectFailed(t, "push", a)
		expectFailed(t, "status", w.status(t, third))
	})
	t.Run("queue and sweeper", func(t *testing.T) {
		w.admin(t, "orderpushqueue", `{"salesorderid":"`+id+`","action":"push"}`)
		w.admin(t, "orderpushsweep", "")
		waitFor(t, "the sweep's log line", 20*time.Second, func() bool { return w.app.Log.Contains(`"order push sweep"`) })
	})
	t.Run("inventory sync and its continuation", func(t *testing.T) {
		expect(t, "the drift report", read(w.do(t, http.MethodGet, "/api/inventory/drift", w.app.FunctionKey, nil, nil)), http.StatusServiceUnavailable)
		expect(t, "the drift fix", read(w.do(t, http.MethodPost, "/api/inventory/drift/fix", w.app.FunctionKey, nil, nil)), http.StatusServiceUnavailable)
		w.admin(t, "inventorysync", "")
		w.app.Enqueue(t, w.prefix+"-inv", `{"action":"continue","reason":"canary"}`)
		waitFor(t, "two failed syncs", 60*time.Second, func() bool { return w.app.Log.Count(`"outcome":"failed"`) >= 2 })
	})
}

func expect(t *testing.T, what string, a answer, status int) {
	t.Helper()
	if a.Status != status {
		t.Errorf("%s: %s, want %d", what, a, status)
	}
}

func expectState(t *testing.T, what string, a answer, status int, state string) {
	t.Helper()
	if a.Status != status || a.State != state {
		t.Errorf("%s: %s, want %d %s", what, a, status, state)
	}
}

// expectFailed: a push that met a refused credential did not succeed (it may be queued, or answer a problem).
func expectFailed(t *testing.T, what string, a answer) {
	t.Helper()
	if a.Status < 300 && a.Status != http.StatusAccepted {
		t.Errorf("%s with a refused credential: %s", what, a)
	}
}

// pollWhile runs f while polling the order's status, and returns the states the status said.
func pollWhile(t *testing.T, w *world, id string, f func()) map[string]bool {
	seen := map[string]bool{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if st := w.status(t, id); st.State != "" {
				seen[st.State] = true
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	f()
	close(done)
	wg.Wait()
	return seen
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type stuckPush struct {
	id  string
	due time.Time // when the sweeper counts it as stuck
}

// plantStuckPush records a push as queued without queueing its message, as when the message was lost: only
// the sweeper can find it.
func (w *world) plantStuckPush(t *testing.T) stuckPush {
	t.Helper()
	id := w.order(t, sapsim.CustomerID(10), "", sapsim.ProductID(11))
	acc, err := store.NewAccountFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := store.NewTable[json.RawMessage](acc, w.prefix+"state")
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	l := &ledger.Ledger{Table: tbl, Kind: orderpush.Kind, Lease: 6 * time.Second, CommitWindow: 3 * time.Second,
		Skew: 200 * time.Millisecond, Margin: 400 * time.Millisecond}
	order := `{"salesorderid":"` + id + `","customerAccountNumber":"` + sapsim.CustomerID(10) + `","lines":[{"productNumber":"` +
		sapsim.ProductID(11) + `","quantity":"1","unit":"Each"}]}`
	if _, _, err := l.Claim(t.Context(), ledger.ClaimRequest{Key: id, Ref: strings.ToUpper(id), Payload: order, Intent: ledger.Queue}); err != nil {
		t.Fatal(err)
	}
	return stuckPush{id: id, due: time.Now().Add(9 * time.Second)} // ORDER_PUSH_SWEEP_GRACE and a margin
}

// driveStorageRefused runs the functions while storage refuses the handler's key: health says so, pushes and
// status reads answer 503 (nothing can be recorded), a queue message fails until the host moves it to the
// poison queue, and the sweeper fails.
func driveStorageRefused(t *testing.T, w *world) {
	id := w.order(t, sapsim.CustomerID(1), "", sapsim.ProductID(0))
	t.Run("health", func(t *testing.T) {
		expect(t, "health", read(w.do(t, http.MethodGet, "/api/health", "", nil, nil)), http.StatusServiceUnavailable)
	})
	t.Run("push and status", func(t *testing.T) {
		expect(t, "push", w.pushID(t, id, nil), http.StatusServiceUnavailable)
		expect(t, "inline push", w.push(t, inline(id, sapsim.CustomerID(1), sapsim.ProductID(0)), nil), http.StatusServiceUnavailable)
		expect(t, "status", w.status(t, id), http.StatusServiceUnavailable)
	})
	t.Run("queue, to the poison queue", func(t *testing.T) {
		w.app.Enqueue(t, w.prefix+"-push", `{"salesorderid":"`+id+`","action":"push"}`)
		waitFor(t, "the message on the poison queue", 30*time.Second, func() bool { return w.app.QueueLength(t, w.prefix+"-push-poison") > 0 })
	})
	t.Run("sweeper", func(t *testing.T) {
		w.admin(t, "orderpushsweep", "")
		waitFor(t, "the sweep's log line", 20*time.Second, func() bool { return w.app.Log.Contains(`"order push sweep"`) })
	})
	t.Run("inventory sync and its runs", func(t *testing.T) {
		expect(t, "the runs", read(w.do(t, http.MethodGet, "/api/inventory/runs", w.app.FunctionKey, nil, nil)), http.StatusServiceUnavailable)
		w.admin(t, "inventorysync", "")
		waitFor(t, "the failed sync", 30*time.Second, func() bool {
			return w.app.Log.Contains(`"function":"inventorysync"`) &&
				w.app.Log.Contains(`invocation failed`)
		})
	})
}
