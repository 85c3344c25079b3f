package hostile

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/funchost"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/sapsim/simtest"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/store"
)

func TestMain(m *testing.M) { e2e.Main(m) }

// The limits the suite runs under: small, so bodies at and over them are cheap to send. maxBody is the handler's
// HTTP_MAX_BODY_BYTES; hostLimit the stand-in's FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, below the 256 KiB Go's server
// reads past an unread body, so a refused upload still ends on an intact connection.
const (
	maxBody   = 64 << 10
	hostLimit = 200_000
	// publicHost is WEBSITE_HOSTNAME: every status URL and Location must name it, whatever the request said.
	publicHost = "hostile-suite.example.net"
	// unknownCustomer is a sold-to party SAP does not have: an order for it reaches SAP and is refused there.
	unknownCustomer = "99999999"
)

const (
	dvClient = "11111111-2222-3333-4444-555555555555"
	dvSecret = "hostile-dv-secret"
)

// world is the app under the host stand-in with Azurite and both simulators, and the orders the cases lean on.
type world struct {
	app *e2e.App
	sap *sapsim.Server
	dv  *dvsim.Running
	st  *storage
	// The app's storage names (STATE_TABLE, ORDER_PUSH_QUEUE, STATUS_EVENTS_QUEUE, the two containers).
	table, queue, events, archive, dead string
	// inventory is INVENTORY_SYNC_QUEUE, the sync's continuations.
	inventory string

	customer, product string // an SAP sold-to party and material that exist
	// done was pushed and written back: pushing it again is a replay (200), its status 200.
	done, doneSAP string
	// rejected was refused by SAP: its status answers 422 with SAP's messages.
	rejected string
	// queued is accepted with no message on the queue: its status answers 202 with Location.
	queued string
	// fresh exists in Dynamics and was never pushed: a case that pushed it would create an SAP order.
	fresh string
	// dynamics are orders in Dynamics with hostile values, by name (see dynamicsEdits).
	dynamics map[string]string
	// etag is the OpenAPI document's, for the conditional requests.
	etag string
}

// newWorld starts one app for the whole suite (starting it is the slow part) and plants the fixtures.
func newWorld(t *testing.T) *world {
	t.Helper()
	s, sapURL := simtest.Start(t, sapsim.Options{Products: 50, Customers: 10})
	dv, err := dvsim.Start(dvsim.Options{Clients: map[string]string{dvClient: dvSecret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dv.Close)
	w := &world{sap: s, dv: dv, customer: sapsim.CustomerID(1), product: sapsim.ProductID(1)}
	w.table, w.queue, w.events = storetest.Name(t, "hostile"), storetest.Name(t, "push-"), storetest.Name(t, "events-")
	w.archive, w.dead = storetest.Name(t, "archive-"), storetest.Name(t, "dead-")
	w.inventory = storetest.Name(t, "inv-")
	settings := map[string]string{
		"SAP_BASE_URL": sapURL, "SAP_USERNAME": simtest.Username, "SAP_PASSWORD": simtest.Password, "SAP_CLIENT": "",
		"DATAVERSE_URL": dv.URL, "DATAVERSE_AUTHORITY_HOST": dv.URL, "DATAVERSE_CLIENT_ID": dvClient,
		"DATAVERSE_CLIENT_SECRET": dvSecret, "DATAVERSE_TENANT_ID": "00000000-0000-0000-0000-000000000001",
		"STATE_TABLE": w.table, "ORDER_PUSH_QUEUE": w.queue, "STATUS_EVENTS_QUEUE": w.events,
		"ARCHIVE_CONTAINER": w.archive, "DEADLETTER_CONTAINER": w.dead,
		"INVENTORY_SYNC_QUEUE": w.inventory, "LOCK_CONTAINER": storetest.Name(t, "locks-"),
		// A sync run writes products by design; its timer would write while cases take snapshots.
		"AzureWebJobs.inventorysync.Disabled": "true",
		"HTTP_MAX_BODY_BYTES":                 fmt.Sprint(maxBody), funchost.SettingRequestBodyLimit: fmt.Sprint(hostLimit),
		"WEBSITE_HOSTNAME": publicHost,
		// A lease longer than the suite: the safety-net message of a push a case lets reach SAP stays invisible
		// until the suite has ended, so queue counts stay exact and nothing runs behind the cases' backs.
		"LEDGER_LEASE": "10m",
		// The sweeper only re-queues stuck pushes; its timer would read and write while cases take snapshots.
		"AzureWebJobs.orderpushsweep.Disabled": "true",
		// The events cases put well-formed events on STATUS_EVENTS_QUEUE; their consumer would read SAP and write
		// audit rows behind the cases' backs. Its own cases run through the host's admin call.
		"AzureWebJobs.statusupdates.Disabled": "true",
		// The status poll is off unless STATUS_POLL_ENABLED, but its timer still starts an invocation every five
		// minutes, and one landing inside a case the host should answer alone fails that case.
		"AzureWebJobs.statuspoll.Disabled": "true",
		// One retry, not six: a case with Dataverse down answers its 503 in a second (retries have their own tests).
		"DATAVERSE_MAX_RETRIES": "1",
	}
	// Queue failures come back at once and polls are frequent, so hostile messages settle in seconds.
	host := `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableForwardingHttpRequest":false},
	  "functionTimeout":"00:05:00","extensions":{"http":{"routePrefix":"api"},
	  "queues":{"maxDequeueCount":3,"visibilityTimeout":"00:00:00","maxPollingInterval":"00:00:00.200","batchSize":16,"messageEncoding":"base64"}}}`
	requireTimersDisabled(t, settings)
	w.app = e2e.Start(t, &e2e.Options{Settings: settings, HostJSON: host})
	w.st = newStorage(t, w)
	w.plant(t)
	return w
}

// plant makes the fixtures: a pushed order, a rejected one, a queued entry and an order never pushed.
func (w *world) plant(t *testing.T) {
	t.Helper()
	// The unit group and price list the inventory sync's shipped mapping names, so the drift report can answer.
	group, err := w.dv.Insert("uomschedules", map[string]any{"name": "Default Unit"})
	if err != nil {
		t.Fatal(err)
	}
	uom, err := w.dv.Insert("uoms", map[string]any{"name": "Each", "quantity": json.Number("1"),
		"uomscheduleid@odata.bind": "/uomschedules(" + group + ")"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.dv.Insert("pricelevels", map[string]any{"name": "Default"}); err != nil {
		t.Fatal(err)
	}
	w.done = w.dvOrder(t, uom, w.customer)
	w.rejected = w.dvOrder(t, uom, unknownCustomer)
	w.fresh = w.dvOrder(t, uom, w.customer)
	w.plantDynamics(t, uom)
	if w.etag = w.app.Get(t, "/api/openapi.json").Header.Get("ETag"); w.etag == "" {
		t.Fatal("the OpenAPI document has no ETag")
	}
	a := w.fixturePush(t, w.done)
	if a.Status != http.StatusCreated {
		t.Fatalf("pushing the done fixture: %d %s", a.Status, a.Body)
	}
	var ans orderpush.Answer
	if err := json.Unmarshal(a.Body, &ans); err != nil || ans.State != orderpush.StateWrittenBack {
		t.Fatalf("the done fixture: %v %s", err, a.Body)
	}
	w.doneSAP = ans.SAPSalesOrder
	if a := w.fixturePush(t, w.rejected); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("pushing the rejected fixture: %d %s", a.Status, a.Body)
	}
	w.queued = uuid.NewString()
	acc, err := store.NewAccountFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := store.NewTable[json.RawMessage](acc, w.table)
	if err != nil {
		t.Fatal(err)
	}
	l := &ledger.Ledger{Table: tbl, Kind: orderpush.Kind}
	if _, _, err := l.Claim(t.Context(), ledger.ClaimRequest{Key: w.queued, Ref: w.queued, Payload: "{}", Intent: ledger.Queue}); err != nil {
		t.Fatalf("planting the queued fixture: %v", err)
	}
}

func (w *world) fixturePush(t *testing.T, id string) e2e.Response {
	t.Helper()
	return w.app.Do(t, http.MethodPost, "/api/orders", w.app.FunctionKey, []byte(`{"salesorderid":"`+id+`"}`),
		http.Header{"Content-Type": {"application/json"}})
}

// dvOrder creates a one-line order in the Dataverse simulator for an SAP customer.
func (w *world) dvOrder(t *testing.T, uom, customer string) string {
	t.Helper()
	id, err := w.dv.Insert("salesorders", map[string]any{"name": "hostile fixture", "ordernumber": "ORD-HOSTILE-" + strings.ToUpper(uuid.NewString()[:8]),
		"customerid_account@odata.bind": "/accounts(" + w.dvAccount(t, customer) + ")", "order_details": []any{map[string]any{
			"productid@odata.bind": "/products(" + w.dvProduct(t, w.product, uom) + ")", "uomid@odata.bind": "/uoms(" + uom + ")",
			"quantity": json.Number("1"), "lineitemnumber": json.Number("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// statusURL is the one status URL of an order: on the configured public host, never the request's.
func statusURL(id string) string { return "https://" + publicHost + "/api/orders/" + id }

// requireTimersDisabled stops the suite when a timer function of the app is not disabled in its settings: a tick
// during a case shows as a function the host started behind the case's back, and fails it only when the clock
// says so.
func requireTimersDisabled(t *testing.T, settings map[string]string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "..", "functions", "*", "function.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("finding the functions' function.json: %v (%d found)", err, len(paths))
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var fj struct {
			Bindings []struct {
				Type string `json:"type"`
			} `json:"bindings"`
		}
		if err := json.Unmarshal(raw, &fj); err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		for _, b := range fj.Bindings {
			name := filepath.Base(filepath.Dir(p))
			if b.Type == "timerTrigger" && settings["AzureWebJobs."+name+".Disabled"] != "true" {
				t.Fatalf("%s is a timer function the suite's settings leave enabled: set AzureWebJobs.%s.Disabled", name, name)
			}
		}
	}
}
