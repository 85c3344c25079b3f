package dataverse_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/shared/dataverse"
)

// BenchmarkProductUpdatesAtCeiling writes 100k product updates into the simulator configured with
// Dataverse's limits scaled in time (a 4 s window instead of 300 s: 80 requests and 16 s of execution time
// per window, 52 concurrent), each row costing 0.5 ms of server time. The baseline is the ceiling the limits
// allow, measured in the same run:
//   - exec/ceiling: server execution time charged after the first window, divided by what the execution-time
//     limit allows over that span (the first window is excluded: it starts empty and allows a free burst);
//   - exec/ceiling-total: all execution time over limit × (elapsed/window + 1), the most a sliding window
//     starting empty allows;
//   - 429s: throttled responses the client received;
//   - requests/min: HTTP requests sent (retries included) over the fewest possible (100 bulk requests of 1000);
//   - peak-window/limit: the most execution time one window held over the limit; above 1 by the overshoot
//     that after-the-fact evaluation lets requests already in flight make (Dataverse behaves alike).
//
// The simulator advertises x-ms-dop-hint 8; run with -benchtime=1x (one run takes about 12 s).
func BenchmarkProductUpdatesAtCeiling(b *testing.B) {
	const (
		n       = 100_000
		chunk   = 1000
		perRow  = 500 * time.Microsecond
		window  = 4 * time.Second
		dopHint = 8
	)
	limits := dvsim.RealLimits().Scaled(window)
	limits.DOPHint = dopHint
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sim, err := dvsim.Start(dvsim.Options{Limits: limits, Costs: dvsim.Costs{Write: perRow},
			Clients: map[string]string{"bench": "secret"}})
		if err != nil {
			b.Fatal(err)
		}
		ids := make([]string, n)
		for j := range ids {
			id, err := sim.Insert("products", map[string]any{"name": "p", "productnumber": fmt.Sprintf("MAT-%06d", j)})
			if err != nil {
				b.Fatal(err)
			}
			ids[j] = id
		}
		o := testOptions(sim.URL, &dataverse.ClientSecretSource{AuthorityHost: sim.URL, TenantID: "t", ClientID: "bench",
			ClientSecret: "secret", Scope: dataverse.Scope(sim.URL)})
		o.HTTPClient, o.Timeout = &http.Client{Transport: http.DefaultTransport}, 2*time.Minute
		client, err := dataverse.New(o)
		if err != nil {
			b.Fatal(err)
		}
		recs := make([]dataverse.Record, n)
		for j := range recs {
			recs[j] = dataverse.Record{"productid": ids[j], "quantityonhand": json.Number(fmt.Sprintf("%d.25", j))}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
		b.StartTimer()

		began := time.Now()
		atWindow := make(chan time.Duration, 1)
		go func() {
			select {
			case <-time.After(window):
				atWindow <- sim.Stats()["bench"].ExecutionTime
			case <-ctx.Done():
				atWindow <- 0
			}
		}()
		_, err = client.UpdateMultiple(ctx, "products", recs, &dataverse.BulkOptions{ChunkSize: chunk})
		elapsed := time.Since(began)
		cancel()
		b.StopTimer()
		if err != nil {
			b.Fatalf("UpdateMultiple: %v", err)
		}
		execFirst := <-atWindow
		st := sim.Stats()["bench"]
		cs := client.Stats()
		if got, _ := sim.Get("products", ids[n-1]); got["quantityonhand"] != json.Number(fmt.Sprintf("%d.25", n-1)) {
			b.Fatalf("last product not updated: %v", got["quantityonhand"])
		}
		rate := float64(limits.ExecutionTime) / float64(limits.Window) // server seconds per second allowed
		sustained := float64(st.ExecutionTime-execFirst) / (rate * float64(elapsed-window))
		total := float64(st.ExecutionTime) / (float64(limits.ExecutionTime) * (float64(elapsed)/float64(window) + 1))
		minimum := float64((n + chunk - 1) / chunk)
		b.ReportMetric(sustained, "exec/ceiling")
		b.ReportMetric(total, "exec/ceiling-total")
		b.ReportMetric(float64(cs.Throttled), "429s")
		b.ReportMetric(float64(cs.Attempts)/minimum, "requests/min")
		b.ReportMetric(float64(st.PeakWindowExecution)/float64(limits.ExecutionTime), "peak-window/limit")
		b.ReportMetric(elapsed.Seconds(), "s/run")
		b.Logf("elapsed %v, server time %v (%v in the first window), attempts %d, 429s %d (sim: %v), concurrency %d",
			elapsed.Round(time.Millisecond), st.ExecutionTime, execFirst, cs.Attempts, cs.Throttled, st.Throttled, cs.Concurrency)
		sim.Close()
	}
}
