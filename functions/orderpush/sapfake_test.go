package orderpush

// Fakes for driving Service directly, without the host stand-in: an SAP that stores what it creates and can be
// told how to answer, a Dataverse that keeps the columns written back, an archive, a queue that only records, a
// settable clock shared by the ledger and the service, and a table wrapper that lets a test run something
// "concurrently" at an exact moment (just before a given storage write lands) or make a write fail.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
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
