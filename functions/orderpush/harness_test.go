package orderpush_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
	"github.com/d365sap/d365sap/shared/valuemap"
)

const (
	orderID   = "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b"
	otherID   = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	soldTo    = "17100001"
	queueName = "order-push"
	// sapNumberColumn is the custom column the harness's mapping writes the SAP number to.
	sapNumberColumn = "new_sapsalesorder"
)

// t0 is where the harness's clock starts.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// harness is a Service over func-field fakes and the real ledger and audit trail, both over one in-memory table,
// with a clock the test moves.
type harness struct {
	svc   *orderpush.Service
	sap   *fakeSAP
	dv    *fakeDataverse
	units *fakeUnits
	queue *fakeQueue
	arch  *fakeArchive
	table *store.MemTable[json.RawMessage]
	clock *clock
	inv   atomic.Int32
}

// The harness's times: a 5 s create inside a 10 s wait inside a 2 min lease; an 11 min commit window.
const (
	lease         = 2 * time.Minute
	commitWindow  = 11 * time.Minute
	skew          = 5 * time.Second
	margin        = 2 * time.Second
	createTimeout = 5 * time.Second
	syncTimeout   = 10 * time.Second
)

var backoff = ledger.Backoff{Base: 2 * time.Minute, Max: 16 * time.Minute}

func values(t testing.TB) *valuemap.Set {
	t.Helper()
	v, err := valuemap.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// loadShipped is the shipped mapping with the shipped value maps.
func loadShipped(t testing.TB) *orderpush.Mapping {
	t.Helper()
	m, err := orderpush.LoadMapping("", values(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newHarness(t *testing.T, change ...func(*orderpush.Service)) *harness {
	t.Helper()
	m := loadShipped(t)
	m.WriteBack.SAPNumberColumn = sapNumberColumn
	h := &harness{sap: &fakeSAP{}, dv: &fakeDataverse{}, units: &fakeUnits{}, queue: &fakeQueue{}, arch: &fakeArchive{},
		table: store.NewMemTable[json.RawMessage]("integrationstate"), clock: &clock{now: t0}}
	h.svc = &orderpush.Service{
		SAP: h.sap, Dataverse: h.dv, Units: h.units, Queue: h.queue, Archive: h.arch,
		Ledger: &ledger.Ledger{Table: h.table, Kind: orderpush.Kind, Lease: lease, CommitWindow: commitWindow, Skew: skew,
			Margin: margin, Now: h.clock.Now},
		Audit: &audit.Trail{Table: h.table}, Mapping: m, QueueName: queueName,
		SyncTimeout: syncTimeout, CreateTimeout: createTimeout, Backoff: backoff, SweepGrace: 15 * time.Minute,
		Now: h.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, c := range change {
		c(h.svc)
	}
	return h
}

// ctx is a context with an invocation of its own, as the host gives every call one.
func (h *harness) ctx(t *testing.T) context.Context {
	return trigger.WithInvocation(t.Context(), trigger.Invocation{ID: fmt.Sprintf("inv-%d", h.inv.Add(1)), Function: "orderpush"})
}

func (h *harness) push(t *testing.T, o *orderpush.Order) (orderpush.Result, error) {
	t.Helper()
	return h.svc.Push(h.ctx(t), orderpush.Request{SalesOrderID: o.SalesOrderID, Order: o}, false)
}

func (h *harness) resume(t *testing.T, id, action string) error {
	t.Helper()
	return h.svc.Resume(h.ctx(t), orderpush.QueueMessage{SalesOrderID: id, Action: action})
}

func (h *harness) entry(t *testing.T, id string) ledger.Entry {
	t.Helper()
	snap, found, err := h.svc.Ledger.Get(t.Context(), id)
	if err != nil || !found {
		t.Fatalf("reading the entry of %s: found %v, %v", id, found, err)
	}
	return snap.Entry
}

func (h *harness) hasEntry(t *testing.T, id string) bool {
	t.Helper()
	_, found, err := h.svc.Ledger.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// seed stores an entry as an earlier attempt (or a dead instance) left it, with o as its payload.
func (h *harness) seed(t *testing.T, o *orderpush.Order, e ledger.Entry) {
	t.Helper()
	if o != nil && e.Payload == "" {
		b, _ := json.Marshal(o)
		e.Payload = string(b)
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = h.clock.Now()
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = e.UpdatedAt
	}
	raw, _ := json.Marshal(e)
	id := orderID
	if o != nil {
		id = o.SalesOrderID
	}
	if _, err := h.table.Upsert(t.Context(), store.Row[json.RawMessage]{PartitionKey: id, RowKey: h.svc.Ledger.RowKey(), Value: raw}); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) audits(t *testing.T, id string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for e, err := range (audit.Trail{Table: h.table}).List(t.Context(), id) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// auditRows are the raw audit rows of id, as the table holds them.
func (h *harness) auditRows(t *testing.T, id string) []store.Row[json.RawMessage] {
	t.Helper()
	var out []store.Row[json.RawMessage]
	for row, err := range h.table.Query(t.Context(), id, nil) {
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(row.RowKey, audit.RowKeyPrefix) {
			out = append(out, row)
		}
	}
	return out
}

// isSafetyNet says whether m is the message every owned synchronous attempt queues first, so that the queue
// takes the order over should the instance die mid-attempt.
func isSafetyNet(m queued) bool {
	return m.Msg.Action == orderpush.ActionPush && m.Msg.Retry == 0 && m.Delay == lease+skew+time.Second
}

// handovers are the queued messages other than safety nets: the work a test is about.
func (h *harness) handovers() []queued {
	var out []queued
	for _, m := range h.queue.messages() {
		if !isSafetyNet(m) {
			out = append(out, m)
		}
	}
	return out
}

// inlineOrder is a valid order as a flow sends it inline.
func inlineOrder() *orderpush.Order {
	return orderFor(orderID)
}

func orderFor(id string) *orderpush.Order {
	return &orderpush.Order{
		SalesOrderID: id, OrderNumber: "ORD-01001", CustomerAccountNumber: soldTo, PurchaseOrderNumber: "PO-4711",
		RequestedDeliveryDate: "2026-04-01", PaymentTerms: "1",
		Lines: []orderpush.OrderLine{{ProductNumber: "TG11", Quantity: "2", Unit: "Each"}, {ProductNumber: "TG12", Quantity: "1.005", Unit: "Kilogram"}},
	}
}

// post sends o through the real HTTP handler, as a flow would, and returns the status and the decoded body.
func (h *harness) post(t *testing.T, o *orderpush.Order, prefer string) (int, http.Header, map[string]any) {
	t.Helper()
	body, err := json.Marshal(orderpush.Request{Order: o})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequestWithContext(h.ctx(t), http.MethodPost, "/api/orders", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if prefer != "" {
		r.Header.Set("Prefer", prefer)
	}
	w := httptest.NewRecorder()
	(&orderpush.Handler{Pusher: h.svc}).ServeHTTP(w, r)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return w.Code, w.Header(), m
}

// status asks the status function about id, over the harness's ledger.
func (h *harness) status(t *testing.T, id string) (int, map[string]any) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders/{salesorderid}", func(w http.ResponseWriter, r *http.Request) {
		orderpush.ServeStatus(w, r, h.svc.Ledger, "")
	})
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequestWithContext(h.ctx(t), http.MethodGet, "/api/orders/"+id, nil))
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("status body %q: %v", w.Body.String(), err)
	}
	return w.Code, m
}
