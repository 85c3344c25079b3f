package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// peakRSS reads VmHWM, the process's resident-set high-water mark, in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// BenchmarkColdStart starts the real handler as the Functions host does (exec, then GET / until it answers) and,
// alternating in the same run, a bare net/http server started the same way. It reports both times, their ratio
// (goal: at most 1.5) and both peak RSS high-water marks once GET / answered (goal: handler under 25 MB).
func BenchmarkColdStart(b *testing.B) {
	handler, bare := binaries(b)
	s := exampleSettings(b)
	// No storage call happens at start-up, so any well-formed connection string will do here.
	s["AzureWebJobsStorage"] = "UseDevelopmentStorage=true"
	const rounds = 20
	var hTotal, bTotal time.Duration
	var hRSS, bRSS int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			p, d := startAsHost(b, bare, s)
			bTotal += d
			if v, err := peakRSS(p.cmd.Process.Pid); err == nil && v > bRSS {
				bRSS = v
			}
			_ = p.cmd.Process.Kill()
			<-p.exited

			p, d = startAsHost(b, handler, s)
			hTotal += d
			if v, err := peakRSS(p.cmd.Process.Pid); err == nil && v > hRSS {
				hRSS = v
			}
			p.stop(b)
		}
	}
	n := float64(b.N * rounds)
	hMs := float64(hTotal.Microseconds()) / 1000 / n
	bMs := float64(bTotal.Microseconds()) / 1000 / n
	b.ReportMetric(hMs, "handler-ms/start")
	b.ReportMetric(bMs, "bare-ms/start")
	b.ReportMetric(hMs/bMs, "start-ratio")
	b.ReportMetric(float64(hRSS)/(1<<20), "handler-peak-MB")
	b.ReportMetric(float64(bRSS)/(1<<20), "bare-peak-MB")
	b.ReportMetric(0, "ns/op")
}
