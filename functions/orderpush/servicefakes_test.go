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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/uom"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// fakeClock is the one clock of a test: the ledger's and the service's.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// createAnswer is how the fake SAP answers one create: commit stores the order; err is returned after that.
type createAnswer struct {
	commit bool
	err    error
	delay  time.Duration
}

// fakeSAP stores created orders and answers lookups from them.
type fakeSAP struct {
	mu      sync.Mutex
	orders  []sap.SalesOrder
	creates []sap.SalesOrderCreate // every create that reached SAP, in order
	answers []createAnswer         // consumed one per create; when empty, creates commit and answer 201
	hidden  map[string]bool        // committed orders no lookup sees (a lagging read model)
	hideNew bool                   // hide every order committed from now on
	// store changes what SAP keeps of a create (e.g. drops or cuts a custom field); nil keeps it as sent.
	store    func(so *sap.SalesOrder)
	lookups  int
	texts    int
	next     int
	findErr  error
	textWait time.Duration
}

func newFakeSAP() *fakeSAP { return &fakeSAP{next: 1000, hidden: map[string]bool{}} }

func (f *fakeSAP) answerNext(a ...createAnswer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, a...)
}

func (f *fakeSAP) CreateSalesOrder(ctx context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
	f.mu.Lock()
	f.creates = append(f.creates, o)
	a := createAnswer{commit: true}
	if len(f.answers) > 0 {
		a, f.answers = f.answers[0], f.answers[1:]
	}
	var so sap.SalesOrder
	if a.commit {
		f.next++
		today := time.Now().UTC()
		so = sap.SalesOrder{SalesOrder: fmt.Sprint(f.next), SoldToParty: o.SoldToParty, PurchaseOrderByCustomer: o.PurchaseOrderByCustomer,
			Extensions: o.Extensions, CreationDate: sap.Date(today.Year(), today.Month(), today.Day())}
		for _, t := range o.Texts {
			so.Texts.Results = append(so.Texts.Results, sap.SalesOrderText{SalesOrder: so.SalesOrder, Language: t.Language, LongTextID: t.LongTextID, LongText: t.LongText})
		}
		if f.store != nil {
			f.store(&so)
		}
		if f.hideNew {
			f.hidden[so.SalesOrder] = true
		}
		f.orders = append(f.orders, so)
	}
	f.mu.Unlock()
	if a.delay > 0 {
		select {
		case <-time.After(a.delay):
		case <-ctx.Done():
			return sap.SalesOrder{}, fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, ctx.Err())
		}
	}
	if a.err != nil {
		return sap.SalesOrder{}, a.err
	}
	return so, nil
}

func (f *fakeSAP) visible() []sap.SalesOrder {
	var out []sap.SalesOrder
	for _, o := range f.orders {
		if !f.hidden[o.SalesOrder] {
			out = append(out, o)
		}
	}
	return out
}

func (f *fakeSAP) FindSalesOrders(_ context.Context, po, soldTo string) ([]sap.SalesOrder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.findErr != nil {
		return nil, f.findErr
	}
	var out []sap.SalesOrder
	for _, o := range f.visible() {
		if o.PurchaseOrderByCustomer == po && o.SoldToParty == soldTo {
			out = append(out, o)
		}
	}
	return out, nil
}

func (f *fakeSAP) FindSalesOrdersByField(_ context.Context, field, value string) ([]sap.SalesOrder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.findErr != nil {
		return nil, f.findErr
	}
	var out []sap.SalesOrder
	for _, o := range f.visible() {
		if o.Extensions[field] == value {
			out = append(out, o)
		}
	}
	return out, nil
}

// FindSalesOrdersWithTexts is SAP's query by PO, sold-to party and creation date with $expand=to_Text: one
// answer (one textWait), however many orders match; orders without a creation date are old ones.
func (f *fakeSAP) FindSalesOrdersWithTexts(ctx context.Context, po, soldTo string, since time.Time) ([]sap.SalesOrder, error) {
	f.mu.Lock()
	f.lookups++
	wait, err := f.textWait, f.findErr
	var out []sap.SalesOrder
	day := since.UTC().Truncate(24 * time.Hour)
	for _, o := range f.visible() {
		if o.PurchaseOrderByCustomer == po && o.SoldToParty == soldTo && !o.CreationDate.Before(day) {
			out = append(out, o)
		}
	}
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

func (f *fakeSAP) SalesOrderTexts(ctx context.Context, number string) ([]sap.SalesOrderText, error) {
	f.mu.Lock()
	f.texts++
	wait := f.textWait
	var out []sap.SalesOrderText
	for _, o := range f.visible() {
		if o.SalesOrder == number {
			out = o.Texts.Results
		}
	}
	f.mu.Unlock()
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// ours are the SAP orders carrying id's reference in the extension field.
func (f *fakeSAP) ours(id string) []sap.SalesOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sap.SalesOrder
	for _, o := range f.orders {
		if strings.EqualFold(o.Extensions["YY1_D365OrderID_SDH"], id) {
			out = append(out, o)
		}
	}
	return out
}

func (f *fakeSAP) reveal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hidden, f.hideNew = map[string]bool{}, false
}

func (f *fakeSAP) createCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.creates)
}

// fakeDataverse keeps the columns written to each order; before runs ahead of each Update.
type fakeDataverse struct {
	mu      sync.Mutex
	columns map[string]dataverse.Record
	updates int
	refused int
	before  func(ctx context.Context, id string, rec dataverse.Record) error
	latency time.Duration
}

func newFakeDataverse() *fakeDataverse { return &fakeDataverse{columns: map[string]dataverse.Record{}} }

func (d *fakeDataverse) Retrieve(context.Context, string, dataverse.Key, *dataverse.RetrieveOptions) (dataverse.Record, error) {
	return nil, errors.New("fakeDataverse: tests push inline orders")
}

func (d *fakeDataverse) Update(ctx context.Context, _ string, key dataverse.Key, rec dataverse.Record, _ *dataverse.UpdateOptions) (dataverse.Written, error) {
	id := keyID(key)
	if d.latency > 0 {
		select {
		case <-time.After(d.latency):
		case <-ctx.Done():
			return dataverse.Written{}, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return dataverse.Written{}, err
	}
	d.mu.Lock()
	before := d.before
	d.mu.Unlock()
	if before != nil {
		if err := before(ctx, id, rec); err != nil {
			d.mu.Lock()
			d.refused++
			d.mu.Unlock()
			return dataverse.Written{}, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.updates++
	cur := d.columns[id]
	if cur == nil {
		cur = dataverse.Record{}
		d.columns[id] = cur
	}
	for k, v := range rec {
		cur[k] = v
	}
	return dataverse.Written{ID: id}, nil
}

func (d *fakeDataverse) status(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, _ := d.columns[id]["submitstatusdescription"].(string)
	return s
}

func (d *fakeDataverse) setBefore(f func(ctx context.Context, id string, rec dataverse.Record) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.before = f
}

// keyID reads the GUID back out of a dataverse.Key (printed as "{<guid> []}").
func keyID(k dataverse.Key) string {
	f := strings.Fields(strings.Trim(fmt.Sprint(k), "{}"))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// fakeUnits converts nothing: every line is in the base unit, unless a product is listed in missing.
type fakeUnits struct{ missing map[string]bool }

func (u fakeUnits) ToBase(_ context.Context, product, unit, qty string) (uom.Result, error) {
	if u.missing[product] {
		return uom.Result{}, &uom.UnknownUnitError{Product: product, Unit: unit, Units: []string{"KG"}}
	}
	return uom.Result{Quantity: qty, Unit: unit}, nil
}

// fakeArchive keeps blobs as JSON; beforeGet runs ahead of each Get.
type fakeArchive struct {
	mu        sync.Mutex
	blobs     map[string][]byte
	beforeGet func()
}

func newFakeArchive() *fakeArchive { return &fakeArchive{blobs: map[string][]byte{}} }

func (a *fakeArchive) Put(_ context.Context, kind, key, what string, at time.Time, inv string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	name := audit.ArchiveName(kind, key, what, at, inv)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.blobs[name] = b
	return name, nil
}

func (a *fakeArchive) Get(_ context.Context, name string, v any) error {
	a.mu.Lock()
	hook := a.beforeGet
	a.beforeGet = nil
	b, ok := a.blobs[name]
	a.mu.Unlock()
	if hook != nil {
		hook()
	}
	if !ok {
		return fmt.Errorf("no blob %s", name)
	}
	return json.Unmarshal(b, v)
}

// fakeQueue records every message sent.
type fakeQueue struct {
	mu   sync.Mutex
	msgs []queued
	fail bool
}

type queued struct {
	m     QueueMessage
	delay time.Duration
}

func (q *fakeQueue) Enqueue(_ context.Context, _ string, body []byte, opts *store.EnqueueOptions) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail {
		return "", errors.New("queue service unavailable")
	}
	var m QueueMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "", err
	}
	d := time.Duration(0)
	if opts != nil {
		d = opts.VisibilityDelay
	}
	q.msgs = append(q.msgs, queued{m: m, delay: d})
	return fmt.Sprint(len(q.msgs)), nil
}

// take removes and returns every message queued so far (the host delivering them, visibility ignored).
func (q *fakeQueue) take() []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.msgs
	q.msgs = nil
	return out
}

func (q *fakeQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// hookTable is a ledger table that can run a function just before a write lands, or fail a write. Like the real
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
