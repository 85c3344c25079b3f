package orderpush_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/uom"
)

// errUnexpected answers a call the test did not set up; the call is still recorded, so the test sees it.
var errUnexpected = errors.New("unexpected call")

// fakeSAP is SAP's sales orders in memory: a create without a CreateSalesOrderFn commits the order (numbers from
// 4711 on) and the lookups search what was committed, so a test sets only the funcs of the faults it is about.
// A fault that commits and then fails calls commit itself.
type fakeSAP struct {
	CreateSalesOrderFn       func(ctx context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error)
	FindSalesOrdersFn        func(ctx context.Context, po, soldTo string) ([]sap.SalesOrder, error)
	FindSalesOrdersByFieldFn func(ctx context.Context, field, value string) ([]sap.SalesOrder, error)
	FindWithTextsFn          func(ctx context.Context, po, soldTo string, since time.Time) ([]sap.SalesOrder, error)

	mu    sync.Mutex
	calls []string
	sent  []sap.SalesOrderCreate // every create that reached the fake
	book  []sap.SalesOrder       // the orders SAP holds
	// lagging hides every order from the lookups, as SAP's search lag hides a fresh one.
	lagging bool
}

var _ orderpush.SAP = (*fakeSAP)(nil)

func (f *fakeSAP) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeSAP) CreateSalesOrder(ctx context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "create "+o.PurchaseOrderByCustomer)
	f.sent = append(f.sent, o)
	f.mu.Unlock()
	if f.CreateSalesOrderFn != nil {
		return f.CreateSalesOrderFn(ctx, o)
	}
	return f.commit(o), nil
}

// commit stores o as SAP would and returns it with its number.
func (f *fakeSAP) commit(o sap.SalesOrderCreate) sap.SalesOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	so := sap.SalesOrder{SalesOrder: strconv.Itoa(4711 + len(f.book)), PurchaseOrderByCustomer: o.PurchaseOrderByCustomer,
		SoldToParty: o.SoldToParty, Extensions: o.Extensions}
	for _, t := range o.Texts {
		so.Texts.Results = append(so.Texts.Results, sap.SalesOrderText{SalesOrder: so.SalesOrder, Language: t.Language, LongTextID: t.LongTextID, LongText: t.LongText})
	}
	f.book = append(f.book, so)
	return so
}

// enter puts an order into SAP as a clerk or EDI would, with no reference of ours.
func (f *fakeSAP) enter(po, soldTo string, texts ...sap.SalesOrderTextCreate) string {
	return f.commit(sap.SalesOrderCreate{PurchaseOrderByCustomer: po, SoldToParty: soldTo, Texts: texts}).SalesOrder
}

func (f *fakeSAP) FindSalesOrders(ctx context.Context, po, soldTo string) ([]sap.SalesOrder, error) {
	f.record("find " + po + " " + soldTo)
	if f.FindSalesOrdersFn != nil {
		return f.FindSalesOrdersFn(ctx, po, soldTo)
	}
	return f.search(func(so sap.SalesOrder) bool { return so.PurchaseOrderByCustomer == po && so.SoldToParty == soldTo }), nil
}

func (f *fakeSAP) FindSalesOrdersByField(ctx context.Context, field, value string) ([]sap.SalesOrder, error) {
	f.record("findByField " + field + " " + value)
	if f.FindSalesOrdersByFieldFn != nil {
		return f.FindSalesOrdersByFieldFn(ctx, field, value)
	}
	return f.search(func(so sap.SalesOrder) bool { return so.Extensions[field] == value }), nil
}

func (f *fakeSAP) FindSalesOrdersWithTexts(ctx context.Context, po, soldTo string, since time.Time) ([]sap.SalesOrder, error) {
	f.record("findWithTexts " + po + " " + soldTo)
	if f.FindWithTextsFn != nil {
		return f.FindWithTextsFn(ctx, po, soldTo, since)
	}
	return f.search(func(so sap.SalesOrder) bool { return so.PurchaseOrderByCustomer == po && so.SoldToParty == soldTo }), nil
}

func (f *fakeSAP) search(match func(sap.SalesOrder) bool) []sap.SalesOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lagging {
		return nil
	}
	var out []sap.SalesOrder
	for _, so := range f.book {
		if match(so) {
			out = append(out, so)
		}
	}
	return out
}

// lag turns SAP's search lag on or off.
func (f *fakeSAP) lag(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lagging = on
}

// creates are the creates that reached SAP; orders the orders SAP holds.
func (f *fakeSAP) creates() []sap.SalesOrderCreate {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

func (f *fakeSAP) orders() []sap.SalesOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.book)
}

func (f *fakeSAP) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// commitThen is a create that SAP commits and whose answer is then lost (err).
func (f *fakeSAP) commitThen(err error) func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
	return func(_ context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
		f.commit(o)
		return sap.SalesOrder{}, err
	}
}

// fails is a create that SAP answers with err and does not commit.
func fails(err error) func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
	return func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) { return sap.SalesOrder{}, err }
}

// fakeDataverse records the updates; Update succeeds unless UpdateFn says otherwise.
type fakeDataverse struct {
	RetrieveFn func(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error)
	UpdateFn   func(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error)

	mu      sync.Mutex
	reads   []*dataverse.RetrieveOptions
	updates []dataverse.Record
}

var _ orderpush.Dataverse = (*fakeDataverse)(nil)

func (f *fakeDataverse) Retrieve(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error) {
	f.mu.Lock()
	f.reads = append(f.reads, o)
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
	if f.UpdateFn != nil {
		return f.UpdateFn(ctx, set, key, rec, o)
	}
	return dataverse.Written{}, nil
}

func (f *fakeDataverse) written() []dataverse.Record {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.updates)
}

// dvDown is Dataverse refusing every write.
func dvDown(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error) {
	return dataverse.Written{}, &dataverse.Error{Status: 503, Kind: dataverse.KindServer}
}

// fakeUnits converts nothing unless ToBaseFn says so: every quantity is taken to be in the base unit.
type fakeUnits struct {
	ToBaseFn func(ctx context.Context, product, unit, qty string) (uom.Result, error)

	mu    sync.Mutex
	calls []string
}

var _ orderpush.Units = (*fakeUnits)(nil)

func (f *fakeUnits) ToBase(ctx context.Context, product, unit, qty string) (uom.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, product+" "+qty+" "+unit)
	f.mu.Unlock()
	if f.ToBaseFn != nil {
		return f.ToBaseFn(ctx, product, unit, qty)
	}
	return uom.Result{Quantity: qty, Unit: unit}, nil
}

// fakeQueue keeps every message sent, with its delay; EnqueueFn can make sending fail.
type fakeQueue struct {
	EnqueueFn func(ctx context.Context, queue string, body []byte, opts *store.EnqueueOptions) error

	mu   sync.Mutex
	sent []queued
}

type queued struct {
	Queue string
	Msg   orderpush.QueueMessage
	Delay time.Duration
	TTL   time.Duration
}

var _ ledger.Enqueuer = (*fakeQueue)(nil)

func (f *fakeQueue) Enqueue(ctx context.Context, queue string, body []byte, opts *store.EnqueueOptions) (string, error) {
	if f.EnqueueFn != nil {
		if err := f.EnqueueFn(ctx, queue, body, opts); err != nil {
			return "", err
		}
	}
	var m orderpush.QueueMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "", fmt.Errorf("decoding the queued body %q: %w", body, err)
	}
	q := queued{Queue: queue, Msg: m}
	if opts != nil {
		q.Delay, q.TTL = opts.VisibilityDelay, opts.TimeToLive
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, q)
	return fmt.Sprintf("msg-%d", len(f.sent)), nil
}

func (f *fakeQueue) messages() []queued {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sent)
}

// fakeArchive keeps each document as the JSON the real archive would compress.
type fakeArchive struct {
	PutFn func(ctx context.Context, kind, key, what string, at time.Time, invocation string, v any) error

	mu    sync.Mutex
	blobs map[string][]byte
	names []string
}

var _ orderpush.Archive = (*fakeArchive)(nil)

func (f *fakeArchive) Put(ctx context.Context, kind, key, what string, at time.Time, invocation string, v any) (string, error) {
	if f.PutFn != nil {
		if err := f.PutFn(ctx, kind, key, what, at, invocation, v); err != nil {
			return "", err
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	name := audit.ArchiveName(kind, key, what, at, invocation)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.blobs == nil {
		f.blobs = map[string][]byte{}
	}
	f.blobs[name] = b
	f.names = append(f.names, name)
	return name, nil
}

func (f *fakeArchive) Get(_ context.Context, name string, v any) error {
	f.mu.Lock()
	b, ok := f.blobs[name]
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("reading archive %s: %w", name, store.ErrNotFound)
	}
	return json.Unmarshal(b, v)
}

// doc is the archived document called name, decoded loosely.
func (f *fakeArchive) doc(name string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var m map[string]any
	_ = json.Unmarshal(f.blobs[name], &m)
	return m
}

// clock is the test's settable clock, shared by the service and its ledger.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// contains reports whether any of ss contains sub.
func contains(ss []string, sub string) bool {
	return slices.ContainsFunc(ss, func(s string) bool { return strings.Contains(s, sub) })
}
