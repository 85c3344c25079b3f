package funchost

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkHostOverhead measures what the stand-in adds to one HTTP call: the same request to the same test handler,
// once straight to the handler (the baseline, measured in the same run) and once through the host, wrapped or
// forwarded. The figure is the ratio host/direct.
func BenchmarkHostOverhead(b *testing.B) {
	exe := testHandler(b)
	for _, forward := range []bool{false, true} {
		name := "wrapped"
		if forward {
			name = "forwarded"
		}
		b.Run(name, func(b *testing.B) {
			dist := makeDist(b, "http", hostJSON(forward), exe)
			h, err := New(Options{Dist: dist, Addr: "127.0.0.1:0", Settings: map[string]string{SettingWorkerRT: "Custom"}})
			if err != nil {
				b.Fatal(err)
			}
			if err := h.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer h.Close()
			direct, err := h.worker.endpoint(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
			call := func(req *http.Request) {
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			// The baseline is the request the host itself would send to the handler.
			directReq := func() *http.Request {
				if forward {
					r, _ := http.NewRequest("GET", direct+"/api/hello/bench", nil)
					return r
				}
				body := `{"Data":{"req":{"Url":"http://x/api/hello/bench","Method":"GET","Query":{},"Headers":{},"Params":{"name":"bench"},"Identities":[]}},"Metadata":{}}`
				r, _ := http.NewRequest("POST", direct+"/hello", strings.NewReader(body))
				return r
			}
			hostReq := func() *http.Request {
				r, _ := http.NewRequest("GET", "http://"+h.Addr()+"/api/hello/bench?code="+DefaultFunctionKey, nil)
				return r
			}
			call(directReq()) // warm both paths' connections
			call(hostReq())
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				call(directReq())
			}
			baseline := time.Since(start)
			start = time.Now()
			for range b.N {
				call(hostReq())
			}
			through := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(through)/float64(baseline), "host/direct")
			b.ReportMetric(0, "ns/op") // absolute times depend on the machine; the ratio is the figure
		})
	}
}
