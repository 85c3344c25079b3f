package statusupdates_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/statusupdates"
	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/sapsim/simtest"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/store"
)

func TestMain(m *testing.M) { e2e.Main(m) }

const (
	dvClient = "5a7c2e10-3b4d-4e5f-8a9b-0c1d2e3f4a5b"
	dvSecret = "secret"
)

// app is the whole handler under the host stand-in with both simulators: SAP's events go to POST /api/events,
// the host's queue trigger runs statusupdates, and D365 is the Dataverse simulator.
type app struct {
	*e2e.App
	sap   *sapsim.Server
	dv    *dvsim.Running
	links *ledger.Ledger
	pub   *sapsim.Publisher
	// customer and priceList are the D365 account and price list of the test orders.
	customer, priceList string
}

func startApp(t *testing.T, faults sapsim.PublisherFaults, workerSettings map[string]string) *app {
	t.Helper()
	a := &app{}
	var raise func(sapsim.Event)
	s, sapURL := simtest.Start(t, sapsim.Options{Products: 5, Customers: 3, Events: func(e sapsim.Event) {
		if raise != nil {
			raise(e)
		}
	}})
	a.sap = s
	m, err := loadShippedMapping()
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := statusupdatesMapping()
	if err != nil {
		t.Fatal(err)
	}
	a.dv, err = dvsim.Start(dvsim.Options{Clients: map[string]string{dvClient: dvSecret}, ExtraColumns: map[string][]dvsim.Column{"salesorder": m,
		"invoice": invoiceColumns(shipped)}, ExtraKeys: invoiceKeys(shipped)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.dv.Close)
	if a.customer, err = a.dv.Insert("accounts", map[string]any{"name": "Customer", "accountnumber": sapsim.CustomerID(0)}); err != nil {
		t.Fatal(err)
	}
	if a.priceList, err = a.dv.Insert("pricelevels", map[string]any{"name": "EUR list"}); err != nil {
		t.Fatal(err)
	}
	table := storetest.Name(t, "state")
	settings := map[string]string{
		"SAP_BASE_URL": sapURL, "SAP_USERNAME": simtest.Username, "SAP_PASSWORD": simtest.Password, "SAP_CLIENT": "",
		"DATAVERSE_URL": a.dv.URL, "DATAVERSE_AUTHORITY_HOST": a.dv.URL, "DATAVERSE_CLIENT_ID": dvClient, "DATAVERSE_CLIENT_SECRET": dvSecret,
		"DATAVERSE_TENANT_ID": "00000000-0000-0000-0000-000000000001",
		"STATE_TABLE":         table, "STATUS_EVENTS_QUEUE": storetest.Name(t, "events-"), "ORDER_PUSH_QUEUE": storetest.Name(t, "push-"),
		"DEADLETTER_CONTAINER": storetest.Name(t, "dead-"), "QUEUE_RETRY_BASE": "200ms", "QUEUE_RETRY_MAX": "1s",
		"AzureWebJobs.inventorysync.Disabled": "true", "AzureWebJobs.orderpushsweep.Disabled": "true",
	}
	host := `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableForwardingHttpRequest":false},
	  "functionTimeout":"00:05:00","extensions":{"http":{"routePrefix":"api"},
	  "queues":{"maxDequeueCount":5,"visibilityTimeout":"00:00:00","maxPollingInterval":"00:00:00.100","batchSize":16,"messageEncoding":"base64"}}}`
	a.App = e2e.Start(t, &e2e.Options{Settings: settings, HostJSON: host, WorkerSettings: workerSettings})
	acct := storetest.Account(t)
	if err := acct.EnsureTable(t.Context(), table); err != nil {
		t.Fatal(err)
	}
	state, _ := store.NewTable[json.RawMessage](acct, table)
	a.links = &ledger.Ledger{Table: state, Kind: "salesorder"}
	a.pub = sapsim.NewPublisher(func(body []byte) error {
		r := a.Do(t, http.MethodPost, "/api/events", a.FunctionKey, body, http.Header{"Content-Type": {"application/cloudevents+json"}})
		if r.Status != http.StatusAccepted {
			return &deliveryError{r.Status}
		}
		return nil
	}, faults, 11)
	t.Cleanup(a.pub.Close)
	// Looked up at each event, so a test can put a publisher of its own in a.pub before SAP raises anything.
	raise = func(e sapsim.Event) { a.pub.Raise(e) }
	return a
}

type deliveryError struct{ status int }

func (e *deliveryError) Error() string { return "the endpoint answered " + http.StatusText(e.status) }

// loadShippedMapping gives the shipped mapping's columns as the simulator's custom columns.
func loadShippedMapping() ([]dvsim.Column, error) {
	m, err := statusupdatesMapping()
	if err != nil {
		return nil, err
	}
	var cols []dvsim.Column
	for _, c := range m.Columns() {
		typ := map[string]dvsim.Type{statusupdates.KindText: dvsim.String, statusupdates.KindDate: dvsim.DateTimeOffset,
			statusupdates.KindDecimal: dvsim.Decimal}[m.ColumnKinds()[c]]
		cols = append(cols, dvsim.Column{Name: c, Type: typ, MaxLength: 100})
	}
	return cols, nil
}

func (a *app) order(t *testing.T) (string, string) {
	t.Helper()
	number, err := a.sap.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: "PO-E2E", SoldToParty: sapsim.CustomerID(0),
		Items: []sapsim.ManualItem{{Material: sapsim.ProductID(0), Quantity: "3"}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.dv.Insert("salesorders", map[string]any{"name": "Order " + number, "customerid_account@odata.bind": "/accounts(" + a.customer + ")",
		"pricelevelid@odata.bind": "/pricelevels(" + a.priceList + ")", "transactioncurrencyid@odata.bind": "/transactioncurrencies(" + euro + ")"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.links.PutLink(t.Context(), number, id); err != nil {
		t.Fatal(err)
	}
	return number, id
}

// eventually waits for cond, failing with what the last look saw.
func eventually(t *testing.T, wait time.Duration, cond func() (bool, string)) {
	t.Helper()
	end := time.Now().Add(wait)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("gave up after %s: %s", wait, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Through the host: the Event Mesh handshake, an order's life pushed as structured events with duplicates and
// reordering, arriving in D365 with its statuses and the order closed once; an event in binary mode and a batch;
// an unknown type answered 202 and counted; a malformed envelope 400.
func TestEventsThroughTheHostCloseTheOrderOnce(t *testing.T) {
	a := startApp(t, sapsim.PublisherFaults{Duplicate: 0.3, NewID: 0.3, Reorder: 0.3}, nil)
	r := a.Do(t, http.MethodOptions, "/api/events", a.FunctionKey, nil, http.Header{"WebHook-Request-Origin": {"eventmesh.example.com"}})
	if r.Status != http.StatusOK || r.Header.Get("WebHook-Allowed-Origin") != "eventmesh.example.com" {
		t.Fatalf("handshake: %d %v %s", r.Status, r.Header, r.Body)
	}
	if r := a.Do(t, http.MethodOptions, "/api/events", "", nil, http.Header{"WebHook-Request-Origin": {"eventmesh.example.com"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("handshake without the key: %d", r.Status)
	}
	number, id := a.order(t)
	start := a.dv.Writes("salesorders")
	delivery, err := a.sap.Deliver(number, map[string]string{"10": "1"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		o, _ := a.dv.Get("salesorders", id)
		return str(o["d365sap_sapdeliveries"]) == delivery && str(o["d365sap_sapdeliverystatus"]) == "B", str(o)
	})
	if err := a.sap.PostGoodsIssue(delivery); err != nil {
		t.Fatal(err)
	}
	if _, err := a.sap.Deliver(number, nil); err != nil {
		t.Fatal(err)
	}
	bill, err := a.sap.Bill(number)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, func() (bool, string) {
		o, _ := a.dv.Get("salesorders", id)
		return str(o["statecode"]) == "3" && a.pub.Pending() == 0, str(o) + " pending " + str(a.pub.Pending())
	})
	// The billing document became one D365 invoice through the app's wiring, whatever the duplicates.
	eventually(t, 30*time.Second, func() (bool, string) {
		rows := a.dv.Find("invoices", "d365sap_sapbillingdocument", bill)
		return len(rows) == 1 && a.dv.Count("invoices") == 1, fmt.Sprintf("%d invoices of %s, %d in all", len(rows), bill, a.dv.Count("invoices"))
	})
	time.Sleep(2 * time.Second) // the last copies work through the queue
	if got := a.dv.Writes("salesorders").Sub(start); got.StateChanges != 1 {
		t.Fatalf("the order changed state %d times: %+v (publisher %+v)", got.StateChanges, got, a.pub.Stats())
	}
	if st := a.pub.Stats(); st.Duplicated == 0 || st.NewIDs == 0 || st.Reordered == 0 {
		t.Fatalf("the faults did not happen: %+v", st)
	}

	// Binary mode and a batch, of an order of its own.
	other, otherID := a.order(t)
	if _, err := a.sap.Deliver(other, nil); err != nil {
		t.Fatal(err)
	}
	binary := http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"bin-1"},
		"Ce-Source": {sapsim.EventSource}, "Ce-Type": {"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1"}}
	if r := a.Do(t, http.MethodPost, "/api/events", a.FunctionKey, []byte(`{"SalesOrder":"`+other+`"}`), binary); r.Status != http.StatusAccepted {
		t.Fatalf("binary mode: %d %s", r.Status, r.Body)
	}
	batch := `[{"specversion":"1.0","id":"b-1","source":"/s","type":"sap.s4.beh.salesorder.v1.SalesOrder.OvrlDelivStsChgd.v1","data":{"SalesOrder":"` + other + `"}},` +
		`{"specversion":"1.0","id":"b-2","source":"/s","type":"sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1","data":{"BusinessPartner":"1"}}]`
	r = a.Do(t, http.MethodPost, "/api/events", a.FunctionKey, []byte(batch), http.Header{"Content-Type": {"application/cloudevents-batch+json"}})
	if r.Status != http.StatusAccepted || !strings.Contains(string(r.Body), `"enqueued":1`) || !strings.Contains(string(r.Body), `BusinessPartner.Changed.v1":1`) {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		o, _ := a.dv.Get("salesorders", otherID)
		return str(o["d365sap_sapdeliverystatus"]) == "C", str(o)
	})
	if r := a.Do(t, http.MethodPost, "/api/events", a.FunctionKey, []byte(`{"specversion":"1.0","id":"x"}`),
		http.Header{"Content-Type": {"application/cloudevents+json"}}); r.Status != http.StatusBadRequest {
		t.Fatalf("a malformed envelope: %d %s", r.Status, r.Body)
	}
}

// A failed enqueue answers non-2xx, so Event Mesh delivers again: here the handler's storage is unreachable
// while the host's is fine.
func TestAFailedEnqueueIsNot2xx(t *testing.T) {
	a := startApp(t, sapsim.PublisherFaults{}, map[string]string{
		"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;",
	})
	body := `{"specversion":"1.0","id":"f-1","source":"/s","type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","data":{"SalesOrder":"1"}}`
	r := a.Do(t, http.MethodPost, "/api/events", a.FunctionKey, []byte(body), http.Header{"Content-Type": {"application/cloudevents+json"}})
	if r.Status < 500 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a failed enqueue answered %d (Retry-After %q): %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
}
