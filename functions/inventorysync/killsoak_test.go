package inventorysync_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/sap"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(syncChildEnv); cfg != "" {
		os.Exit(runSyncChild(cfg)) // a child of BenchmarkSyncPeakRSS
	}
	e2e.Main(m)
}

// soakEnv turns the soaks on (make soak); they run for minutes and are not part of make test.
const soakEnv = "D365SAP_SOAK"

// killSoakProducts reads D365SAP_KILL_PRODUCTS (default 100,000), for shorter runs while working on the soak.
func killSoakProducts(t *testing.T) int {
	n := 100_000
	if v := os.Getenv("D365SAP_KILL_PRODUCTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			t.Fatalf("D365SAP_KILL_PRODUCTS=%q: want a number of at least 1,000", v)
		}
	}
	return n
}

// The kill soak: the real handler under the host stand-in loads 100,000 products, their stock and prices from
// the SAP simulator into the Dataverse simulator (its service protection limits scaled to a 30 s window), and
// is killed with SIGKILL 20 times at random points while it does; the stand-in restarts it, as the Functions
// host restarts a worker that dies. The kills fall at random points of the load's progress (see below), each
// once the restarted handler's sync is working again (it waits out the dead run's lock lease first). Afterwards every product's name, state, stock
// and price in D365 equal SAP's, no product or price item exists twice, and the writes that changed nothing —
// counted by the simulator, per row — are at most kills × batch size.
func TestKillSoak(t *testing.T) {
	if os.Getenv(soakEnv) == "" {
		t.Skipf("the kill soak runs with %s=1 (make soak); it takes minutes", soakEnv)
	}
	const kills, batch = 20, 1000
	n := killSoakProducts(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))

	sim := sapsim.New(sapsim.Options{Username: "U", Password: "P", Products: n, Plants: []string{"1010", "1020"}, PageSize: 5000})
	t.Cleanup(sim.Quiesce)
	sapSrv := httptest.NewServer(sim)
	t.Cleanup(sapSrv.Close)
	const client = "00000000-0000-0000-0000-0000000000c1"
	dv, err := dvsim.Start(dvsim.Options{Clients: map[string]string{client: "secret"}, Limits: dvsim.RealLimits().Scaled(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dv.Close)
	seedCatalog(t, dv)
	prefix := storetest.Name(t, "ks")
	settings := map[string]string{
		"LOG_LEVEL":    "info",
		"SAP_BASE_URL": sapSrv.URL, "SAP_CLIENT": "", "SAP_AUTH_MODE": "basic", "SAP_USERNAME": "U", "SAP_PASSWORD": "P",
		"DATAVERSE_URL": dv.URL, "DATAVERSE_AUTHORITY_HOST": dv.URL, "DATAVERSE_CLIENT_ID": client, "DATAVERSE_CLIENT_SECRET": "secret",
		"DATAVERSE_PAGE_SIZE": "5000",
		"STATE_TABLE":         prefix + "state", "ORDER_PUSH_QUEUE": prefix + "-push", "STATUS_EVENTS_QUEUE": prefix + "-events",
		"ARCHIVE_CONTAINER": prefix + "-archive", "DEADLETTER_CONTAINER": prefix + "-dead",
		"INVENTORY_SYNC_QUEUE": prefix + "-inv", "LOCK_CONTAINER": prefix + "-locks",
		// A tick every 10 s finds the sync again after a kill (or its lease still held); a 45 s budget makes
		// runs end in continuations, so kills land in timer and queue invocations both.
		"INVENTORY_SYNC_SCHEDULE": "*/10 * * * * *", "INVENTORY_SYNC_BUDGET": "45s",
		"INVENTORY_SYNC_BATCH_SIZE": strconv.Itoa(batch), "INVENTORY_SYNC_PARALLEL": "8",
		"AzureWebJobs.orderpushsweep.Disabled": "true",
	}
	app := e2e.Start(t, &e2e.Options{Settings: settings})
	began := time.Now()

	// The kills fall at random points of the load's progress, counted in Dataverse row writes (about four per
	// product: the create, the publish, the stock and the price item), so that they spread over every stream,
	// each a random 0 to 5 s after its point so that they land in reads and storage writes as well.
	expect := 4 * n
	points := make([]int, kills)
	for k := range points {
		points[k] = expect/50 + rng.IntN(expect*9/10)
	}
	slices.Sort(points)
	stage := regexp.MustCompile(`"msg":"inventory sync progress".*?"stream":"(\w+)"`)
	landedIn := map[string]int{}
	for k := range kills {
		// The point, and at least one write since the restart: a kill before the restarted sync has written
		// anything would only repeat the previous one.
		target := max(points[k], totalWrites(dv)+1)
		waiting := time.Now()
		for totalWrites(dv) < target {
			if time.Since(waiting) > 15*time.Minute {
				t.Fatalf("kill %d: the handler wrote nothing in 15 minutes (writes %v, waiting for %d)", k+1, dv.AllWrites(), target)
			}
			if complete(t, app) > 0 {
				t.Fatalf("the sync of %d products completed before kill %d (writes %v)", n, k+1, dv.AllWrites())
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(5 * time.Second))))
		where := "start"
		if m := stage.FindAllStringSubmatch(app.Log.String(), -1); len(m) > 0 {
			where = m[len(m)-1][1]
		}
		pid, err := app.Host.KillWorker()
		if err != nil {
			t.Fatalf("kill %d: %v", k+1, err)
		}
		landedIn[where]++
		t.Logf("kill %d at %v: pid %d, last progress in %s; Dataverse writes so far %v", k+1, time.Since(began).Round(time.Second),
			pid, where, dv.AllWrites())
	}
	killedBy := time.Since(began)
	deadline := time.Now().Add(40 * time.Minute)
	for complete(t, app) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no complete run within 40 minutes of the last kill")
		}
		time.Sleep(2 * time.Second)
	}
	took := time.Since(began)
	// One more complete run, after the one that finished the load: it must find nothing to write.
	settled := dv.AllWrites()
	for complete(t, app) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no second complete run")
		}
		time.Sleep(2 * time.Second)
	}
	app.Host.Close()
	for set, w := range dv.AllWrites() {
		if d := w.Sub(settled[set]); d.Total() != 0 {
			t.Errorf("the run after the load wrote %+v to %s", d, set)
		}
	}

	checkAgainstSAP(t, sapSrv.URL, dv, n)
	writes := dv.AllWrites()
	repeated := 0
	for _, w := range writes {
		repeated += w.Unchanged
	}
	t.Logf("%d products, %d kills (%v), killed by %v, loaded by %v; Dataverse writes %v; writes that changed nothing %d (bound %d)",
		n, kills, landedIn, killedBy.Round(time.Second), took.Round(time.Second), writes, repeated, kills*batch)
	if repeated > kills*batch {
		t.Errorf("%d writes changed nothing; at most %d (kills × batch size) may", repeated, kills*batch)
	}
}

// totalWrites is the row writes the simulator took so far, in every table.
func totalWrites(dv *dvsim.Running) int {
	n := 0
	for _, w := range dv.AllWrites() {
		n += w.Total()
	}
	return n
}

// complete counts the runs in the run log that read every stream to its end.
func complete(t *testing.T, app *e2e.App) int {
	t.Helper()
	resp := app.Do(t, "GET", "/api/inventory/runs?last=100", app.FunctionKey, nil, nil)
	if resp.Status != 200 {
		return 0 // the handler is restarting
	}
	var runs struct {
		Runs []inventorysync.Summary `json:"runs"`
	}
	if err := json.Unmarshal(resp.Body, &runs); err != nil {
		t.Fatalf("reading the run log: %v", err)
	}
	c := 0
	for _, r := range runs.Runs {
		if r.Outcome == inventorysync.Complete {
			c++
		}
	}
	return c
}

// checkAgainstSAP reads SAP's products, stock and prices over HTTP and D365's rows from the simulator, and
// fails on every difference: name, state, stock rounded down to the mapping's 2 decimals, the one price item
// on the Default list (per base unit, in the product's default unit), and any duplicate.
func checkAgainstSAP(t *testing.T, sapURL string, dv *dvsim.Running, n int) {
	t.Helper()
	sc, err := sap.New(sap.Options{BaseURL: sapURL, AuthMode: sap.AuthBasic, Username: "U", Password: "P",
		Timeout: time.Minute, MaxResponseBytes: 64 << 20, ReadRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	src := inventorysync.SAPSource{Client: sc}
	type want struct {
		name    string
		deleted bool
		stock   *big.Rat
		price   *big.Rat
	}
	truth := map[string]*want{}
	for p, err := range src.ProductsChangedSince(t.Context(), time.Time{}).All() {
		if err != nil {
			t.Fatal(err)
		}
		w := &want{name: p.Product, deleted: p.IsMarkedForDeletion, stock: new(big.Rat)}
		for _, d := range p.Descriptions.Results {
			if d.Language == "EN" {
				w.name = d.ProductDescription
			}
		}
		truth[p.Product] = w
	}
	if len(truth) != n {
		t.Fatalf("SAP answered %d products of %d", len(truth), n)
	}
	for row, err := range src.Stock(t.Context(), []string{"1010", "1020"}, "").All() {
		if err != nil {
			t.Fatal(err)
		}
		if row.InventoryStockType == "01" && row.InventorySpecialStockType == "" {
			truth[row.Material].stock.Add(truth[row.Material].stock, row.Quantity.Rat())
		}
	}
	q := sap.PriceQuery{ConditionTypes: []string{"PPR0"}, SalesOrganization: "1010", DistributionChannel: "10",
		ValidOn: time.Now().UTC().Truncate(24 * time.Hour), ByMaterial: true}
	for c, err := range src.Prices(t.Context(), q).All() {
		if err != nil {
			t.Fatal(err)
		}
		w := truth[c.Material]
		if w == nil || c.Record.ConditionTable != "304" || c.Record.ConditionIsDeleted {
			continue
		}
		per := c.Record.ConditionQuantity.Rat()
		if per.Sign() == 0 {
			per = big.NewRat(1, 1)
		}
		w.price = new(big.Rat).Quo(c.Record.ConditionRateValue.Rat(), per)
	}

	items := map[string]map[string]any{} // product id → its item
	for _, r := range dv.Find("productpricelevels", "", nil) {
		pid := fmt.Sprint(r["_productid_value"])
		if items[pid] != nil {
			t.Errorf("product %s has two price list items", pid)
		}
		items[pid] = r
	}
	seen := map[string]bool{}
	differ := 0
	fail := func(format string, a ...any) {
		if differ++; differ <= 20 {
			t.Errorf(format, a...)
		}
	}
	for _, r := range dv.Find("products", "", nil) {
		m := fmt.Sprint(r["productnumber"])
		if seen[m] {
			fail("product %s is in D365 twice", m)
		}
		seen[m] = true
		w := truth[m]
		if w == nil {
			fail("D365 has product %s, which SAP does not", m)
			continue
		}
		state := "0"
		if w.deleted {
			state = "1"
		}
		if r["name"] != w.name || jsonText(r["statecode"]) != state {
			fail("%s: name %v state %v; SAP %q deleted %v", m, r["name"], r["statecode"], w.name, w.deleted)
		}
		if w.deleted {
			continue
		}
		if got := jsonText(r["quantityonhand"]); got != floor2(w.stock) {
			fail("%s: quantity on hand %s; SAP %s", m, got, w.stock.FloatString(3))
		}
		it := items[fmt.Sprint(r["productid"])]
		switch {
		case w.price == nil && it != nil:
			fail("%s: a price item, and SAP has no price", m)
		case w.price != nil && it == nil:
			fail("%s: no price item; SAP %s", m, w.price.FloatString(2))
		case w.price != nil:
			got, _ := new(big.Rat).SetString(jsonText(it["amount"]))
			if got == nil || got.Cmp(w.price) != 0 || fmt.Sprint(it["_uomid_value"]) != fmt.Sprint(r["_defaultuomid_value"]) {
				fail("%s: price %v per %v; SAP %s per the default unit %v", m, it["amount"], it["_uomid_value"],
					w.price.FloatString(3), r["_defaultuomid_value"])
			}
		}
	}
	for m, w := range truth {
		if !seen[m] && !w.deleted {
			fail("%s is not in D365", m)
		}
	}
	if differ > 0 {
		t.Errorf("%d differences between D365 and SAP (the first 20 above)", differ)
	}
}
