package canary_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/statusupdates"
	"github.com/d365sap/d365sap/infra/local/canary"
	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/funchost"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/storetest"
)

func TestMain(m *testing.M) { e2e.Main(m) }

// spec is one world: how the app signs in to SAP, and what the simulators take as the credential (its canary,
// or another value, so that the app's canary is refused with a 401).
type spec struct {
	name       string
	sapAuth    string // SAP_AUTH_MODE: basic or oauth2
	sapRefuses bool   // SAP expects another password or client secret
	dvRefuses  bool   // Dataverse's token endpoint expects another client secret
	// storageRefuses gives the handler (not the host) an account key made of AzureWebJobsStorage's canary,
	// which Azurite refuses: every storage call of the app fails, and the key is searched for too.
	storageRefuses bool
}

const (
	sapUser     = "CANARY_USER"
	sapClientID = "canary-client"
	dvClient    = "11111111-2222-3333-4444-555555555555"
	notCanary   = "the-credential-the-systems-expect"
)

// scaled are the ledger's times shrunk as in the order push's own end-to-end tests, so holds, leases and
// retries pass in seconds. The sweeper's schedule never comes round: the test runs it with the admin call.
var scaled = map[string]string{
	"SAP_TIMEOUT": "2s", "SAP_READ_RETRIES": "1", "ORDER_PUSH_SYNC_TIMEOUT": "4s", "LEDGER_LEASE": "6s",
	"SAP_COMMIT_WINDOW": "3s", "CLOCK_SKEW_TOLERANCE": "200ms", "QUEUE_RETRY_BASE": "200ms", "QUEUE_RETRY_MAX": "1s",
	"ORDER_PUSH_SWEEP_GRACE": "8s", "ORDER_PUSH_SWEEP_SCHEDULE": "0 0 0 1 1 *", "DATAVERSE_MAX_RETRIES": "1",
}

// world is the real app under the host stand-in, with Azurite and both simulators, every secret setting set to
// a canary of its own, and every storage name starting with its own prefix so the scan reads exactly what it
// wrote.
type world struct {
	spec
	canaries map[string]string // secret setting → its canary
	sap      *sapsim.Server
	sapURL   string
	dv       *dvsim.Server
	dvURL    string
	app      *e2e.App
	prefix   string
	uom      string
	scan     *canary.Scan
	peek     *peeker
	gate     *queueGate // between the host and the queues

	// sapRefuser and dvRefuser make SAP refuse creates, and Dataverse updates, with a 401 while on.
	sapRefuser, dvRefuser *refuser
	// sapIn and dvIn search every request SAP and Dataverse receive for the secrets that are not theirs.
	sapIn, dvIn *inbound
	// workerStorage is the handler's connection string when it differs from the host's (storageRefuses).
	workerStorage string
	// watch notes every table, container and queue the handler writes to.
	watch *storageWatch

	mu       sync.Mutex
	calls    []call
	accounts map[string]string
	states   map[string]bool // every state a status read answered
}

// call is one request the test made and the answer it got, all of which the scan searches.
type call struct {
	method, path string
	resp         e2e.Response
}

func newWorld(t *testing.T, sp spec) *world {
	t.Helper()
	w := &world{spec: sp, canaries: map[string]string{}, accounts: map[string]string{}, states: map[string]bool{},
		prefix: storetest.Name(t, "cn")}
	// A canary of its own for each secret setting, so a finding names the setting that leaked.
	for _, name := range canary.SecretSettings() {
		w.canaries[name] = canary.New()
	}
	t.Logf("canaries: %v", w.canaries)
	sapPassword, sapSecret, dvSecret := w.secret(t, "SAP_PASSWORD"), w.secret(t, "SAP_OAUTH_CLIENT_SECRET"), w.secret(t, "DATAVERSE_CLIENT_SECRET")
	if sp.sapRefuses {
		sapPassword, sapSecret = notCanary, notCanary
	}
	if sp.dvRefuses {
		dvSecret = notCanary
	}
	w.sap, w.sapRefuser, w.sapIn, w.sapURL = startSAP(t, sapsim.Options{Products: 40, Customers: 20, Username: sapUser,
		Password: sapPassword, OAuthClientID: sapClientID, OAuthClientSecret: sapSecret})
	// The columns the status updates' shipped mapping writes, as an org adds them to salesorder.
	statusMapping, err := statusupdates.LoadMapping("")
	if err != nil {
		t.Fatal(err)
	}
	var statusColumns []dvsim.Column
	for c, k := range statusMapping.ColumnKinds() {
		statusColumns = append(statusColumns, dvsim.Column{Name: c, MaxLength: 100, Type: map[string]dvsim.Type{statusupdates.KindText: dvsim.String,
			statusupdates.KindDate: dvsim.DateTimeOffset, statusupdates.KindDecimal: dvsim.Decimal}[k]})
	}
	// And what it adds to invoice: the invoices' columns, with the alternate key on the billing number.
	var invoiceColumns []dvsim.Column
	for c, k := range statusMapping.Invoices.ColumnKinds() {
		invoiceColumns = append(invoiceColumns, dvsim.Column{Name: c, MaxLength: 100, Type: map[string]dvsim.Type{"text": dvsim.String, "datetime": dvsim.DateTimeOffset}[k]})
	}
	w.dv, w.dvRefuser, w.dvIn, w.dvURL = startDataverse(t, dvsim.Options{Clients: map[string]string{dvClient: dvSecret},
		ExtraColumns: map[string][]dvsim.Column{"salesorder": statusColumns, "invoice": invoiceColumns},
		ExtraKeys:    map[string][][]string{"invoice": {{statusMapping.Invoices.KeyColumn}}}})
	// The unit group the inventory sync gives new products (its shipped mapping's), with the units the value map
	// reads SAP's base units as.
	group, err := w.dv.Insert("uomschedules", map[string]any{"name": "Default Unit"})
	if err != nil {
		t.Fatal(err)
	}
	if w.uom, err = w.dv.Insert("uoms", map[string]any{"name": "Each", "quantity": json.Number("1"),
		"uomscheduleid@odata.bind": "/uomschedules(" + group + ")"}); err != nil {
		t.Fatal(err)
	}
	// The price list of the inventory sync's shipped mapping.
	if _, err := w.dv.Insert("pricelevels", map[string]any{"name": "Default"}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"Piece", "Kilogram"} {
		if _, err := w.dv.Insert("uoms", map[string]any{"name": u, "quantity": json.Number("1"),
			"uomscheduleid@odata.bind": "/uomschedules(" + group + ")"}); err != nil {
			t.Fatal(err)
		}
	}
	settings := map[string]string{
		"LOG_LEVEL":    "debug", // the most the app ever logs
		"SAP_BASE_URL": w.sapURL, "SAP_CLIENT": "", "SAP_AUTH_MODE": sp.sapAuth, "SAP_USERNAME": sapUser,
		"SAP_OAUTH_TOKEN_URL": w.sapURL + "/oauth/token", "SAP_OAUTH_CLIENT_ID": sapClientID,
		"DATAVERSE_URL": w.dvURL, "DATAVERSE_AUTHORITY_HOST": w.dvURL, "DATAVERSE_CLIENT_ID": dvClient,
		"DATAVERSE_TENANT_ID": "00000000-0000-0000-0000-000000000001",
		"STATE_TABLE":         w.prefix + "state", "ORDER_PUSH_QUEUE": w.prefix + "-push",
		"STATUS_EVENTS_QUEUE": w.prefix + "-events", "ARCHIVE_CONTAINER": w.prefix + "-archive",
		"DEADLETTER_CONTAINER": w.prefix + "-dead", "INVENTORY_SYNC_QUEUE": w.prefix + "-inv",
		"LOCK_CONTAINER": w.prefix + "-locks", "STATUS_POLL_ENABLED": "true",
	}
	for k, v := range scaled {
		settings[k] = v
	}
	for name, c := range w.canaries {
		// Azurite's account key is fixed: the storage secret is searched for as that key instead (and, where
		// storage refuses, the handler's key is made of its canary).
		if name != funchost.SettingStorage {
			settings[name] = c
		}
	}
	// The function key is no setting of the app's, but the host hands it over in the URL of every request that
	// sends it as ?code=: it gets its own random value, searched for too.
	settings[funchost.SettingFunctionKey] = strings.Replace(canary.New(), "canary", "function-key", 1)
	// The master key reaches the handler in no invocation; it is searched for all the same.
	settings[funchost.SettingMasterKey] = strings.Replace(canary.New(), "canary", "master-key", 1)
	// The host reaches the queues through the gate; the handler reaches storage through the watch.
	direct := e2e.Storage(t)
	w.gate, settings[funchost.SettingStorage] = startQueueGate(t, direct)
	worker := direct
	if sp.storageRefuses {
		w.workerStorage = withAccountKey(direct, base64.StdEncoding.EncodeToString([]byte(w.secret(t, funchost.SettingStorage))))
		worker = w.workerStorage
	}
	var watched string
	w.watch, watched = startStorageWatch(t, worker)
	opts := &e2e.Options{Settings: settings, WorkerSettings: map[string]string{funchost.SettingStorage: watched}}
	if sp.storageRefuses {
		// A message the app cannot handle reaches the poison queue in seconds, not minutes, to be searched there.
		opts.HostJSON = hostJSONQuickPoison(t)
	}
	needles := w.needles(t, settings[funchost.SettingFunctionKey], settings[funchost.SettingMasterKey], direct)
	w.scan = canary.NewScan(slices.Collect(maps.Values(needles))...)
	w.sapIn.scan.Store(w.foreign(needles, "SAP"))
	w.dvIn.scan.Store(w.foreign(needles, "Dataverse"))
	w.app = e2e.Start(t, opts)
	w.peek = startPeeker(t, w.storage())
	return w
}

// withAccountKey is a connection string with another AccountKey.
func withAccountKey(conn, key string) string {
	parts := strings.Split(conn, ";")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "AccountKey") {
			parts[i] = "AccountKey=" + key
		}
	}
	return strings.Join(parts, ";")
}

// hostJSONQuickPoison is the repository's host.json with a failed message retried after a second, twice.
func hostJSONQuickPoison(t *testing.T) string {
	t.Helper()
	root, err := e2e.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("reading host.json: %v", err)
	}
	queues := h["extensions"].(map[string]any)["queues"].(map[string]any)
	queues["maxDequeueCount"], queues["visibilityTimeout"] = 2, "00:00:01"
	out, _ := json.Marshal(h)
	return string(out)
}

// do sends a request and records it for the scan. It reports failures with t.Errorf, so goroutines may call it.
func (w *world) do(t *testing.T, method, path, key string, body []byte, header http.Header) e2e.Response {
	t.Helper()
	req, err := http.NewRequest(method, w.app.URL(path), bytes.NewReader(body))
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return e2e.Response{}
	}
	if body == nil {
		req.Body = http.NoBody
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if key != "" {
		req.Header.Set("x-functions-key", key)
	}
	resp, err := w.app.Client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return e2e.Response{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("reading %s %s: %v", method, path, err)
	}
	r := e2e.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	w.mu.Lock()
	w.calls = append(w.calls, call{method: method, path: path, resp: r})
	w.mu.Unlock()
	return r
}

// answer is a push's or a status read's answer, as far as the test reads it.
type answer struct {
	Status        int
	SAPSalesOrder string `json:"sapSalesOrder"`
	State         string `json:"state"`
	Header        http.Header
	Raw           string
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.Status, a.Raw) }

func read(r e2e.Response) answer {
	a := answer{Status: r.Status, Header: r.Header, Raw: string(r.Body)}
	_ = json.Unmarshal(r.Body, &a)
	return a
}

func (w *world) push(t *testing.T, body string, header http.Header) answer {
	t.Helper()
	h := http.Header{"Content-Type": {"application/json"}}
	for k, vs := range header {
		h[k] = vs
	}
	return read(w.do(t, http.MethodPost, "/api/orders", w.app.FunctionKey, []byte(body), h))
}

func (w *world) pushID(t *testing.T, id string, header http.Header) answer {
	t.Helper()
	return w.push(t, `{"salesorderid":"`+id+`"}`, header)
}

func (w *world) status(t *testing.T, id string) answer {
	t.Helper()
	// As a flow's asynchronous polls may: the function key in the query, not in x-functions-key.
	a := read(w.do(t, http.MethodGet, "/api/orders/"+id+"?code="+url.QueryEscape(w.app.FunctionKey), "", nil, nil))
	w.mu.Lock()
	w.states[a.State] = true
	w.mu.Unlock()
	return a
}

func (w *world) statesSeen() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.states)
}

// waitFinal polls the status until the push is no longer under way (202).
func (w *world) waitFinal(t *testing.T, id string, within time.Duration) answer {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st := w.status(t, id)
		if st.Status != http.StatusAccepted && st.State != "created" {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s still %s after %s: %s", id, st.State, within, st.Raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// admin runs a timer or queue function now, as README's "Run a timer or queue function now" does.
func (w *world) admin(t *testing.T, function, input string) {
	t.Helper()
	r := w.do(t, http.MethodPost, "/admin/functions/"+function, w.app.MasterKey, fmt.Appendf(nil, `{"input":%q}`, input),
		http.Header{"Content-Type": {"application/json"}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("admin call for %s: %d %s", function, r.Status, r.Body)
	}
}

// order creates a Dynamics sales order for an SAP customer with one line of each product, in unit uom ("" for Each).
func (w *world) order(t *testing.T, customer, uom string, products ...string) string {
	t.Helper()
	if uom == "" {
		uom = w.uom
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	acc, ok := w.accounts[customer]
	if !ok {
		var err error
		if acc, err = w.dv.Insert("accounts", map[string]any{"name": "Customer " + customer, "accountnumber": customer}); err != nil {
			t.Fatal(err)
		}
		w.accounts[customer] = acc
	}
	var lines []any
	for i, p := range products {
		pid := ""
		if rows := w.dv.Find("products", "productnumber", p); len(rows) > 0 {
			pid = fmt.Sprint(rows[0]["productid"])
		} else {
			var err error
			if pid, err = w.dv.Insert("products", map[string]any{"name": p, "productnumber": p, "defaultuomid@odata.bind": "/uoms(" + w.uom + ")"}); err != nil {
				t.Fatal(err)
			}
		}
		lines = append(lines, map[string]any{"productid@odata.bind": "/products(" + pid + ")", "uomid@odata.bind": "/uoms(" + uom + ")",
			"quantity": json.Number("2"), "lineitemnumber": json.Number(fmt.Sprint(i + 1))})
	}
	id, err := w.dv.Insert("salesorders", map[string]any{"name": "canary order", "ordernumber": fmt.Sprintf("ORD-CANARY-%d", time.Now().UnixNano()),
		"customerid_account@odata.bind": "/accounts(" + acc + ")", "requestdeliveryby": "2026-12-15", "order_details": lines})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// inline is the body of a push that carries the order itself ({"order":{...}}), for an order Dynamics holds.
func inline(id, customer, product string) string {
	return fmt.Sprintf(`{"order":{"salesorderid":%q,"customerAccountNumber":%q,"purchaseOrderNumber":"PO-CANARY",
		"currency":"EUR","lines":[{"productNumber":%q,"quantity":"1","unit":"Each"}]}}`, id, customer, product)
}
