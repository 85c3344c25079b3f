package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// make run's script brings /api/health up under the stand-in, prints a request that works, and stops everything
// it started on Ctrl-C. Ports are free ones here so the test can run beside a real make run.
func TestLocalRunScript(t *testing.T) {
	Storage(t) // runs with the storage tests: under with-azurite, and always in CI
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dist := Layout(t, "")
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	ports := []int{freePort(t), freePort(t), freePort(t)}
	cmd := exec.Command("bash", filepath.Join(root, "infra", "local", "run"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "RUN_ADDR="+addr, "DIST="+dist, "RUN_STANDIN=1",
		"AZURITE_LOCATION="+t.TempDir(),
		fmt.Sprintf("AZURITE_BLOB_PORT=%d", ports[0]), fmt.Sprintf("AZURITE_QUEUE_PORT=%d", ports[1]),
		fmt.Sprintf("AZURITE_TABLE_PORT=%d", ports[2]),
		// The simulators, when present, must not collide with a developer's own run either.
		fmt.Sprintf("SAPSIM_ADDR=127.0.0.1:%d", freePort(t)), fmt.Sprintf("DVSIM_ADDR=127.0.0.1:%d", freePort(t)))
	var out Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// Whatever happened, leave nothing running: the whole group goes.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("run output:\n%s", out.String())
		}
	})

	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("the script exited before /api/health answered: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("/api/health did not answer 200 within 3 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The banner comes after the health check passes; give the script a moment to print it.
	want := "curl -s http://" + addr + "/api/health"
	for i := 0; i < 50 && !strings.Contains(out.String(), want); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(out.String(), want) {
		t.Errorf("the script did not print the sample request %q", want)
	}

	// Ctrl-C: SIGINT to the script.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the script did not stop within 30 s of Ctrl-C")
	}
	for _, p := range append(ports, mustPort(t, addr)) {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still open after Ctrl-C", p)
		}
	}
}

func mustPort(t *testing.T, addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
