package inventorysync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"syscall"
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

// syncChildEnv holds a childConfig: the test binary started with it runs one sync and exits (see TestMain), so
// that its peak RSS is the sync's alone, not the simulators'.
const syncChildEnv = "D365SAP_SYNC_CHILD"

type childConfig struct {
	SAP, Dataverse, Fingerprints, Storage string
	Table, Container, Queue               string
	Batch, Parallel                       int
}

// The sync's peak resident memory at 1,000,000 products against at 10,000 (the bound is 1.2; the
// baseline is the median of three runs): each size
// is a first load of products, stock and prices, run in a process of its own (this test binary, started again)
// against the simulators in this one, its fingerprints in an in-memory table this process serves (at a million
// products Azurite would take most of an hour to hold them) and its checkpoints, lock and run log in Azurite.
// The peak is the kernel's (getrusage's ru_maxrss of the finished process). D365SAP_RSS_PRODUCTS overrides the
// larger size for a quick look.
func BenchmarkSyncPeakRSS(b *testing.B) {
	large := 1_000_000
	if v := os.Getenv("D365SAP_RSS_PRODUCTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10_000 {
			b.Fatalf("D365SAP_RSS_PRODUCTS=%q", v)
		}
		large = n
	}
	for i := 0; i < b.N; i++ {
		// The baseline is the median of three small runs: a peak depends on how many pages happen to be in
		// flight at once, which moves with the machine's load (two runs of 10,000 beside a soak peaked at 84
		// and 116 MB), and a small run is cheap.
		var smalls []int64
		var smallTook time.Duration
		for range 3 {
			p, took := childSync(b, 10_000)
			smalls, smallTook = append(smalls, p), smallTook+took
		}
		slices.Sort(smalls)
		small := smalls[1]
		big, bigTook := childSync(b, large)
		b.ReportMetric(float64(small)/(1<<20), "MB-peak-10k")
		b.ReportMetric(float64(big)/(1<<20), fmt.Sprintf("MB-peak-%dk", large/1000))
		b.ReportMetric(float64(big)/float64(small), "peak-RSS-ratio")
		b.Logf("peak RSS: %d products %.1f MB (median of %.1f, %.1f, %.1f; syncs %v in all), %d products %.1f MB (sync %v): %.3f×",
			10_000, float64(small)/(1<<20), float64(smalls[0])/(1<<20), float64(smalls[1])/(1<<20), float64(smalls[2])/(1<<20),
			smallTook.Round(time.Second), large, float64(big)/(1<<20), bigTook.Round(time.Second), float64(big)/float64(small))
	}
}

// childSync loads n products in a child process and returns its peak RSS in bytes and how long the sync took.
func childSync(b *testing.B, n int) (int64, time.Duration) {
	b.Helper()
	sim := sapsim.New(sapsim.Options{Username: "U", Password: "P", Products: n, Plants: []string{"1010", "1020"}, PageSize: 5000})
	defer sim.Quiesce()
	sapSrv := httptest.NewServer(sim)
	defer sapSrv.Close()
	// No service protection limits: this measures memory, and a throttled run is only a slower one.
	lots := dvsim.Limits{Window: time.Minute, Requests: 1 << 30, ExecutionTime: 1 << 62, Concurrent: 1 << 20}
	dv, err := dvsim.Start(dvsim.Options{Clients: map[string]string{"app": "secret"}, Limits: lots})
	if err != nil {
		b.Fatal(err)
	}
	defer dv.Close()
	seedCatalog(b, dv)
	fps := httptest.NewServer(fingerprintServer{store.NewMemTable[inventorysync.Fingerprint]("fingerprints")})
	defer fps.Close()
	acct := storetest.Account(b)
	cfg := childConfig{SAP: sapSrv.URL, Dataverse: dv.URL, Fingerprints: fps.URL, Storage: storetest.ConnectionString(b),
		Table: storetest.Name(b, "rss"), Container: storetest.Name(b, "rss"), Queue: storetest.Name(b, "rssq"), Batch: 1000, Parallel: 8}
	if err := acct.EnsureTable(b.Context(), cfg.Table); err != nil {
		b.Fatal(err)
	}
	if err := acct.EnsureContainer(b.Context(), cfg.Container); err != nil {
		b.Fatal(err)
	}
	if err := acct.EnsureQueue(b.Context(), cfg.Queue); err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	cmd := exec.CommandContext(b.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), syncChildEnv+"="+string(raw))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("the sync of %d products in a child process: %v\n%s", n, err, out.String())
	}
	if out.Len() > 0 {
		b.Logf("%d products, the child said: %s", n, bytes.TrimSpace(out.Bytes()))
	}
	took := time.Since(began)
	if got := dv.Writes("products").Creates; got < n*9/10 {
		b.Fatalf("the child created %d products of %d:\n%s", got, n, out.String())
	}
	if got := dv.Writes("productpricelevels").Creates; got < n*9/10 {
		b.Fatalf("the child created %d price list items for %d products:\n%s", got, n, out.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("this platform reports no peak RSS")
	}
	return ru.Maxrss * 1024, took // Linux reports kilobytes
}

// seedCatalog gives D365 the unit group, units and price list the shipped mapping names.
func seedCatalog(tb testing.TB, dv *dvsim.Running) string {
	tb.Helper()
	group, err := dv.Insert("uomschedules", map[string]any{"name": "Default Unit"})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := dv.Insert("pricelevels", map[string]any{"name": "Default"}); err != nil {
		tb.Fatal(err)
	}
	for _, u := range []string{"Each", "Piece", "Kilogram"} {
		if _, err := dv.Insert("uoms", map[string]any{"name": u, "quantity": json.Number("1"),
			"uomscheduleid@odata.bind": "/uomschedules(" + group + ")"}); err != nil {
			tb.Fatal(err)
		}
	}
	return group
}

// runSyncChild is the child process: it runs the sync until a run completes and exits 0, or prints why not.
func runSyncChild(raw string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Println("child config:", err)
		return 2
	}
	ctx := context.Background()
	fail := func(what string, err error) int { fmt.Printf("%s: %v\n", what, err); return 1 }
	sc, err := sap.New(sap.Options{BaseURL: cfg.SAP, AuthMode: sap.AuthBasic, Username: "U", Password: "P",
		Timeout: time.Minute, MaxResponseBytes: 64 << 20, ReadRetries: 3})
	if err != nil {
		return fail("sap client", err)
	}
	dc, err := dataverse.New(dataverse.Options{URL: cfg.Dataverse, Tokens: &dataverse.ClientSecretSource{AuthorityHost: cfg.Dataverse,
		TenantID: "t", ClientID: "app", ClientSecret: "secret", Scope: dataverse.Scope(cfg.Dataverse)}, Timeout: time.Minute,
		MaxConcurrency: 52, InitialConcurrency: 4, MaxRetries: 4, PageSize: 5000})
	if err != nil {
		return fail("dataverse client", err)
	}
	acct, err := store.NewAccountFromConnectionString(cfg.Storage, nil)
	if err != nil {
		return fail("storage", err)
	}
	state, _ := store.NewTable[json.RawMessage](acct, cfg.Table)
	runRows, _ := store.NewTable[inventorysync.RunEntity](acct, cfg.Table)
	m, err := inventorysync.LoadMapping("")
	if err != nil {
		return fail("mapping", err)
	}
	values, err := valuemap.Load("")
	if err != nil {
		return fail("value maps", err)
	}
	s := &inventorysync.Syncer{
		SAP: inventorysync.SAPSource{Client: sc}, Dataverse: dc, Fingerprints: remoteFingerprints{url: cfg.Fingerprints},
		Checkpoints: checkpoint.Store{Table: state}, Runs: inventorysync.TableRunLog{Rows: runRows},
		Locks:       inventorysync.BlobLocks{Blobs: acct, Container: cfg.Container},
		DeadLetters: inventorysync.DeadLetters{Store: &deadletter.Store{Blobs: acct, Container: cfg.Container}},
		Continue:    inventorysync.QueueContinuer{Queue: acct, Name: cfg.Queue},
		Mapping:     m, Units: values.Must(valuemap.Units), BatchSize: cfg.Batch, Parallel: cfg.Parallel,
		Overlap: 10 * time.Minute, Budget: 2 * time.Hour,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now, Ready: func(context.Context) error { return nil },
	}
	if path := os.Getenv("D365SAP_SYNC_CHILD_PROFILE"); path != "" {
		done := make(chan struct{})
		stopped := make(chan struct{})
		go func() { profileHeapPeaks(path, done); close(stopped) }()
		defer func() { close(done); <-stopped }()
	}
	sum, err := s.Run(ctx, "rss-child", "timer")
	if err != nil {
		return fail("sync", err)
	}
	if sum.Outcome != inventorysync.Complete {
		fmt.Printf("sync ended %s: %+v\n", sum.Outcome, sum)
		return 1
	}
	return 0
}

// fingerprintServer serves an in-memory table to a child's remoteFingerprints.
type fingerprintServer struct {
	t *store.MemTable[inventorysync.Fingerprint]
}

type fpRequest struct {
	PK, RK string
	Opts   *store.QueryOptions
	Ops    []store.Op[inventorysync.Fingerprint]
}

func (s fingerprintServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req fpRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var out any
	switch r.URL.Path {
	case "/get":
		row, err := s.t.Get(r.Context(), req.PK, req.RK)
		if errors.Is(err, store.ErrNotFound) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out = row
	case "/query":
		// One page, as Table Storage answers: a reader that stops early has not had the rest read for it.
		limit := 1000
		if req.Opts != nil && req.Opts.PageSize > 0 {
			limit = int(req.Opts.PageSize)
		}
		page := fpPage{Rows: []store.Row[inventorysync.Fingerprint]{}}
		for row, err := range s.t.Query(r.Context(), req.PK, req.Opts) {
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if len(page.Rows) == limit {
				page.Next = row.RowKey
				break
			}
			page.Rows = append(page.Rows, row)
		}
		out = page
	case "/transact":
		if err := s.t.Transact(r.Context(), req.PK, req.Ops); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out = struct{}{}
	default:
		http.NotFound(w, r)
		return
	}
	json.NewEncoder(w).Encode(out)
}

// fpPage is one page of a query: its rows, and the row key the next page starts at ("" after the last).
type fpPage struct {
	Rows []store.Row[inventorysync.Fingerprint]
	Next string
}

// remoteFingerprints is inventorysync.Fingerprints over a fingerprintServer.
type remoteFingerprints struct{ url string }

var fpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func (f remoteFingerprints) call(ctx context.Context, path string, req fpRequest, out any) error {
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := fpClient.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return json.NewDecoder(resp.Body).Decode(out)
	case http.StatusNotFound:
		return fmt.Errorf("fingerprint %s/%s: %w", req.PK, req.RK, store.ErrNotFound)
	}
	msg, _ := io.ReadAll(resp.Body)
	return fmt.Errorf("fingerprints %s: %s", path, bytes.TrimSpace(msg))
}

func (f remoteFingerprints) Get(ctx context.Context, pk, rk string) (store.Row[inventorysync.Fingerprint], error) {
	var row store.Row[inventorysync.Fingerprint]
	err := f.call(ctx, "/get", fpRequest{PK: pk, RK: rk}, &row)
	return row, err
}

func (f remoteFingerprints) Query(ctx context.Context, pk string, o *store.QueryOptions) iter.Seq2[store.Row[inventorysync.Fingerprint], error] {
	return func(yield func(store.Row[inventorysync.Fingerprint], error) bool) {
		opts := store.QueryOptions{}
		if o != nil {
			opts = *o
		}
		for {
			var page fpPage
			if err := f.call(ctx, "/query", fpRequest{PK: pk, Opts: &opts}, &page); err != nil {
				yield(store.Row[inventorysync.Fingerprint]{}, err)
				return
			}
			for _, row := range page.Rows {
				if !yield(row, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			opts.RowKeyFrom = page.Next
		}
	}
}

func (f remoteFingerprints) Transact(ctx context.Context, pk string, ops []store.Op[inventorysync.Fingerprint]) error {
	var out struct{}
	return f.call(ctx, "/transact", fpRequest{PK: pk, Ops: ops}, &out)
}

// profileHeapPeaks writes a heap profile to path each time the heap grows past a tenth more than its largest
// so far, and prints the largest heap, stack and goroutine counts when the run ends: with
// D365SAP_SYNC_CHILD_PROFILE set, the child shows what its peak is made of.
func profileHeapPeaks(path string, done <-chan struct{}) {
	var peak, sys, stack uint64
	goroutines := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			fmt.Printf("child peaks: heap in use %d MB, heap from the OS %d MB, stacks %d MB, goroutines %d\n",
				peak>>20, sys>>20, stack>>20, goroutines)
			return
		case <-tick.C:
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		sys, stack, goroutines = max(sys, ms.HeapSys-ms.HeapReleased), max(stack, ms.StackInuse), max(goroutines, runtime.NumGoroutine())
		if ms.HeapInuse > peak+peak/10 {
			peak = ms.HeapInuse
			if f, err := os.Create(path); err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}
}
