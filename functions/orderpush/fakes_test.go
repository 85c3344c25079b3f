package orderpush_test

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

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// errUnexpected answers a call the test did not expect; the call is still recorded, so the test sees it.
var errUnexpected = errors.New("unexpected call")

// fakeSAP records every call, in order, as "find <po> <soldTo>" or "create <po>".
type fakeSAP struct {
	CreateSalesOrderFn func(ctx context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error)
	FindSalesOrdersFn  func(ctx context.Context, po, soldTo string) ([]sap.SalesOrder, error)

	mu      sync.Mutex
	calls   []string
	created []sap.SalesOrderCreate
}

var _ orderpush.SAP = (*fakeSAP)(nil)

func (f *fakeSAP) CreateSalesOrder(ctx context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "create "+o.PurchaseOrderByCustomer)
	f.created = append(f.created, o)
	f.mu.Unlock()
	if f.CreateSalesOrderFn == nil {
		return sap.SalesOrder{}, errUnexpected
	}
	return f.CreateSalesOrderFn(ctx, o)
}

func (f *fakeSAP) FindSalesOrders(ctx context.Context, po, soldTo string) ([]sap.SalesOrder, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "find "+po+" "+soldTo)
	f.mu.Unlock()
	if f.FindSalesOrdersFn == nil {
		return nil, errUnexpected
	}
	return f.FindSalesOrdersFn(ctx, po, soldTo)
}

func (f *fakeSAP) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// fakeDataverse records the rows it was asked to update.
type fakeDataverse struct {
	RetrieveFn func(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error)
	UpdateFn   func(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error)

	mu        sync.Mutex
	retrieves int
	updates   []dataverse.Record
}

var _ orderpush.Dataverse = (*fakeDataverse)(nil)

func (f *fakeDataverse) Retrieve(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error) {
	f.mu.Lock()
	f.retrieves++
	f.mu.Unlock()
	if f.RetrieveFn == nil {
		return nil, errUnexpected
	}
	return f.RetrieveFn(ctx, set, key, o)
}

func (f *fakeDataverse) Update(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error) {
	f.mu.Lock()
	f.updates = append(f.updates, rec)
	f.mu.Unlock()
	if f.UpdateFn == nil {
		return dataverse.Written{}, errUnexpected
	}
	return f.UpdateFn(ctx, set, key, rec, o)
}

func (f *fakeDataverse) counts() (retrieves, updates int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.retrieves, len(f.updates)
}

// fakeRecords is the record table; newHarness points each func at an in-memory table, and tests replace the ones
// whose failures they need.
type fakeRecords struct {
	InsertFn func(ctx context.Context, row store.Row[orderpush.Record]) (azcore.ETag, error)
	GetFn    func(ctx context.Context, pk, rk string) (store.Row[orderpush.Record], error)
	UpdateFn func(ctx context.Context, row store.Row[orderpush.Record]) (azcore.ETag, error)

	mu      sync.Mutex
	inserts int
	updates []store.Row[orderpush.Record]
}

var _ orderpush.Records = (*fakeRecords)(nil)

func (f *fakeRecords) Insert(ctx context.Context, row store.Row[orderpush.Record]) (azcore.ETag, error) {
	f.mu.Lock()
	f.inserts++
	f.mu.Unlock()
	return f.InsertFn(ctx, row)
}

func (f *fakeRecords) Get(ctx context.Context, pk, rk string) (store.Row[orderpush.Record], error) {
	return f.GetFn(ctx, pk, rk)
}

func (f *fakeRecords) Update(ctx context.Context, row store.Row[orderpush.Record]) (azcore.ETag, error) {
	f.mu.Lock()
	f.updates = append(f.updates, row)
	f.mu.Unlock()
	return f.UpdateFn(ctx, row)
}

// fakeBlobs is the archive, by default an in-memory account.
type fakeBlobs struct {
	PutBlobFn func(ctx context.Context, container, name string, data []byte, opts *store.BlobOptions) (azcore.ETag, error)
	GetBlobFn func(ctx context.Context, container, name string) (store.Blob, error)

	mu   sync.Mutex
	puts []string
}

var _ orderpush.Blobs = (*fakeBlobs)(nil)

func (f *fakeBlobs) PutBlob(ctx context.Context, container, name string, data []byte, opts *store.BlobOptions) (azcore.ETag, error) {
	f.mu.Lock()
	f.puts = append(f.puts, name)
	f.mu.Unlock()
	return f.PutBlobFn(ctx, container, name, data, opts)
}

func (f *fakeBlobs) GetBlob(ctx context.Context, container, name string) (store.Blob, error) {
	return f.GetBlobFn(ctx, container, name)
}

// fakeQueue keeps what was enqueued, with its options.
type fakeQueue struct {
	EnqueueFn func(ctx context.Context, queue string, body []byte, opts *store.EnqueueOptions) (string, error)

	mu   sync.Mutex
	sent []sentMessage
}

type sentMessage struct {
	Queue string
	Msg   orderpush.QueueMessage
	Delay time.Duration
}

var _ orderpush.Queue = (*fakeQueue)(nil)

func (f *fakeQueue) Enqueue(ctx context.Context, queue string, body []byte, opts *store.EnqueueOptions) (string, error) {
	if f.EnqueueFn != nil {
		if _, err := f.EnqueueFn(ctx, queue, body, opts); err != nil {
			return "", err
		}
	}
	var m orderpush.QueueMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "", fmt.Errorf("decoding the queued body %q: %w", body, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := sentMessage{Queue: queue, Msg: m}
	if opts != nil {
		s.Delay = opts.VisibilityDelay
	}
	f.sent = append(f.sent, s)
	return fmt.Sprintf("msg-%d", len(f.sent)), nil
}

func (f *fakeQueue) Sent() []sentMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentMessage(nil), f.sent...)
}

const (
	orderID   = "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b"
	soldTo    = "17100001"
	queueName = "order-push"
	archive   = "payload-archive"
)

// t0 is the fixed clock of the service; leases are judged against it.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// harness is a Service over fakes and in-memory storage, with a fixed clock.
type harness struct {
	svc     *orderpush.Service
	sap     *fakeSAP
	dv      *fakeDataverse
	records *fakeRecords
	mem     *store.MemTable[orderpush.Record]
	audit   *store.MemTable[orderpush.AuditEntry]
	account *store.MemAccount
	blobs   *fakeBlobs
	queue   *fakeQueue
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	m, err := orderpush.LoadMapping("")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		sap:     &fakeSAP{},
		dv:      &fakeDataverse{},
		mem:     store.NewMemTable[orderpush.Record]("integrationstate"),
		audit:   store.NewMemTable[orderpush.AuditEntry]("integrationstate"),
		account: store.NewMemAccount(),
		queue:   &fakeQueue{},
	}
	if err := h.account.EnsureContainer(context.Background(), archive); err != nil {
		t.Fatal(err)
	}
	h.records = &fakeRecords{InsertFn: h.mem.Insert, GetFn: h.mem.Get, UpdateFn: h.mem.Update}
	h.blobs = &fakeBlobs{PutBlobFn: h.account.PutBlob, GetBlobFn: h.account.GetBlob}
	h.dv.UpdateFn = func(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error) {
		return dataverse.Written{ID: orderID}, nil
	}
	h.svc = &orderpush.Service{
		SAP: h.sap, Dataverse: h.dv, Records: h.records, Audit: h.audit, Blobs: h.blobs, Queue: h.queue, Mapping: m,
		QueueName: queueName, ArchiveContainer: archive,
		SyncTimeout: 3 * time.Second, Lease: 2 * time.Minute, RetryDelay: 35 * time.Second,
		Now: func() time.Time { return t0 },
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	return h
}

// seed stores a record as if an earlier attempt had left it, and returns its ETag.
func (h *harness) seed(t *testing.T, v orderpush.Record) azcore.ETag {
	t.Helper()
	if v.CreatedAt.IsZero() {
		v.CreatedAt, v.UpdatedAt = t0.Add(-time.Hour), t0.Add(-time.Hour)
	}
	etag, err := h.mem.Insert(context.Background(), store.Row[orderpush.Record]{PartitionKey: orderID, RowKey: "push", Value: v})
	if err != nil {
		t.Fatal(err)
	}
	return etag
}

// set replaces the record as another instance would.
func (h *harness) set(t *testing.T, v orderpush.Record) {
	t.Helper()
	if _, err := h.mem.Upsert(context.Background(), store.Row[orderpush.Record]{PartitionKey: orderID, RowKey: "push", Value: v}); err != nil {
		t.Error(err)
	}
}

func (h *harness) record(t *testing.T) orderpush.Record {
	t.Helper()
	row, err := h.mem.Get(context.Background(), orderID, "push")
	if err != nil {
		t.Fatalf("reading the record: %v", err)
	}
	return row.Value
}

func (h *harness) hasRecord() bool {
	_, err := h.mem.Get(context.Background(), orderID, "push")
	return err == nil
}

func (h *harness) auditOutcomes(t *testing.T) []string {
	t.Helper()
	var out []string
	for row, err := range h.audit.Query(context.Background(), orderID, nil) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row.Value.Outcome)
	}
	return out
}

// inlineOrder is a valid order as a flow would send it inline.
func inlineOrder() *orderpush.Order {
	return &orderpush.Order{
		SalesOrderID: orderID, OrderNumber: "ORD-01001", CustomerAccountNumber: soldTo, PurchaseOrderNumber: "PO-4711",
		RequestedDeliveryDate: "2026-04-01", PaymentTerms: "1",
		Lines: []orderpush.OrderLine{{ProductNumber: "TG11", Quantity: "2", Unit: "Each"}, {ProductNumber: "TG12", Quantity: "1.005", Unit: "Kilogram"}},
	}
}

func inlineRequest() orderpush.Request {
	return orderpush.Request{SalesOrderID: orderID, Order: inlineOrder()}
}

func found(numbers ...string) func(context.Context, string, string) ([]sap.SalesOrder, error) {
	return func(context.Context, string, string) ([]sap.SalesOrder, error) {
		var out []sap.SalesOrder
		for _, n := range numbers {
			out = append(out, sap.SalesOrder{SalesOrder: n})
		}
		return out, nil
	}
}

func createdAs(number string) func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
	return func(_ context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
		return sap.SalesOrder{SalesOrder: number, PurchaseOrderByCustomer: o.PurchaseOrderByCustomer}, nil
	}
}

// safetyNet is the delay of the message every owned synchronous attempt queues first, so that the queue takes
// the order over should the instance die mid-attempt.
func (h *harness) safetyNet() time.Duration { return h.svc.Lease + 5*time.Second }

func (h *harness) isSafetyNet(m sentMessage) bool {
	return m.Delay == h.safetyNet() && m.Msg == orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionPush}
}

// completions are the queued messages other than safety nets: the hand-overs a test is about.
func (h *harness) completions() []sentMessage {
	var out []sentMessage
	for _, m := range h.queue.Sent() {
		if !h.isSafetyNet(m) {
			out = append(out, m)
		}
	}
	return out
}

func (h *harness) safetyNets() int {
	n := 0
	for _, m := range h.queue.Sent() {
		if h.isSafetyNet(m) {
			n++
		}
	}
	return n
}
