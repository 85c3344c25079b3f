package statusupdates_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/invoices"
	"github.com/d365sap/d365sap/functions/statusupdates"
	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// world is the status path against both simulators and Azurite: SAP orders linked to D365 orders as the order
// push links them, the events SAP raises as its orders move on, and the service that applies them.
type world struct {
	sap   *sapsim.Server
	dv    *dvsim.Running
	acct  *store.Account
	queue string
	links *ledger.Ledger
	svc   *statusupdates.Service
	trail audit.Trail
	// inv makes invoices; a test that wants them sets w.svc.Invoices = w.inv.
	inv                 *invoices.Service
	customer, priceList string

	mu     sync.Mutex
	events []sapsim.Event
	ids    int
	// retries are the bodies the service sent again, with their delays, as they went onto the queue.
	retries []retry
}

type retry struct {
	body  []byte
	delay time.Duration
}

// recordingQueue enqueues for real and keeps what it enqueued, so a test can work a retry without waiting for
// its delay to pass.
type recordingQueue struct {
	next *store.Account
	w    *world
}

func (q recordingQueue) Enqueue(ctx context.Context, queue string, body []byte, o *store.EnqueueOptions) (string, error) {
	id, err := q.next.Enqueue(ctx, queue, body, o)
	if err == nil {
		q.w.mu.Lock()
		q.w.retries = append(q.w.retries, retry{body: body, delay: o.VisibilityDelay})
		q.w.mu.Unlock()
	}
	return id, err
}

// takeRetries returns the retries sent since the last call.
func (w *world) takeRetries() []retry {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.retries
	w.retries = nil
	return out
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{}
	w.sap = sapsim.New(sapsim.Options{Username: "U", Password: "P", Products: 5, Customers: 3, Events: func(e sapsim.Event) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.events = append(w.events, e)
	}})
	ts := httptest.NewServer(w.sap)
	t.Cleanup(ts.Close)
	sc, err := sap.New(sap.Options{BaseURL: ts.URL, AuthMode: sap.AuthBasic, Username: "U", Password: "P", Timeout: 10 * time.Second,
		MaxResponseBytes: 8 << 20, ReadRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := statusupdates.LoadMapping("")
	if err != nil {
		t.Fatal(err)
	}
	var cols []dvsim.Column
	for _, c := range m.Columns() {
		typ := map[string]dvsim.Type{statusupdates.KindText: dvsim.String, statusupdates.KindDate: dvsim.DateTimeOffset,
			statusupdates.KindDecimal: dvsim.Decimal}[m.ColumnKinds()[c]]
		cols = append(cols, dvsim.Column{Name: c, Type: typ, MaxLength: 100})
	}
	w.dv, err = dvsim.Start(dvsim.Options{Clients: map[string]string{"app": "secret"}, ExtraColumns: map[string][]dvsim.Column{"salesorder": cols,
		"invoice": invoiceColumns(m)}, ExtraKeys: invoiceKeys(m)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.dv.Close)
	if w.customer, err = w.dv.Insert("accounts", map[string]any{"name": "Customer", "accountnumber": sapsim.CustomerID(0)}); err != nil {
		t.Fatal(err)
	}
	if w.priceList, err = w.dv.Insert("pricelevels", map[string]any{"name": "EUR list"}); err != nil {
		t.Fatal(err)
	}
	dc, err := dataverse.New(dataverse.Options{URL: w.dv.URL, Tokens: &dataverse.ClientSecretSource{AuthorityHost: w.dv.URL, TenantID: "t",
		ClientID: "app", ClientSecret: "secret", Scope: dataverse.Scope(w.dv.URL)}, Timeout: 10 * time.Second,
		MaxConcurrency: 8, InitialConcurrency: 4, MaxRetries: 1, PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	w.acct = storetest.Account(t)
	table, queue := storetest.Name(t, "status"), storetest.Name(t, "events-")
	if err := w.acct.EnsureTable(t.Context(), table); err != nil {
		t.Fatal(err)
	}
	if err := w.acct.EnsureQueue(t.Context(), queue); err != nil {
		t.Fatal(err)
	}
	w.queue = queue
	state, _ := store.NewTable[json.RawMessage](w.acct, table)
	versions, _ := store.NewTable[statusupdates.Version](w.acct, table)
	w.links = &ledger.Ledger{Table: state, Kind: "salesorder"}
	w.trail = audit.Trail{Table: state}
	values, err := valuemap.Load("")
	if err != nil {
		t.Fatal(err)
	}
	w.inv = &invoices.Service{SAP: sc, Dataverse: dc, Links: w.links, Audit: w.trail, Units: values.Must(valuemap.Units), Mapping: m.Invoices,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w.svc = &statusupdates.Service{SAP: sc, Dataverse: dc, Links: w.links, Versions: versions, Audit: w.trail, Mapping: m,
		Queue: recordingQueue{next: w.acct, w: w}, QueueName: queue, Backoff: ledger.Backoff{Base: time.Second, Max: time.Minute}, ClaimLease: time.Minute,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return w
}

// order enters an SAP order of two items (10 and 20, ten pieces each), makes its D365 order, and links them as
// the order push does. It returns the SAP number and the D365 id.
func (w *world) order(t testing.TB) (string, string) {
	t.Helper()
	number, err := w.sap.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO-" + fmt.Sprint(rand.Int()), SoldToParty: sapsim.CustomerID(0),
		Items: []sapsim.ManualItem{{Material: sapsim.ProductID(0), Quantity: "10"}, {Material: sapsim.ProductID(1), Quantity: "10"}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.dv.Insert("salesorders", map[string]any{"name": "Order " + number, "customerid_account@odata.bind": "/accounts(" + w.customer + ")",
		"pricelevelid@odata.bind": "/pricelevels(" + w.priceList + ")", "transactioncurrencyid@odata.bind": "/transactioncurrencies(" + euro + ")"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.links.PutLink(t.Context(), number, id); err != nil {
		t.Fatal(err)
	}
	w.take() // the order's own creation raised nothing the test needs
	return number, id
}

// take returns the events raised since the last take.
func (w *world) take() []sapsim.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.events
	w.events = nil
	return out
}

// deliver hands events to the service as queue messages, each under a fresh id, and fails on an error.
func (w *world) deliver(t testing.TB, evs []sapsim.Event) {
	t.Helper()
	for _, e := range evs {
		if err := w.handle(t, e.CloudEvent(w.newID())); err != nil {
			t.Fatalf("%s: %v", e.Type, err)
		}
	}
}

func (w *world) newID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ids++
	return fmt.Sprintf("ev-%06d", w.ids)
}

func (w *world) handle(t testing.TB, body []byte) error {
	t.Helper()
	ctx := trigger.WithInvocation(t.Context(), trigger.Invocation{ID: "inv-" + w.newID(), Function: "statusupdates"})
	return w.svc.Handle(ctx, trigger.Message{ID: "m-" + w.newID(), Body: body, DequeueCount: 1})
}

// d365 reads the D365 order.
func (w *world) d365(t testing.TB, id string) map[string]any {
	t.Helper()
	rec, ok := w.dv.Get("salesorders", id)
	if !ok {
		t.Fatalf("D365 order %s is gone", id)
	}
	return rec
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func statusupdatesMapping() (statusupdates.Mapping, error) { return statusupdates.LoadMapping("") }

// euro is the D365 currency of the test orders (the simulator holds no currency table and takes any id).
const euro = "00000000-0000-0000-0000-0000000000e0"

// invoiceColumns and invoiceKeys are what an org adds to invoice for the mapping: its columns, and the
// alternate key on the billing number.
func invoiceColumns(m statusupdates.Mapping) []dvsim.Column {
	var out []dvsim.Column
	for c, k := range m.Invoices.ColumnKinds() {
		out = append(out, dvsim.Column{Name: c, MaxLength: 100, Type: map[string]dvsim.Type{"text": dvsim.String, "datetime": dvsim.DateTimeOffset}[k]})
	}
	return out
}

func invoiceKeys(m statusupdates.Mapping) map[string][][]string {
	return map[string][][]string{"invoice": {{m.Invoices.KeyColumn}}}
}
