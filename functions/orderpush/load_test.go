package orderpush_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/sapsim/simtest"
	"github.com/d365sap/d365sap/infra/local/storetest"
)

// This file holds what the soak and the benchmark share: a world sized for load (Dataverse limits lifted, many
// customers and products) and a caller that behaves like Power Automate's HTTP action.

// loadSims are both simulators, seeded with customers SAP accepts and products, for many orders.
type loadSims struct {
	sap    *sapsim.Server
	sapURL string
	dv     *dvsim.Running
	uom    string
	// accounts maps a SAP customer number to its Dataverse account id; products holds the Dataverse product ids.
	accounts map[string]string
	products []string
}

// loadWorld is the app under the host stand-in with its simulators.
type loadWorld struct {
	*loadSims
	app    *e2e.App
	client *http.Client
	table  string // STATE_TABLE
	queue  string // ORDER_PUSH_QUEUE
}

// loadMappingFile is the shipped mapping reading the customer's PO from poColumn, with reference replacing the
// reference section when given.
func loadMappingFile(tb testing.TB, reference map[string]any) string {
	tb.Helper()
	b, err := os.ReadFile("mapping.json")
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	m["read"] = map[string]string{"purchaseOrderColumn": poColumn}
	if reference != nil {
		m["reference"] = reference
	}
	out, _ := json.Marshal(m)
	p := filepath.Join(tb.TempDir(), "mapping.json")
	if err := os.WriteFile(p, out, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// loadCustomers and loadProducts size the SAP simulator's master data for load runs.
const (
	loadCustomers = 200
	loadProducts  = 50
)

func newLoadSims(tb testing.TB) *loadSims {
	tb.Helper()
	s, sapURL := simtest.Start(tb, sapsim.Options{Products: loadProducts, Customers: loadCustomers})
	// Dataverse's service protection limits would dominate a load run of one user: lift them (a zero field turns
	// that limit off) and keep Retry-After short for the injected 429s.
	dv, err := dvsim.Start(dvsim.Options{Clients: map[string]string{dvClient: dvSecret},
		Limits:       dvsim.Limits{Window: time.Minute, RetryAfterUnit: 100 * time.Millisecond},
		ExtraColumns: map[string][]dvsim.Column{"salesorder": {{Name: poColumn, Type: dvsim.String, MaxLength: 100}}}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(dv.Close)
	w := &loadSims{sap: s, sapURL: sapURL, dv: dv, accounts: map[string]string{}}
	w.uom, err = dv.Insert("uoms", map[string]any{"name": "Each", "quantity": json.Number("1")})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range loadCustomers {
		if i%25 == sapsim.BlockedCustomerIndex {
			continue // SAP has an order block on it: every push would be rejected
		}
		c := sapsim.CustomerID(i)
		acc, err := dv.Insert("accounts", map[string]any{"name": "Customer " + c, "accountnumber": c})
		if err != nil {
			tb.Fatal(err)
		}
		w.accounts[c] = acc
	}
	for i := range loadProducts {
		p := sapsim.ProductID(i)
		pid, err := dv.Insert("products", map[string]any{"name": p, "productnumber": p, "defaultuomid@odata.bind": "/uoms(" + w.uom + ")"})
		if err != nil {
			tb.Fatal(err)
		}
		w.products = append(w.products, pid)
	}
	return w
}

// newLoadWorld starts the app for load with the given settings over defaults (a mapping reading the PO column,
// storage names of its own). reference, when not nil, replaces the mapping's reference section.
func newLoadWorld(tb testing.TB, settings map[string]string, reference map[string]any) *loadWorld {
	tb.Helper()
	return newLoadWorldWith(tb, settings, reference, nil)
}

// newLoadWorldWith is newLoadWorld with settings only the handler process sees.
func newLoadWorldWith(tb testing.TB, settings map[string]string, reference map[string]any, workerSettings map[string]string) *loadWorld {
	tb.Helper()
	w := &loadWorld{loadSims: newLoadSims(tb)}
	all := map[string]string{
		"SAP_BASE_URL": w.sapURL, "SAP_USERNAME": simtest.Username, "SAP_PASSWORD": simtest.Password, "SAP_CLIENT": "",
		"SAP_TIMEOUT": "5s", "SAP_READ_RETRIES": "2",
		"DATAVERSE_URL": w.dv.URL, "DATAVERSE_AUTHORITY_HOST": w.dv.URL, "DATAVERSE_CLIENT_ID": dvClient, "DATAVERSE_CLIENT_SECRET": dvSecret,
		"DATAVERSE_TENANT_ID":     "00000000-0000-0000-0000-000000000001",
		"ORDER_PUSH_SYNC_TIMEOUT": "15s",
		"LOG_LEVEL":               "error", // a load run logs a warning per injected fault otherwise
		"ORDER_MAPPING_FILE":      loadMappingFile(tb, reference),
		"STATE_TABLE":             storetest.Name(tb, "state"), "ORDER_PUSH_QUEUE": storetest.Name(tb, "push-"),
		"STATUS_EVENTS_QUEUE": storetest.Name(tb, "events-"), "ARCHIVE_CONTAINER": storetest.Name(tb, "archive-"),
		"DEADLETTER_CONTAINER": storetest.Name(tb, "dead-"),
	}
	for k, v := range settings {
		all[k] = v
	}
	w.table, w.queue = all["STATE_TABLE"], all["ORDER_PUSH_QUEUE"]
	w.app = e2e.Start(tb, &e2e.Options{Settings: all, WorkerSettings: workerSettings})
	w.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	tb.Cleanup(w.client.CloseIdleConnections)
	return w
}

// seedOrders creates n distinct sales orders in Dataverse, each for a customer SAP accepts, with one to three lines.
// Their order numbers (the SAP reference of the duplicate check) carry tag, so that runs sharing a SAP simulator
// never share a reference.
func (w *loadSims) seedOrders(tb testing.TB, tag string, n int) []string {
	tb.Helper()
	ids, _ := w.seedOrdersWithPOs(tb, tag, n, 0)
	return ids
}

// seededOrder is what a soak needs to know of a seeded order.
type seededOrder struct {
	customer string // SAP sold-to party
	po       string
}

// seedOrdersWithPOs is seedOrders where every order has a customer PO number, and a share of them reuse the PO
// and the customer of an earlier order (blanket POs, split orders).
func (w *loadSims) seedOrdersWithPOs(tb testing.TB, tag string, n int, reuse float64) ([]string, []seededOrder) {
	tb.Helper()
	customers := make([]string, 0, len(w.accounts))
	for i := range loadCustomers {
		if acc, ok := w.accounts[sapsim.CustomerID(i)]; ok {
			customers = append(customers, acc)
		}
	}
	numbers := make([]string, 0, len(customers))
	for i := range loadCustomers {
		if _, ok := w.accounts[sapsim.CustomerID(i)]; ok {
			numbers = append(numbers, sapsim.CustomerID(i))
		}
	}
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	ids := make([]string, n)
	seeded := make([]seededOrder, n)
	for i := range n {
		cust := i % len(customers)
		seeded[i] = seededOrder{customer: numbers[cust], po: fmt.Sprintf("%s-PO-%06d", tag, i)}
		if i > 0 && rng.Float64() < reuse {
			j := rng.IntN(i)
			cust, seeded[i] = indexOf(numbers, seeded[j].customer), seeded[j]
		}
		var details []any
		// Two decimals at most: a line in EA of a material kept in KG is 2.5 kg each, and SAP holds three.
		for l := range 1 + rng.IntN(3) {
			details = append(details, map[string]any{
				"productid@odata.bind": "/products(" + w.products[rng.IntN(len(w.products))] + ")", "uomid@odata.bind": "/uoms(" + w.uom + ")",
				"quantity": json.Number(fmt.Sprintf("%d.%02d", 1+rng.IntN(20), rng.IntN(100))), "lineitemnumber": json.Number(strconv.Itoa(l + 1))})
		}
		id, err := w.dv.Insert("salesorders", map[string]any{
			"name": fmt.Sprintf("Load order %d", i), "ordernumber": fmt.Sprintf("%s-%06d", tag, i),
			"customerid_account@odata.bind": "/accounts(" + customers[cust] + ")",
			"requestdeliveryby":             "2026-12-15", "paymenttermscode": json.Number("1"), "order_details": details,
			poColumn: seeded[i].po,
		})
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = id
	}
	return ids, seeded
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
