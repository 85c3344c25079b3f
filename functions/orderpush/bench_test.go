package orderpush_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/infra/local/sapsim/simtest"
	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// benchPushes is how many distinct orders one round of a sub-benchmark pushes; b.N rounds are run.
var benchPushes = map[int]int{1: 150, 16: 400, 64: 400}

// BenchmarkOrderPush measures pushes per second and latency through the host stand-in (real handler, Azurite,
// zero-latency simulators) at three concurrencies, and the storage round trips each push makes (the handler
// reaches Azurite through a counting proxy; the host polls queues directly, uncounted). Its ceiling is measured
// in the same run at the same concurrency: the external work a push needs done directly — the Dataverse read of
// the order, the SAP create, the Dataverse write-back — plus the same five storage operations done bare against
// Azurite (the claim insert, the safety-net message, the link row, the entry update with its audit row in one
// transaction, the archive blob). ratio = pushes/s ÷ ceiling/s is the push's own overhead.
func BenchmarkOrderPush(b *testing.B) {
	values, err := valuemap.Load("")
	if err != nil {
		b.Fatal(err)
	}
	mapping, err := orderpush.LoadMapping("", values)
	if err != nil {
		b.Fatal(err)
	}
	acc := storetest.Account(b)
	bare, err := newBareStorage(b, acc)
	if err != nil {
		b.Fatal(err)
	}
	round := 0
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			// Fresh simulators for each concurrency, so each run and its ceiling start from the same empty state.
			proxy := startCountingProxy(b, storetest.ConnectionString(b))
			w := newLoadWorldThrough(b, proxy)
			twin := newLoadSims(b)
			sc, dc := directClients(b, twin)
			n := benchPushes[conc]
			w.warmUp(b)
			var pushRate, ceilRate float64
			var lat []time.Duration
			var trips, pushes int64
			for i := 0; i < b.N; i++ {
				round++
				b.StopTimer()
				tag := fmt.Sprintf("B%d", round)
				ids := w.seedOrders(b, tag, n)
				ceilIDs := twin.seedOrders(b, tag, n)
				ceil := runParallel(b, conc, n, func(ctx context.Context, i int) error {
					return directPush(ctx, sc, dc, mapping, bare, ceilIDs[i])
				})
				before := proxy.count()
				b.StartTimer()
				res := runParallel(b, conc, n, func(ctx context.Context, i int) error {
					a, err := (&caller{w: w, tally: newTally()}).do(ctx, http.MethodPost, w.app.URL("/api/orders"), []byte(`{"salesorderid":"`+ids[i]+`"}`))
					if err != nil {
						return err
					}
					if a.status != http.StatusCreated || a.state != "written-back" {
						return fmt.Errorf("push of %s: %d %s", ids[i], a.status, a.body)
					}
					return nil
				})
				b.StopTimer()
				trips += proxy.count() - before
				pushes += int64(n)
				pushRate += res.rate
				ceilRate += ceil.rate
				lat = append(lat, res.latencies...)
			}
			slices.Sort(lat)
			pushRate /= float64(b.N)
			ceilRate /= float64(b.N)
			b.ReportMetric(pushRate, "pushes/s")
			b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
			b.ReportMetric(ceilRate, "ceiling/s")
			b.ReportMetric(pushRate/ceilRate, "ratio")
			b.ReportMetric(float64(trips)/float64(pushes), "storage-rt/push")
			b.Logf("storage requests by kind: %v", proxy.kinds())
		})
	}
}

// newLoadWorldThrough is a load world whose handler reaches storage through proxy.
func newLoadWorldThrough(b *testing.B, proxy *countingProxy) *loadWorld {
	b.Helper()
	return newLoadWorldWith(b, nil, nil, map[string]string{"AzureWebJobsStorage": proxy.conn})
}

// warmUp pushes a few orders so the one-time work (provisioning tables and queues, CSRF tokens, connections,
// the units of the materials) is out of the way before anything is counted.
func (w *loadWorld) warmUp(b *testing.B) {
	b.Helper()
	ids := w.seedOrders(b, "WARM", len(w.products))
	runParallel(b, 8, len(ids), func(ctx context.Context, i int) error {
		_, err := (&caller{w: w, tally: newTally()}).do(ctx, http.MethodPost, w.app.URL("/api/orders"), []byte(`{"salesorderid":"`+ids[i]+`"}`))
		return err
	})
}

// directClients are the SAP and Dataverse clients as main builds them from the example settings.
func directClients(b *testing.B, s *loadSims) (*sap.Client, *dataverse.Client) {
	b.Helper()
	sc, err := sap.New(sap.Options{BaseURL: s.sapURL, AuthMode: sap.AuthBasic, Username: simtest.Username, Password: simtest.Password,
		Timeout: 5 * time.Second, MaxResponseBytes: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	dc, err := dataverse.New(dataverse.Options{URL: s.dv.URL, Timeout: 30 * time.Second, MaxConcurrency: 52, InitialConcurrency: 4,
		MaxRetries: 6, PageSize: 500,
		Tokens: &dataverse.ClientSecretSource{AuthorityHost: s.dv.URL, TenantID: "00000000-0000-0000-0000-000000000001",
			ClientID: dvClient, ClientSecret: dvSecret, Scope: dataverse.Scope(s.dv.URL)}})
	if err != nil {
		b.Fatal(err)
	}
	return sc, dc
}

type parallelResult struct {
	rate      float64         // operations per second over the whole run
	latencies []time.Duration // one per operation
}

// runParallel runs op for 0..n-1 on conc goroutines and fails the benchmark on the first error.
func runParallel(b *testing.B, conc, n int, op func(ctx context.Context, i int) error) parallelResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, i); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return parallelResult{rate: float64(n) / elapsed.Seconds(), latencies: lat}
}

// bareStorage does a push's storage operations with no logic around them.
type bareStorage struct {
	acc       *store.Account
	table     *store.Table[json.RawMessage]
	queue     string
	container string
}

func newBareStorage(b *testing.B, acc *store.Account) (*bareStorage, error) {
	s := &bareStorage{acc: acc, queue: storetest.Name(b, "bare-"), container: storetest.Name(b, "bare-")}
	var err error
	if s.table, err = store.NewTable[json.RawMessage](acc, storetest.Name(b, "bare")); err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := s.table.Ensure(ctx); err != nil {
		return nil, err
	}
	if err := acc.EnsureQueue(ctx, s.queue); err != nil {
		return nil, err
	}
	return s, acc.EnsureContainer(ctx, s.container)
}

func (s *bareStorage) push(ctx context.Context, id, number string, entry, audit []byte) error {
	etag, err := s.table.Insert(ctx, store.Row[json.RawMessage]{PartitionKey: id, RowKey: "ledger-salesorder", Value: entry})
	if err != nil {
		return err
	}
	if _, err := s.acc.Enqueue(ctx, s.queue, []byte(`{"salesorderid":"`+id+`","action":"push"}`), nil); err != nil {
		return err
	}
	if _, err := s.table.Upsert(ctx, store.Row[json.RawMessage]{PartitionKey: "link-salesorder-" + number, RowKey: "link", Value: json.RawMessage(`{"key":"` + id + `"}`)}); err != nil {
		return err
	}
	if _, err := s.table.TransactETags(ctx, id, []store.Op[json.RawMessage]{
		{Kind: store.OpUpdate, Row: store.Row[json.RawMessage]{PartitionKey: id, RowKey: "ledger-salesorder", ETag: etag, Value: entry}},
		{Kind: store.OpUpsert, Row: store.Row[json.RawMessage]{PartitionKey: id, RowKey: "audit-" + number, Value: audit}},
	}); err != nil {
		return err
	}
	_, err = s.acc.PutBlob(ctx, s.container, "salesorder/"+id+"/created.json.gz", entry, nil)
	return err
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
