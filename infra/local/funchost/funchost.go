// Package funchost is a local stand-in for the Azure Functions host running a custom handler. Given an app folder
// laid out as for Azure (host.json, the handler executable, <Function>/function.json), it starts the handler with the
// environment the host sets, serves HTTP triggers on /api/..., runs timer triggers, polls storage queues, applies
// output bindings and offers the host's admin call, following ../shared/contracts/functions-host.md. It is as strict
// as the host where a handler could come to rely on leniency: request bodies over FUNCTIONS_REQUEST_BODY_SIZE_LIMIT
// are refused with 413, heads over Kestrel's limits with 414 or 431, chunked bodies are dropped, and routes match
// the raw path (an encoded slash separates nothing). Bodies are streamed into invocations, never held.
package funchost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configure a Host. Dist is required; the rest have defaults.
type Options struct {
	Dist     string            // the app folder: host.json, the executable, <Function>/function.json
	Settings map[string]string // app settings (local.settings.json Values)
	Addr     string            // where to serve HTTP triggers; default 127.0.0.1:7071; ":0" style picks a port
	Logger   *slog.Logger      // the host's log; default JSON to stderr
	// WorkerOutput receives the handler's stdout and stderr, line by line; nil logs each line through Logger.
	WorkerOutput io.Writer
	// ReadyTimeout bounds the wait for the handler to answer GET /; default 30 s as in the host.
	ReadyTimeout time.Duration
	// WorkerSettings override Settings for the handler process only (the host keeps Settings): a benchmark gives
	// the handler a storage connection through a counting proxy while the host polls queues directly.
	WorkerSettings map[string]string
}

// Host is a running stand-in. Create it with New, then Start; Close stops everything it started.
type Host struct {
	opts     Options
	cfg      appConfig
	fns      []*function
	settings map[string]string
	log      *slog.Logger
	keys     keys
	worker   *worker
	client   *http.Client
	storage  *storage
	routes   []*route
	timers   map[string]*timer
	// bodyLimit is FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, the largest HTTP request body accepted.
	bodyLimit int64

	ln       net.Listener
	srv      *http.Server
	cancel   context.CancelFunc
	bg       sync.WaitGroup
	closeOne sync.Once
}

type keys struct{ master, function string }

// New reads the app folder and checks every function; it starts nothing.
func New(opts Options) (*Host, error) {
	if opts.Dist == "" {
		return nil, errors.New("creating the host: Options.Dist is empty")
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:7071"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	settings := map[string]string{}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	// The handler runs in the app folder and is told its path, so the path must not depend on our own directory.
	dist, err := filepath.Abs(opts.Dist)
	if err != nil {
		return nil, fmt.Errorf("finding the app folder: %w", err)
	}
	opts.Dist = dist
	cfg, err := readHostConfig(opts.Dist)
	if err != nil {
		return nil, err
	}
	fns, err := readFunctions(opts.Dist)
	if err != nil {
		return nil, err
	}
	if len(fns) == 0 {
		return nil, fmt.Errorf("reading %s: no <Function>/function.json found", opts.Dist)
	}
	h := &Host{opts: opts, cfg: cfg, fns: fns, settings: settings, log: log, storage: newStorage(settings),
		timers: map[string]*timer{}}
	limit, err := requestBodyLimit(settings)
	if err != nil {
		log.Warn("ignoring the request body limit setting", "err", err.Error())
	}
	h.bodyLimit = limit
	h.keys = keys{master: settings[SettingMasterKey], function: settings[SettingFunctionKey]}
	if h.keys.master == "" {
		h.keys.master = DefaultMasterKey
	}
	if h.keys.function == "" {
		h.keys.function = DefaultFunctionKey
	}
	var problems []error
	for _, fn := range fns {
		if err := h.prepare(fn); err != nil {
			problems = append(problems, fmt.Errorf("function %s: %w", fn.name, err))
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	sortRoutes(h.routes)
	timeout := time.Duration(0)
	if cfg.functionTimeout > 0 {
		timeout = cfg.functionTimeout + time.Minute
	}
	h.client = &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}}
	return h, nil
}

// disabled says whether a function is switched off by function.json or the AzureWebJobs.<name>.Disabled setting.
func (h *Host) disabled(fn *function) bool {
	v := strings.ToLower(h.settings["AzureWebJobs."+fn.name+".Disabled"])
	return fn.disabled || v == "true" || v == "1"
}

// prepare resolves %SETTING% references and builds the function's route or schedule.
func (h *Host) prepare(fn *function) error {
	resolve := func(s *string) error {
		v, err := resolveSettings(*s, h.settings)
		*s = v
		return err
	}
	var problems []error
	for i := range fn.outputs {
		problems = append(problems, resolve(&fn.outputs[i].QueueName), resolve(&fn.outputs[i].Path))
		if fn.outputs[i].is("queue") && fn.outputs[i].QueueName == "" {
			problems = append(problems, fmt.Errorf("queue output %s: no queueName", fn.outputs[i].Name))
		}
	}
	t := &fn.trigger
	switch {
	case t.is("httpTrigger"):
		problems = append(problems, resolve(&t.Route))
		r, err := newRoute(h.cfg.routePrefix, fn)
		if err != nil {
			problems = append(problems, err)
		} else {
			h.routes = append(h.routes, r)
		}
	case t.is("timerTrigger"):
		problems = append(problems, resolve(&t.Schedule))
		tm, err := newTimer(fn, t.Schedule, h.settings)
		if err != nil {
			problems = append(problems, err)
		} else {
			h.timers[fn.name] = tm
		}
	case t.is("queueTrigger"):
		problems = append(problems, resolve(&t.QueueName))
		if t.QueueName == "" {
			problems = append(problems, errors.New("queueTrigger: no queueName"))
		}
	}
	return errors.Join(problems...)
}

// Start launches the handler, waits until it answers, then serves HTTP and starts the timers and queue listeners.
func (h *Host) Start(ctx context.Context) error {
	if rt := h.settings[SettingWorkerRT]; !strings.EqualFold(rt, "custom") {
		h.log.Warn("FUNCTIONS_WORKER_RUNTIME should be Custom for a custom handler", "value", rt)
	}
	workerSettings := h.settings
	if len(h.opts.WorkerSettings) > 0 {
		workerSettings = maps.Clone(h.settings)
		maps.Copy(workerSettings, h.opts.WorkerSettings)
	}
	h.worker = newWorker(h.cfg, workerSettings, h.log, h.opts.WorkerOutput, h.opts.ReadyTimeout)
	if err := h.worker.start(ctx); err != nil {
		return fmt.Errorf("starting the handler: %w", err)
	}
	tcp, err := net.Listen("tcp", h.opts.Addr)
	if err != nil {
		h.worker.stop()
		return fmt.Errorf("listening on %s: %w", h.opts.Addr, err)
	}
	ln := kestrelListener{tcp}
	h.ln = ln
	h.srv = &http.Server{Handler: h.Handler(), ReadHeaderTimeout: 30 * time.Second}
	bgctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("serving HTTP", "err", err.Error())
		}
	}()
	for _, fn := range h.fns {
		if h.disabled(fn) {
			h.log.Info("function disabled", "function", fn.name)
			continue
		}
		switch {
		case fn.trigger.is("timerTrigger"):
			tm := h.timers[fn.name]
			h.bg.Add(1)
			go func() { defer h.bg.Done(); h.runTimer(bgctx, tm) }()
		case fn.trigger.is("queueTrigger"):
			h.bg.Add(1)
			go func() { defer h.bg.Done(); h.listenQueue(bgctx, fn) }()
		}
	}
	h.logFunctions()
	return nil
}

func (h *Host) logFunctions() {
	for _, fn := range h.fns {
		attrs := []any{"function", fn.name, "trigger", fn.trigger.Type}
		switch {
		case fn.trigger.is("httpTrigger"):
			for _, r := range h.routes {
				if r.fn == fn {
					attrs = append(attrs, "url", "http://"+h.Addr()+r.display(), "methods", r.methodList(),
						"auth_level", r.authLevel)
				}
			}
		case fn.trigger.is("timerTrigger"):
			attrs = append(attrs, "schedule", fn.trigger.Schedule)
		case fn.trigger.is("queueTrigger"):
			attrs = append(attrs, "queue", fn.trigger.QueueName)
		}
		h.log.Info("function loaded", attrs...)
	}
}

// Addr is where the host serves HTTP (useful with a ":0" address).
func (h *Host) Addr() string {
	if h.ln == nil {
		return h.opts.Addr
	}
	return h.ln.Addr().String()
}

// MasterKey and FunctionKey are the keys the host accepts.
// KillWorker kills the handler process with SIGKILL and returns its pid once it has exited; the host restarts
// it as it would after any crash. For tests of what a run killed at any point leaves behind.
func (h *Host) KillWorker() (int, error) {
	if h.worker == nil {
		return 0, errors.New("the host has not started")
	}
	return h.worker.killNow()
}

func (h *Host) MasterKey() string   { return h.keys.master }
func (h *Host) FunctionKey() string { return h.keys.function }

// Close stops serving, stops the timers and listeners (waiting for running invocations) and stops the handler.
func (h *Host) Close() error {
	var err error
	h.closeOne.Do(func() {
		if h.srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err = h.srv.Shutdown(ctx)
			cancel()
		}
		if h.cancel != nil {
			h.cancel()
		}
		h.bg.Wait()
		if h.worker != nil {
			h.worker.stop()
		}
	})
	return err
}
