package orderpush_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/infra/local/sapsim/simtest"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// benchPushes is how many distinct orders one round of a sub-benchmark pushes; b.N rounds are run.
var benchPushes = map[int]int{1: 150, 16: 400, 64: 400}

// BenchmarkOrderPush measures pushes per second and latency through the host stand-in (real handler, Azurite,
// zero-latency simulators) at three concurrencies, against a ceiling measured in the same run at the same
// concurrency: the external work a push needs done directly against the simulators (the Dataverse read of the
// order, the SAP lookup and create, the Dataverse write-back), without the host, the handler or storage.
// ratio = pushes/s ÷ ceiling/s is the share of the simulators' rate that the whole function achieves.
func BenchmarkOrderPush(b *testing.B) {
	vm, err := valuemap.Load("")
	if err != nil {
		b.Fatal(err)
	}
	mapping, err := orderpush.LoadMapping("", vm)
	if err != nil {
		b.Fatal(err)
	}
	round := 0
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			// Fresh simulators for each concurrency: a sales-order read in the SAP simulator costs more the more orders
			// it holds, so each run and its ceiling start from the same empty state. The ceiling runs against twins.
			w := newLoadWorld(b, nil)
			twin := newLoadSims(b)
			sc, dc := directClients(b, twin)
			n := benchPushes[conc]
			var pushRate, ceilRate float64
			var lat []time.Duration
			for i := 0; i < b.N; i++ {
				round++
				b.StopTimer()
				tag := fmt.Sprintf("B%d", round)
				ids := w.seedOrders(b, tag, n)
				ceilIDs := twin.seedOrders(b, tag, n)
				ceil := runParallel(b, conc, n, func(ctx context.Context, i int) error {
					return directPush(ctx, sc, dc, mapping, ceilIDs[i])
				})
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
		})
	}
}

// directClients are the SAP and Dataverse clients as main builds them from the example settings.
func directClients(b *testing.B, s *loadSims) (*sap.Client, *dataverse.Client) {
	b.Helper()
	sc, err := sap.New(sap.Options{BaseURL: s.sapURL, Username: simtest.Username, Password: simtest.Password, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	dc, err := dataverse.New(dataverse.Options{URL: s.dv.URL, Timeout: 30 * time.Second, MaxConcurrency: 52, InitialConcurrency: 4,
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
		wg.Add(1)
		go func() {
			defer wg.Done()
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
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return parallelResult{rate: float64(n) / elapsed.Seconds(), latencies: lat}
}

// directPush does the simulators' part of a push and nothing else: the same Dataverse read as the function
// (order, lines with product numbers and units, the customer's account number), the mapping, the SAP lookup and
// create, and the write-back of the SAP number.
func directPush(ctx context.Context, sc *sap.Client, dc *dataverse.Client, m *orderpush.Mapping, id string) error {
	rec, err := dc.Retrieve(ctx, "salesorders", dataverse.ID(id), &dataverse.RetrieveOptions{
		Select: []string{"ordernumber", "name", "requestdeliveryby", "paymenttermscode"},
		Expand: []string{
			"order_details($select=quantity,lineitemnumber;$expand=productid($select=productnumber),uomid($select=name))",
			"customerid_account($select=accountnumber)",
		},
	})
	if err != nil {
		return fmt.Errorf("reading order %s: %w", id, err)
	}
	o := &orderpush.Order{SalesOrderID: id, OrderNumber: rec.String("ordernumber"),
		CustomerAccountNumber: rec.Record("customerid_account").String("accountnumber"),
		PaymentTerms:          string(rec.Number("paymenttermscode")), RequestedDeliveryDate: rec.String("requestdeliveryby")}
	if t, err := time.Parse(time.RFC3339, o.RequestedDeliveryDate); err == nil {
		o.RequestedDeliveryDate = t.UTC().Format(time.DateOnly)
	}
	for _, l := range rec.Records("order_details") {
		o.Lines = append(o.Lines, orderpush.OrderLine{ProductNumber: l.Record("productid").String("productnumber"),
			Quantity: l.Number("quantity"), Unit: l.Record("uomid").String("name")})
	}
	ref, err := m.Reference.For(o)
	if err != nil {
		return fmt.Errorf("referencing order %s: %w", id, err)
	}
	payload, err := m.Map(ctx, o, ref, nil)
	if err != nil {
		return fmt.Errorf("mapping order %s: %w", id, err)
	}
	found, err := sc.FindSalesOrders(ctx, payload.PurchaseOrderByCustomer, payload.SoldToParty)
	if err != nil {
		return fmt.Errorf("looking up order %s: %w", id, err)
	}
	if len(found) > 0 {
		return fmt.Errorf("order %s is in SAP before its create", id)
	}
	so, err := sc.CreateSalesOrder(ctx, payload)
	if err != nil {
		return fmt.Errorf("creating order %s: %w", id, err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	wb := m.WriteBack
	up := dataverse.Record{}
	for col, v := range map[string]string{wb.SAPNumberColumn: so.SalesOrder, wb.StatusDescriptionColumn: "Created in SAP as sales order " + so.SalesOrder,
		wb.SubmitDateColumn: now, wb.LastBackOfficeSubmitColumn: now} {
		if col != "" {
			up[col] = v
		}
	}
	if _, err := dc.Update(ctx, "salesorders", dataverse.ID(id), up, nil); err != nil {
		return fmt.Errorf("writing back order %s: %w", id, err)
	}
	return nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
