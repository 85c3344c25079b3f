package orderpush_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/sapsim/simtest"
	"github.com/d365sap/d365sap/infra/local/storetest"
)

func TestMain(m *testing.M) { e2e.Main(m) }

// world is the app under the host stand-in, with Azurite and both simulators.
type world struct {
	sap      *sapsim.Server
	dv       *dvsim.Running
	app      *e2e.App
	sapURL   string
	uom      string
	table    string // STATE_TABLE
	queue    string // ORDER_PUSH_QUEUE
	archive  string // ARCHIVE_CONTAINER
	accounts map[string]string
	mu       sync.Mutex
	n        int
}

const (
	dvClient = "11111111-2222-3333-4444-555555555555"
	dvSecret = "e2e-dv-secret"
)

// worldOpts adjust a world: simulator options, app settings, host.json.
type worldOpts struct {
	sap      sapsim.Options
	settings map[string]string
	hostJSON string
}

type worldOpt func(*worldOpts)

func withSettings(kv map[string]string) worldOpt {
	return func(o *worldOpts) {
		for k, v := range kv {
			o.settings[k] = v
		}
	}
}

func withSAP(f func(*sapsim.Options)) worldOpt { return func(o *worldOpts) { f(&o.sap) } }

func withHostJSON(s string) worldOpt { return func(o *worldOpts) { o.hostJSON = s } }

// scaled are the ledger's times shrunk so that commit windows, holds and leases pass in seconds: a 2 s SAP
// timeout, a 3 s commit window, a 6 s lease.
var scaled = map[string]string{
	"SAP_TIMEOUT": "2s", "SAP_READ_RETRIES": "1", "ORDER_PUSH_SYNC_TIMEOUT": "4s", "LEDGER_LEASE": "6s",
	"SAP_COMMIT_WINDOW": "3s", "CLOCK_SKEW_TOLERANCE": "200ms", "QUEUE_RETRY_BASE": "200ms", "QUEUE_RETRY_MAX": "1s",
	"ORDER_PUSH_SWEEP_GRACE": "8s", "ORDER_PUSH_SWEEP_SCHEDULE": "*/2 * * * * *",
}

func newWorld(t *testing.T, opts ...worldOpt) *world {
	t.Helper()
	o := worldOpts{sap: sapsim.Options{Products: 100, Customers: 30}, settings: map[string]string{}}
	for k, v := range scaled {
		o.settings[k] = v
	}
	for _, f := range opts {
		f(&o)
	}
	s, sapURL := simtest.Start(t, o.sap)
	dv, err := dvsim.Start(dvsim.Options{Clients: map[string]string{dvClient: dvSecret},
		ExtraColumns: map[string][]dvsim.Column{"salesorder": {{Name: poColumn, Type: dvsim.String, MaxLength: 100}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dv.Close)
	w := &world{sap: s, sapURL: sapURL, dv: dv, accounts: map[string]string{}}
	w.uom, err = dv.Insert("uoms", map[string]any{"name": "Each", "quantity": json.Number("1")})
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{
		"SAP_BASE_URL": sapURL, "SAP_USERNAME": simtest.Username, "SAP_PASSWORD": simtest.Password, "SAP_CLIENT": "",
		"DATAVERSE_URL": dv.URL, "DATAVERSE_AUTHORITY_HOST": dv.URL, "DATAVERSE_CLIENT_ID": dvClient, "DATAVERSE_CLIENT_SECRET": dvSecret,
		"DATAVERSE_TENANT_ID": "00000000-0000-0000-0000-000000000001",
	}
	settings["ORDER_MAPPING_FILE"] = mappingFile(t)
	// Storage of its own: a later world must never receive this one's delayed queue messages.
	w.table, w.queue = storetest.Name(t, "state"), storetest.Name(t, "push-")
	settings["STATE_TABLE"], settings["ORDER_PUSH_QUEUE"] = w.table, w.queue
	settings["STATUS_EVENTS_QUEUE"] = storetest.Name(t, "events-")
	w.archive = storetest.Name(t, "archive-")
	settings["ARCHIVE_CONTAINER"], settings["DEADLETTER_CONTAINER"] = w.archive, storetest.Name(t, "dead-")
	for k, v := range o.settings {
		settings[k] = v
	}
	w.app = e2e.Start(t, &e2e.Options{Settings: settings, HostJSON: o.hostJSON})
	return w
}

type line struct {
	product string
	qty     string
}

// poColumn is the org's custom column holding the customer's PO number, named in the test mapping.
const poColumn = "new_customerpo"

// mappingFile is the shipped mapping reading the customer's PO from poColumn.
func mappingFile(t *testing.T) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(shippedMapping(t), &m); err != nil {
		t.Fatal(err)
	}
	m["read"] = map[string]string{"purchaseOrderColumn": poColumn}
	b, _ := json.Marshal(m)
	p := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func shippedMapping(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("mapping.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// order creates a sales order in the Dataverse simulator for the SAP customer, with lines in unit "Each".
func (w *world) order(t *testing.T, customer string, lines ...line) string {
	t.Helper()
	return w.orderWithPO(t, customer, "", lines...)
}

// orderWithPO is order with the customer's PO number in poColumn.
func (w *world) orderWithPO(t *testing.T, customer, po string, lines ...line) string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	acc, ok := w.accounts[customer]
	if !ok {
		var err error
		acc, err = w.dv.Insert("accounts", map[string]any{"name": "Customer " + customer, "accountnumber": customer})
		if err != nil {
			t.Fatal(err)
		}
		w.accounts[customer] = acc
	}
	w.n++
	var details []any
	for i, l := range lines {
		var pid string
		if rows := w.dv.Find("products", "productnumber", l.product); len(rows) > 0 {
			pid = fmt.Sprint(rows[0]["productid"])
		} else {
			var err error
			pid, err = w.dv.Insert("products", map[string]any{"name": l.product, "productnumber": l.product,
				"defaultuomid@odata.bind": "/uoms(" + w.uom + ")"})
			if err != nil {
				t.Fatal(err)
			}
		}
		details = append(details, map[string]any{"productid@odata.bind": "/products(" + pid + ")", "uomid@odata.bind": "/uoms(" + w.uom + ")",
			"quantity": json.Number(l.qty), "lineitemnumber": json.Number(fmt.Sprint(i + 1))})
	}
	rec := map[string]any{"name": fmt.Sprintf("E2E order %d", w.n), "ordernumber": fmt.Sprintf("ORD-E2E-%05d-%d", w.n, time.Now().UnixNano()%100000),
		"customerid_account@odata.bind": "/accounts(" + acc + ")", "requestdeliveryby": "2026-12-15", "paymenttermscode": json.Number("1")}
	if len(details) > 0 {
		rec["order_details"] = details
	}
	if po != "" {
		rec[poColumn] = po
	}
	id, err := w.dv.Insert("salesorders", rec)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// orderNumbered creates an order whose lines carry the given line item numbers, in that (stored) order.
func (w *world) orderNumbered(t *testing.T, customer string, numbers []int, products []string) string {
	t.Helper()
	acc := w.account(t, customer)
	var details []any
	for i, n := range numbers {
		details = append(details, map[string]any{"productid@odata.bind": "/products(" + w.product(t, products[i]) + ")",
			"uomid@odata.bind": "/uoms(" + w.uom + ")", "quantity": json.Number("1"), "lineitemnumber": json.Number(fmt.Sprint(n))})
	}
	id, err := w.dv.Insert("salesorders", map[string]any{"name": "numbered", "ordernumber": fmt.Sprintf("ORD-NUM-%d", time.Now().UnixNano()),
		"customerid_account@odata.bind": "/accounts(" + acc + ")", "order_details": details})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// orderInUnit creates a one-line order in the given Dataverse unit.
func (w *world) orderInUnit(t *testing.T, customer, product, qty, uom string) string {
	t.Helper()
	acc := w.account(t, customer)
	id, err := w.dv.Insert("salesorders", map[string]any{"name": "in unit", "ordernumber": fmt.Sprintf("ORD-UNIT-%d", time.Now().UnixNano()),
		"customerid_account@odata.bind": "/accounts(" + acc + ")", "order_details": []any{map[string]any{
			"productid@odata.bind": "/products(" + w.product(t, product) + ")", "uomid@odata.bind": "/uoms(" + uom + ")",
			"quantity": json.Number(qty), "lineitemnumber": json.Number("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *world) account(t *testing.T, customer string) string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if acc, ok := w.accounts[customer]; ok {
		return acc
	}
	acc, err := w.dv.Insert("accounts", map[string]any{"name": "Customer " + customer, "accountnumber": customer})
	if err != nil {
		t.Fatal(err)
	}
	w.accounts[customer] = acc
	return acc
}

func (w *world) product(t *testing.T, number string) string {
	t.Helper()
	if rows := w.dv.Find("products", "productnumber", number); len(rows) > 0 {
		return fmt.Sprint(rows[0]["productid"])
	}
	id, err := w.dv.Insert("products", map[string]any{"name": number, "productnumber": number, "defaultuomid@odata.bind": "/uoms(" + w.uom + ")"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type answer struct {
	Status        int
	SalesOrderID  string `json:"salesorderid"`
	SAPSalesOrder string `json:"sapSalesOrder"`
	State         string `json:"state"`
	StatusURL     string `json:"statusUrl"`
	Detail        string `json:"detail"`
	Errors        []struct{ Field, Reason string }
	SAPMessages   []struct{ Code, Message string } `json:"sapMessages"`
	Header        http.Header
	Raw           string
}

func (w *world) push(t testing.TB, body string, header http.Header) answer {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/json")
	r := w.app.Do(t, http.MethodPost, "/api/orders", w.app.FunctionKey, []byte(body), header)
	a := answer{Status: r.Status, Header: r.Header, Raw: string(r.Body)}
	_ = json.Unmarshal(r.Body, &a)
	return a
}

func (w *world) status(t testing.TB, id string) answer {
	t.Helper()
	r := w.app.Do(t, http.MethodGet, "/api/orders/"+id, w.app.FunctionKey, nil, nil)
	a := answer{Status: r.Status, Header: r.Header, Raw: string(r.Body)}
	_ = json.Unmarshal(r.Body, &a)
	return a
}

func (w *world) sapOrders() int { return w.sap.Stats().SalesOrders }
