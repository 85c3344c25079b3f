package orderpush

// Fakes for driving Service directly, without the host stand-in: an SAP that stores what it creates and can be
// told how to answer, a Dataverse that keeps the columns written back, an archive, a queue that only records, a
// settable clock shared by the ledger and the service, and a table wrapper that lets a test run something
// "concurrently" at an exact moment (just before a given storage write lands) or make a write fail.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// client it refuses to work on a context that is done.
type hookTable struct {
	ledger.Table
	mu sync.Mutex
	// beforeUpdate and beforeTransact run (once, then are cleared) ahead of the next Update / TransactETags.
	beforeUpdate, beforeTransact func()
	// failTransact makes the next n TransactETags fail as a storage outage would.
	failTransact int
	// failUpdate makes the next n Updates fail as a storage outage would.
	failUpdate int
}

var errStorageDown = errors.New("storage: 503 Server Busy")

func (h *hookTable) Insert(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return h.Table.Insert(ctx, row)
}

func (h *hookTable) Get(ctx context.Context, pk, rk string) (store.Row[json.RawMessage], error) {
	if err := ctx.Err(); err != nil {
		return store.Row[json.RawMessage]{}, err
	}
	return h.Table.Get(ctx, pk, rk)
}

func (h *hookTable) Upsert(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	return h.Table.Upsert(ctx, row)
}

func (h *hookTable) Update(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	h.mu.Lock()
	hook := h.beforeUpdate
	h.beforeUpdate = nil
	fail := h.failUpdate > 0
	if fail {
		h.failUpdate--
	}
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	if fail {
		return "", errStorageDown
	}
	return h.Table.Update(ctx, row)
}

func (h *hookTable) TransactETags(ctx context.Context, partition string, ops []store.Op[json.RawMessage]) (store.TransactResult, error) {
	if err := ctx.Err(); err != nil {
		return store.TransactResult{}, err
	}
	h.mu.Lock()
	hook := h.beforeTransact
	h.beforeTransact = nil
	fail := h.failTransact > 0
	if fail {
		h.failTransact--
	}
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	if fail {
		return store.TransactResult{}, errStorageDown
	}
	return h.Table.TransactETags(ctx, partition, ops)
}

func (h *hookTable) set(f func(h *hookTable)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

// rig is a Service on fakes.
type rig struct {
	s     *Service
	sap   *fakeSAP
	dv    *fakeDataverse
	arch  *fakeArchive
	queue *fakeQueue
	table *hookTable
	clock *fakeClock
}

// Test-sized times: a 60 s lease, a 10 min commit window, 5 s skew, 2 s margin, 10 s creates, 30 s requests.
const (
	rigLease  = 60 * time.Second
	rigWindow = 10 * time.Minute
	rigSkew   = 5 * time.Second
)

func newRig(t *testing.T, opts ...func(*rig)) *rig {
	t.Helper()
	values, err := valuemap.Load("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadMapping("", values)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{sap: newFakeSAP(), dv: newFakeDataverse(), arch: newFakeArchive(), queue: &fakeQueue{}, clock: newFakeClock(),
		table: &hookTable{Table: store.NewMemTable[json.RawMessage]("state")}}
	r.s = &Service{
		SAP: r.sap, Dataverse: r.dv, Units: fakeUnits{}, Queue: r.queue, Archive: r.arch, Audit: &audit.Trail{}, Mapping: m,
		Ledger: &ledger.Ledger{Table: r.table, Kind: Kind, Lease: rigLease, CommitWindow: rigWindow, Skew: rigSkew,
			Margin: 2 * time.Second, Now: r.clock.Now},
		QueueName: "order-push", SyncTimeout: 30 * time.Second, CreateTimeout: 10 * time.Second,
		Backoff: ledger.Backoff{Base: 5 * time.Second, Max: 5 * time.Minute}, SweepGrace: 15 * time.Minute,
		Now: r.clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(r)
	}
	if err := r.s.Check(); err != nil {
		t.Fatal(err)
	}
	return r
}

// inline is an inline order of one line.
func inline(id, customer, po, product, qty string) Request {
	return Request{SalesOrderID: id, Order: &Order{SalesOrderID: id, CustomerAccountNumber: customer, PurchaseOrderNumber: po,
		Lines: []OrderLine{{ProductNumber: product, Quantity: json.Number(qty), Unit: "Each"}}}}
}

// entry reads the ledger entry of id.
func (r *rig) entry(t *testing.T, id string) ledger.Entry {
	t.Helper()
	snap, found, err := r.s.Ledger.Get(t.Context(), id)
	if err != nil || !found {
		t.Fatalf("no entry for %s: %v", id, err)
	}
	return snap.Entry
}

// drain delivers every queued message (in the order sent) until none is left or rounds run out, advancing the
// clock by step before each round so that leases, backoffs and holds pass.
func (r *rig) drain(t *testing.T, rounds int, step time.Duration) {
	t.Helper()
	for range rounds {
		msgs := r.queue.take()
		if len(msgs) == 0 {
			return
		}
		r.clock.Advance(step)
		for _, q := range msgs {
			_ = r.s.Resume(t.Context(), q.m)
		}
	}
}

// businessError is SAP's 400 with a message code: proof that nothing was created.
func businessError(code, msg string) error {
	return fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 400, Code: code, Message: msg})
}
