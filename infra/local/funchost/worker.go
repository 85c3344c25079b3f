package funchost

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
)

// The host waits about 30 s for a new worker to answer and asks every 50 ms.
const (
	defaultReadyTimeout = 30 * time.Second
	readyPoll           = 50 * time.Millisecond
	stopGrace           = 5 * time.Second
	maxRestartDelay     = 30 * time.Second
	tailLines           = 40
)

// worker runs the custom handler's process, restarts it when it dies and tells callers where it listens.
type worker struct {
	cfg          appConfig
	env          []string
	log          *slog.Logger
	output       io.Writer // the handler's stdout and stderr lines go here; nil: to log
	outputMu     *sync.Mutex
	readyTimeout time.Duration
	client       *http.Client // for readiness probes

	mu      sync.Mutex
	port    int
	ready   chan struct{} // closed once the current process answers
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the current process has exited
	closing bool
	tail    []string

	done chan struct{} // closed when the supervisor has stopped
}

func newWorker(cfg appConfig, settings map[string]string, log *slog.Logger, output io.Writer, readyTimeout time.Duration) *worker {
	env := os.Environ()
	for k, v := range settings {
		if !isHostSecret(k) {
			env = append(env, k+"="+v)
		}
	}
	if readyTimeout <= 0 {
		readyTimeout = defaultReadyTimeout
	}
	return &worker{
		cfg: cfg, env: env, log: log, output: output, outputMu: &sync.Mutex{}, readyTimeout: readyTimeout,
		client: &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
		ready:  make(chan struct{}), done: make(chan struct{}),
	}
}

// start launches the first process and waits until it answers; then a supervisor restarts it whenever it dies,
// until stop is called.
func (w *worker) start(ctx context.Context) error {
	if err := w.launch(ctx); err != nil {
		close(w.done)
		return err
	}
	go w.supervise()
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port for the handler: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts one process and waits for its readiness.
func (w *worker) launch(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	exe := w.cfg.executable
	if !filepath.IsAbs(exe) {
		exe = filepath.Join(w.cfg.root, exe)
	}
	cmd := exec.Command(exe, w.cfg.arguments...)
	cmd.Dir = w.cfg.root
	if w.cfg.workingDir != "" {
		cmd.Dir = filepath.Join(w.cfg.root, w.cfg.workingDir)
	}
	id := uuid.NewString()
	cmd.Env = append(append([]string{}, w.env...),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port),
		"FUNCTIONS_HTTPWORKER_PORT="+strconv.Itoa(port),
		"FUNCTIONS_CUSTOMHANDLER_WORKER_ID="+id,
		"FUNCTIONS_HTTPWORKER_ID="+id,
		"FUNCTIONS_APP_ROOT_PATH="+w.cfg.root,
	)
	// Its own process group, so that stopping it also stops anything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("starting the handler %s: %w", exe, err)
	}
	exited := make(chan struct{})
	go w.copyOutput(pr)
	go func() {
		err := cmd.Wait()
		pw.Close()
		w.log.Info("handler process exited", "pid", cmd.Process.Pid, "status", exitStatus(err))
		close(exited)
	}()
	w.mu.Lock()
	w.port, w.cmd, w.exited = port, cmd, exited
	ready := w.ready
	w.mu.Unlock()
	w.log.Info("handler process started", "pid", cmd.Process.Pid, "port", port, "worker_id", id)

	if err := w.waitReady(ctx, port, exited); err != nil {
		w.kill(cmd, exited)
		return fmt.Errorf("waiting for the handler to answer on port %d: %w; its last output:\n%s", port, err, w.lastOutput())
	}
	close(ready)
	return nil
}

func exitStatus(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String()
	}
	if err != nil {
		return err.Error()
	}
	return "exit status 0"
}

// waitReady asks GET / until any HTTP answer comes back, as the host does.
func (w *worker) waitReady(ctx context.Context, port int, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, w.readyTimeout)
	defer cancel()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := w.client.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer within %s: %w", w.readyTimeout, ctx.Err())
		case <-exited:
			return errors.New("the process exited before answering")
		case <-time.After(readyPoll):
		}
	}
}

func (w *worker) copyOutput(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		w.mu.Lock()
		w.tail = append(w.tail, line)
		if len(w.tail) > tailLines {
			w.tail = w.tail[len(w.tail)-tailLines:]
		}
		w.mu.Unlock()
		if w.output != nil {
			w.outputMu.Lock()
			fmt.Fprintln(w.output, line)
			w.outputMu.Unlock()
		} else {
			w.log.Info("handler output", "line", line)
		}
	}
	io.Copy(io.Discard, r)
}

func (w *worker) lastOutput() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.tail, "\n")
}

// supervise restarts the process each time it exits, waiting longer after each quick failure.
func (w *worker) supervise() {
	defer close(w.done)
	// stop may come while a restart is under way: whatever process is current when supervision ends goes too.
	defer func() {
		w.mu.Lock()
		cmd, exited := w.cmd, w.exited
		w.mu.Unlock()
		select {
		case <-exited:
		default:
			w.kill(cmd, exited)
		}
	}()
	delay := time.Second
	for {
		w.mu.Lock()
		exited, closing := w.exited, w.closing
		w.mu.Unlock()
		if closing {
			return
		}
		started := time.Now()
		<-exited
		w.mu.Lock()
		if w.closing {
			w.mu.Unlock()
			return
		}
		w.ready = make(chan struct{})
		w.mu.Unlock()
		if time.Since(started) > maxRestartDelay {
			delay = time.Second
		}
		w.log.Warn("handler process died; restarting", "after", delay.String(), "last_output", w.lastOutput())
		for {
			time.Sleep(delay)
			delay = min(2*delay, maxRestartDelay)
			w.mu.Lock()
			closing := w.closing
			w.mu.Unlock()
			if closing {
				return
			}
			if err := w.launch(context.Background()); err != nil {
				w.log.Error("restarting the handler", "err", err.Error())
				continue
			}
			break
		}
	}
}

func (w *worker) kill(cmd *exec.Cmd, exited <-chan struct{}) {
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopGrace):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
	}
}

// killNow ends the current process with SIGKILL, as an out-of-memory kill or a host crash would: no signal
// to catch, no cleanup. The supervisor restarts it as it restarts any process that dies.
func (w *worker) killNow() (int, error) {
	w.mu.Lock()
	cmd, exited := w.cmd, w.exited
	w.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0, errors.New("no handler process")
	}
	select {
	case <-exited:
		return 0, errors.New("the handler process has already exited")
	default:
	}
	pid := cmd.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		return pid, fmt.Errorf("killing the handler process %d: %w", pid, err)
	}
	<-exited
	return pid, nil
}

// stop ends the process and the supervisor.
func (w *worker) stop() {
	w.mu.Lock()
	w.closing = true
	cmd, exited := w.cmd, w.exited
	w.mu.Unlock()
	if cmd != nil {
		w.kill(cmd, exited)
	}
	<-w.done
}

// endpoint waits until a process answers and returns its base URL.
func (w *worker) endpoint(ctx context.Context) (string, error) {
	w.mu.Lock()
	ready, port := w.ready, w.port
	w.mu.Unlock()
	select {
	case <-ready:
		w.mu.Lock()
		port = w.port
		w.mu.Unlock()
		return "http://127.0.0.1:" + strconv.Itoa(port), nil
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for the handler: %w", ctx.Err())
	}
}
