package funchost

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxStandInRSS is what the stand-in may peak at while uploads far larger pass through it: its own working set,
// and nothing that grows with a body.
const maxStandInRSS = 64 << 20

// The stand-in refuses bodies over the host's 100 MiB with 413 and streams the ones within it into the invocation,
// so its memory does not grow with uploads. It runs as its own process (cmd/funchost, built without the race
// detector) and its peak resident set is read from /proc/<pid>/status VmHWM once the uploads are done: a high-water
// mark the kernel keeps, so no sampling can miss a peak, and the test's own allocations do not count.
func TestLargeUploadsKeepTheStandInsMemoryFlat(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("VmHWM is read from /proc")
	}
	bin := filepath.Join(t.TempDir(), "funchost")
	build := exec.Command("go", "build", "-o", bin, "./cmd/funchost")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/funchost: %v\n%s", err, out)
	}
	dist := makeDist(t, "http", hostJSON(false), testHandler(t))
	settings := filepath.Join(t.TempDir(), "local.settings.json")
	if err := os.WriteFile(settings, []byte(`{"Values":{"FUNCTIONS_WORKER_RUNTIME":"Custom"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var out syncBuffer
	cmd := exec.Command(bin, "-dist", dist, "-settings", settings, "-addr", addr)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("stand-in output:\n%s", out.String())
		}
	})
	waitUp(t, "http://"+addr+"/", exited)
	idle := vmHWM(t, cmd.Process.Pid)

	const limit = 100 << 20 // ScriptConstants.DefaultMaxRequestBodySize
	tests := []struct {
		name    string
		size    int64
		chunked bool
		status  int
	}{
		{"101 MiB with Content-Length", limit + 1<<20, false, http.StatusRequestEntityTooLarge},
		{"101 MiB chunked", limit + 1<<20, true, http.StatusRequestEntityTooLarge},
		{"48 MiB within the limit", 48 << 20, false, http.StatusOK},
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+addr+"/api/size",
				io.LimitReader(repeatByte('z'), tt.size))
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tt.size
			if tt.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", "text/plain")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %.200s", resp.StatusCode, tt.status, b)
			}
			if tt.status == http.StatusOK {
				var got sizeAnswer
				if err := json.Unmarshal(b, &got); err != nil || int64(got.Bytes) != tt.size {
					t.Errorf("the function got %s (%v), want %d bytes", b, err, tt.size)
				}
			}
		})
	}
	peak := vmHWM(t, cmd.Process.Pid)
	t.Logf("stand-in VmHWM: %.1f MiB idle, %.1f MiB after the uploads (limit %d MiB)",
		float64(idle)/(1<<20), float64(peak)/(1<<20), maxStandInRSS>>20)
	if peak > maxStandInRSS {
		t.Errorf("the stand-in's peak RSS was %.1f MiB, over %d MiB: it buffers bodies", float64(peak)/(1<<20), maxStandInRSS>>20)
	}
}

type repeatByte byte

func (r repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitUp polls the stand-in's landing page until it answers, failing if the process ends first.
func waitUp(t *testing.T, url string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("the stand-in exited before answering: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the stand-in did not answer within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// vmHWM is the process's peak resident set in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("reading VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}
