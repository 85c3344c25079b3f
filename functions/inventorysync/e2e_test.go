package inventorysync_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/checkpoint"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/deadletter"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// world is a sync against the SAP and Dataverse simulators and Azurite, with names of its own.
type world struct {
	sap       *sapsim.Server
	dv        *dvsim.Running
	acct      *store.Account
	syncer    *inventorysync.Syncer
	queue     string
	container string
	runs      inventorysync.TableRunLog
	products  int
	group     string // the D365 unit group "Default Unit"
	mu        sync.Mutex
	letters   map[string]string
}

type options struct {
	products int
	batch    int
	budget   time.Duration
	mapping  string
	pageSize int
	parallel int
	// dvLimits and dvCosts are the Dataverse simulator's (zero: the real limits, no cost); plainStock is one
	// plant with one unrestricted row per product, as a benchmark wants it.
	dvLimits   dvsim.Limits
	dvCosts    dvsim.Costs
	plainStock bool
	dataverse  func(*dataverse.Options)
	// sapMaxBytes is the SAP client's MaxResponseBytes (0: 64 MB).
	sapMaxBytes int64
}

func newWorld(t testing.TB, o options) *world {
	t.Helper()
	if o.products == 0 {
		o.products = 120
	}
	if o.batch == 0 {
		o.batch = 50
	}
	if o.budget == 0 {
		o.budget = time.Hour
	}
	if o.parallel == 0 {
		o.parallel = 3 // writes in flight together, as in production, so every test meets the concurrency
	}
	if o.pageSize == 0 {
		o.pageSize = 40
	}
	acct := storetest.Account(t)
	// Stock in two storage locations per plant, with quality-inspection, blocked and sales-order stock beside the
	// unrestricted stock that counts; a third plant the mapping leaves out.
	so := sapsim.Options{Username: "U", Password: "P", Products: o.products, Plants: []string{"1010", "1020", "1030"},
		PageSize: o.pageSize, StockVariety: true}
	if o.plainStock {
		so.Plants, so.StockVariety = []string{"1010"}, false
	}
	sim := sapsim.New(so)
	t.Cleanup(sim.Quiesce)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	if o.sapMaxBytes == 0 {
		o.sapMaxBytes = 64 << 20
	}
	sc, err := sap.New(sap.Options{BaseURL: ts.URL, AuthMode: sap.AuthBasic, Username: "U", Password: "P",
		Timeout: 30 * time.Second, MaxResponseBytes: o.sapMaxBytes, ReadRetries: 3})
	if err != nil {
		t.Fatal(err)
	}
	dv, err := dvsim.Start(dvsim.Options{Clients: map[string]string{"app": "secret"}, Limits: o.dvLimits, Costs: o.dvCosts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dv.Close)
	group := seedCatalog(t, dv) // the unit group, its units and the EUR price list of the shipped mapping
	do := dataverse.Options{URL: dv.URL, Tokens: &dataverse.ClientSecretSource{AuthorityHost: dv.URL, TenantID: "t",
		ClientID: "app", ClientSecret: "secret", Scope: dataverse.Scope(dv.URL)}, Timeout: 30 * time.Second,
		MaxConcurrency: 16, InitialConcurrency: 4, MaxRetries: 4, PageSize: 5000}
	if o.dataverse != nil {
		o.dataverse(&do)
	}
	dc, err := dataverse.New(do)
	if err != nil {
		t.Fatal(err)
	}
	table := storetest.Name(t, "inv")
	if err := acct.EnsureTable(t.Context(), table); err != nil {
		t.Fatal(err)
	}
	state, _ := store.NewTable[json.RawMessage](acct, table)
	fps, _ := store.NewTable[inventorysync.Fingerprint](acct, table)
	runRows, _ := store.NewTable[inventorysync.RunEntity](acct, table)
	queue, container := storetest.Name(t, "invq"), storetest.Name(t, "inv")
	if err := acct.EnsureQueue(t.Context(), queue); err != nil {
		t.Fatal(err)
	}
	if err := acct.EnsureContainer(t.Context(), container); err != nil {
		t.Fatal(err)
	}
	m, err := inventorysync.LoadMapping("")
	if o.mapping != "" {
		m, err = inventorysync.ParseMapping([]byte(o.mapping))
	}
	if err != nil {
		t.Fatal(err)
	}
	values, err := valuemap.Load("")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{sap: sim, dv: dv, acct: acct, queue: queue, container: container, products: o.products, group: group, letters: map[string]string{},
		runs: inventorysync.TableRunLog{Rows: runRows}}
	w.syncer = &inventorysync.Syncer{
		SAP: inventorysync.SAPSource{Client: sc}, Dataverse: dc, Fingerprints: fps,
		Checkpoints: checkpoint.Store{Table: state}, Runs: w.runs,
		Locks:       inventorysync.BlobLocks{Blobs: acct, Container: container},
		DeadLetters: recordingLetters{next: inventorysync.DeadLetters{Store: &deadletter.Store{Blobs: acct, Container: container}}, w: w},
		Continue:    inventorysync.QueueContinuer{Queue: acct, Name: queue},
		Mapping:     m, Units: values.Must(valuemap.Units), BatchSize: o.batch, Parallel: o.parallel, Overlap: 10 * time.Minute, Budget: o.budget,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now, Ready: func(context.Context) error { return nil },
	}
	return w
}

func (w *world) run(t testing.TB, trigger string) inventorysync.Summary {
	t.Helper()
	sum, err := w.syncer.Run(t.Context(), inventorysync.RunID(t.Context()), trigger)
	if err != nil {
		t.Fatalf("%s run: %v (summary %+v)", trigger, err, sum)
	}
	return sum
}

// sapProduct is what the test expects D365 to hold of one generated SAP product, read from SAP over HTTP.
type sapProduct struct {
	name    string
	deleted bool
	stock   *big.Rat
}

func (w *world) sapTruth(t *testing.T) map[string]sapProduct {
	t.Helper()
	out := map[string]sapProduct{}
	src := w.syncer.SAP
	for p, err := range src.ProductsChangedSince(t.Context(), time.Time{}).All() {
		if err != nil {
			t.Fatal(err)
		}
		name := p.Product
		for _, d := range p.Descriptions.Results {
			if d.Language == "EN" {
				name = d.ProductDescription
			}
		}
		out[p.Product] = sapProduct{name: name, deleted: p.IsMarkedForDeletion, stock: new(big.Rat)}
	}
	for row, err := range src.Stock(t.Context(), []string{"1010", "1020"}, "").All() {
		if err != nil {
			t.Fatal(err)
		}
		if row.InventoryStockType == "01" && row.InventorySpecialStockType == "" {
			out[row.Material].stock.Add(out[row.Material].stock, row.Quantity.Rat())
		}
	}
	return out
}

// checkD365 compares every product in D365 with SAP: name, state, and stock rounded down to 2 decimals.
func (w *world) checkD365(t *testing.T) {
	t.Helper()
	truth := w.sapTruth(t)
	rows := w.dv.Find("products", "", nil)
	byNumber := map[string]map[string]any{}
	for _, r := range rows {
		byNumber[r["productnumber"].(string)] = r
	}
	for m, p := range truth {
		r, ok := byNumber[m]
		if p.deleted && !ok {
			continue // flagged before D365 had it: never created
		}
		if !ok {
			t.Errorf("%s is not in D365", m)
			continue
		}
		if r["name"] != p.name {
			t.Errorf("%s name %v, want %q", m, r["name"], p.name)
		}
		wantState := "0"
		if p.deleted {
			wantState = "1"
		}
		if got := jsonText(r["statecode"]); got != wantState {
			t.Errorf("%s statecode %s, want %s", m, got, wantState)
		}
		want := floor2(p.stock)
		if got := jsonText(r["quantityonhand"]); !p.deleted && got != want {
			t.Errorf("%s quantityonhand %s, want %s", m, got, want)
		}
	}
}

func jsonText(v any) string {
	switch x := v.(type) {
	case json.Number:
		return x.String()
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func floor2(r *big.Rat) string {
	scaled := new(big.Rat).Mul(r, big.NewRat(100, 1))
	q := new(big.Int).Quo(scaled.Num(), scaled.Denom())
	return new(big.Rat).SetFrac(q, big.NewInt(100)).FloatString(2)
}

// The first run loads every product with its stock; a second run over unchanged SAP data writes nothing to
// Dataverse, counted on the simulator's change counter.
func TestFirstRunLoadsEverythingAndAnUnchangedRerunWritesNothing(t *testing.T) {
	w := newWorld(t, options{})
	first := w.run(t, "timer")
	if first.Outcome != inventorysync.Complete {
		t.Fatalf("first run %+v", first)
	}
	w.checkD365(t)
	if first.Products.Read != int64(w.products) || first.Products.Written == 0 || first.Stock.Written == 0 {
		t.Errorf("first run counts: products %+v stock %+v", first.Products, first.Stock)
	}
	// Requests, not rows, meet the service protection limit first on a load (6,000 per five minutes): creating,
	// publishing, stocking and pricing 120 products in batches of 50 costs a few requests a batch, where a
	// request per product and write would cost over 360.
	if n := w.dv.Stats()["app"].Requests; n > 60 {
		t.Errorf("the first run of %d products sent %d requests to Dataverse, want at most 60", w.products, n)
	}
	before := w.dv.Version()
	second := w.run(t, "timer")
	if v := w.dv.Version(); v != before {
		t.Errorf("the unchanged rerun wrote to Dataverse: version %d -> %d (summary products %+v, stock %+v)", before, v, second.Products, second.Stock)
	}
	if second.Products.Changed != 0 || second.Stock.Changed != 0 || second.Stock.Read == 0 {
		t.Errorf("rerun counts: products %+v stock %+v", second.Products, second.Stock)
	}
	last, err := w.runs.Last(t.Context(), 5)
	if err != nil || len(last) != 2 || last[0].RunID != second.RunID {
		t.Errorf("run log %+v (%v), want the two runs newest first", last, err)
	}
}

// A run that reaches its time budget stops at a batch, queues its continuation, and the continuation finishes
// the sync where the checkpoints say.
func TestARunStoppedByItsBudgetIsFinishedByItsContinuation(t *testing.T) {
	w := newWorld(t, options{products: 200, batch: 20, budget: 10 * time.Second})
	// Every clock read moves 500 ms: the fourth batch or so is past the 10 s budget. (Read from the stock reader
	// and the writer at once, hence the lock.)
	var clockMu sync.Mutex
	slow := time.Now()
	w.syncer.Now = func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		slow = slow.Add(500 * time.Millisecond)
		return slow
	}
	first := w.run(t, "timer")
	if first.Outcome != inventorysync.Continued {
		t.Fatalf("first run %+v, want continued", first)
	}
	msgs, err := w.acct.Dequeue(t.Context(), w.queue, 32, time.Minute)
	if err != nil || len(msgs) != 1 || !strings.Contains(string(msgs[0].Body), `"continue"`) {
		t.Fatalf("continuations %+v (%v), want one", msgs, err)
	}
	w.syncer.Now = time.Now
	for i := 0; ; i++ {
		s := w.run(t, "continuation")
		if s.Outcome == inventorysync.Complete {
			break
		}
		if i > 10 {
			t.Fatalf("continuations never complete: %+v", s)
		}
	}
	w.checkD365(t)
}

// Two triggers at once (a timer tick and a continuation) run one sync: the other ends at once as skipped.
func TestOverlappingTriggersRunOneSync(t *testing.T) {
	w := newWorld(t, options{products: 150, batch: 10})
	var wg sync.WaitGroup
	sums := make([]inventorysync.Summary, 2)
	for i, trig := range []string{"timer", "continuation"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := w.syncer.Run(context.Background(), inventorysync.RunID(context.Background()), trig)
			if err != nil {
				t.Error(err)
			}
			sums[i] = s
		}()
	}
	wg.Wait()
	outcomes := []string{sums[0].Outcome, sums[1].Outcome}
	slices.Sort(outcomes)
	if !slices.Equal(outcomes, []string{inventorysync.Complete, inventorysync.Skipped}) {
		t.Fatalf("outcomes %v, want one complete and one skipped", outcomes)
	}
	w.checkD365(t)
}

// A change in SAP (a product's description, one stock row) appears in D365 after the next run, and nothing
// else is written: one update per changed product, counted on the Dataverse simulator.
func TestAChangeInSAPAppearsAfterTheNextRunAndNothingElseIsWritten(t *testing.T) {
	w := newWorld(t, options{})
	w.run(t, "timer")
	renamed, restocked := sapsim.ProductID(5), sapsim.ProductID(7)
	if _, err := w.sap.ChangeProduct(renamed, func(p *sapsim.ProductData) { p.Descriptions["EN"] = "Renamed in SAP" }, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.sap.SetStock(sapsim.StockRow{Material: restocked, Plant: "1020", StorageLocation: "101A", InventoryStockType: "01",
		Quantity: "4321.987"}, nil); err != nil {
		t.Fatal(err)
	}
	// Stock the mapping leaves out changes nothing in D365: another plant, blocked stock.
	if err := w.sap.SetStock(sapsim.StockRow{Material: renamed, Plant: "1030", StorageLocation: "101A", InventoryStockType: "01",
		Quantity: "99"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.sap.SetStock(sapsim.StockRow{Material: sapsim.ProductID(9), Plant: "1010", StorageLocation: "101A", InventoryStockType: "07",
		Quantity: "12345"}, nil); err != nil {
		t.Fatal(err)
	}
	before := w.dv.Writes("products")
	sum := w.run(t, "timer")
	if got := w.dv.Writes("products").Sub(before); got != (dvsim.WriteCounts{Updates: 2}) {
		t.Errorf("writes to products %+v, want 2 updates (summary products %+v, stock %+v)", got, sum.Products, sum.Stock)
	}
	w.checkD365(t)
	if sum.Stock.Rounded < 1 {
		t.Errorf("4321.987 and more came back as %d rounded values, want at least 1", sum.Stock.Rounded)
	}
}

// A material SAP flags for deletion after D365 has it is retired (statecode 1, statuscode 2), never deleted;
// when SAP clears the flag, the product the sync retired is active again.
func TestAMaterialFlaggedForDeletionIsRetiredAndComesBack(t *testing.T) {
	w := newWorld(t, options{})
	w.run(t, "timer")
	m := sapsim.ProductID(3)
	flag := func(on bool) {
		if _, err := w.sap.ChangeProduct(m, func(p *sapsim.ProductData) { p.IsMarkedForDeletion = on }, nil); err != nil {
			t.Fatal(err)
		}
	}
	state := func() (string, string) {
		rows := w.dv.Find("products", "productnumber", m)
		if len(rows) != 1 {
			t.Fatalf("%d products numbered %s", len(rows), m)
		}
		return jsonText(rows[0]["statecode"]), jsonText(rows[0]["statuscode"])
	}
	if st, _ := state(); st != "0" {
		t.Fatalf("%s starts in state %s, want active", m, st)
	}
	flag(true)
	before := w.dv.Writes("products")
	w.run(t, "timer")
	if st, sc := state(); st != "1" || sc != "2" {
		t.Errorf("flagged: state %s status %s, want retired (1, 2)", st, sc)
	}
	if d := w.dv.Writes("products").Sub(before); d.Deletes != 0 || d.StateChanges != 1 {
		t.Errorf("writes %+v, want one state change and no delete", d)
	}
	w.checkD365(t)
	flag(false)
	w.run(t, "timer")
	if st, sc := state(); st != "0" || sc != "1" {
		t.Errorf("flag cleared: state %s status %s, want active (0, 1)", st, sc)
	}
}

// SAP stamps a change when its work begins and commits it later: a run in between misses it, and the next run
// finds a stamp older than the high-water mark. The overlap reads it anyway.
func TestALateCommitIsReadByTheOverlap(t *testing.T) {
	w := newWorld(t, options{})
	w.run(t, "timer")
	late, early := sapsim.ProductID(11), sapsim.ProductID(12)
	if _, err := w.sap.ChangeProduct(late, func(p *sapsim.ProductData) { p.Descriptions["EN"] = "Committed late" },
		&sapsim.ChangeOptions{CommitDelay: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := w.sap.ChangeProduct(early, func(p *sapsim.ProductData) { p.Descriptions["EN"] = "Committed at once" }, nil); err != nil {
		t.Fatal(err)
	}
	first := w.run(t, "timer")
	if first.Products.Changed != 1 {
		t.Fatalf("the run before the late commit changed %d products, want 1 (the early one)", first.Products.Changed)
	}
	time.Sleep(1600 * time.Millisecond)
	w.run(t, "timer")
	w.checkD365(t)
}

func (w *world) sapBaseUnit(t *testing.T, i int) string {
	t.Helper()
	for p, err := range w.syncer.SAP.ProductsChangedSince(t.Context(), time.Time{}).All() {
		if err != nil {
			t.Fatal(err)
		}
		if p.Product == sapsim.ProductID(i) {
			return p.BaseUnit
		}
	}
	return ""
}

// deadLetters are the reasons of the records the sync dead-lettered, by record key.
func (w *world) deadLetters(t *testing.T) map[string]string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.letters)
}

// recordingLetters passes each dead letter on to the store and remembers its reason.
type recordingLetters struct {
	next inventorysync.RecordDeadLetterer
	w    *world
}

func (r recordingLetters) DeadLetterRecord(ctx context.Context, stream, key string, record any, cause error) error {
	r.w.mu.Lock()
	r.w.letters[key] += cause.Error()
	r.w.mu.Unlock()
	return r.next.DeadLetterRecord(ctx, stream, key, record, cause)
}

// A product a D365 user deletes is forgotten, not dead-lettered run after run: its stock update meets a 404
// once, the rest of the batch lands, later runs leave it alone, and when SAP changes it the sync creates it
// again, published.
func TestAProductDeletedInD365IsForgottenAndCreatedAgainWhenSAPChangesIt(t *testing.T) {
	w := newWorld(t, options{})
	w.run(t, "timer")
	m := sapsim.ProductID(6)
	rows := w.dv.Find("products", "productnumber", m)
	if len(rows) != 1 {
		t.Fatalf("%d products numbered %s", len(rows), m)
	}
	if err := w.dv.Delete("products", rows[0]["productid"].(string)); err != nil {
		t.Fatal(err)
	}
	if err := w.sap.SetStock(sapsim.StockRow{Material: m, Plant: "1010", StorageLocation: "101A", InventoryStockType: "01",
		Quantity: "777"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.sap.SetStock(sapsim.StockRow{Material: sapsim.ProductID(8), Plant: "1010", StorageLocation: "101A",
		InventoryStockType: "01", Quantity: "888"}, nil); err != nil {
		t.Fatal(err)
	}
	second := w.run(t, "timer")
	if second.Stock.Failed != 0 || second.Stock.Written != 1 {
		t.Errorf("stock after the deletion %+v: want the other product written and nothing dead-lettered", second.Stock)
	}
	if got := w.deadLetters(t)[m]; got != "" {
		t.Errorf("the deleted product was dead-lettered: %s", got)
	}
	third := w.run(t, "timer")
	if third.Stock.Changed != 0 {
		t.Errorf("a later run still tries the deleted product: %+v", third.Stock)
	}
	if _, err := w.sap.ChangeProduct(m, func(p *sapsim.ProductData) { p.Descriptions["EN"] = "Back in D365" }, nil); err != nil {
		t.Fatal(err)
	}
	w.run(t, "timer")
	w.run(t, "timer") // the stock of a product created again lands on the run after
	back := w.dv.Find("products", "productnumber", m)
	if len(back) != 1 || jsonText(back[0]["statecode"]) != "0" || back[0]["name"] != "Back in D365" {
		t.Fatalf("after SAP changed it: %v", back)
	}
	w.checkD365(t)
}
