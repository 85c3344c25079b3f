package azfunc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// Header names the host sets on invocations.
const (
	HeaderInvocationID = "X-Azure-Functions-InvocationId"
	HeaderHostVersion  = "X-Azure-Functions-HostVersion"
)

// Options configure a Server.
type Options struct {
	// RoutePrefix is host.json extensions.http.routePrefix; "api" when empty. Use "-" for no prefix.
	RoutePrefix string
	Logger      *slog.Logger
	// DeadLetters keeps queue messages that failed permanently. Without it, such messages are failed back to the
	// host, which retries them and finally moves them to the poison queue: nothing is dropped either way.
	DeadLetters trigger.DeadLetterer
	// MaxBodyBytes bounds every HTTP function's request body (HTTP_MAX_BODY_BYTES), forwarded or wrapped; a larger
	// body is answered 413 as a successful invocation, which the host passes on. DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64
}

// Server serves the custom-handler protocol for a set of functions.
type Server struct {
	fns  map[string]trigger.Function
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
}

// NewServer checks every function against its function.json and builds the routes: readiness on GET /,
// invocations on POST /{Name}, and forwarded HTTP requests on /{prefix}/{route}.
func NewServer(opts Options, fns ...trigger.Function) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	prefix := strings.Trim(opts.RoutePrefix, "/")
	if prefix == "" {
		prefix = "api"
	}
	if prefix == "-" {
		prefix = ""
	}
	s := &Server{fns: map[string]trigger.Function{}, opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	var errs []error
	for _, f := range fns {
		if err := f.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.fns[strings.ToLower(f.Name)]; dup {
			errs = append(errs, fmt.Errorf("function %s: registered twice", f.Name))
			continue
		}
		s.fns[strings.ToLower(f.Name)] = f
		s.mux.Handle("POST /"+f.Name, s.invocation(f))
		if f.HTTP != nil {
			for _, p := range forwardPatterns(prefix, f) {
				if err := registerSafely(s.mux, p, s.forwarded(f)); err != nil {
					errs = append(errs, fmt.Errorf("function %s: route %q: %w", f.Name, p, err))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("building custom-handler routes: %w", err)
	}
	// The host polls GET / until any answer comes back; answer at once.
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ready\n")
	})
	return s, nil
}

func registerSafely(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

// forwardPatterns turns a function route into ServeMux patterns: constraints ({id:guid}) are dropped, an optional
// last parameter ({id?}) gives two patterns.
func forwardPatterns(prefix string, f trigger.Function) []string {
	route := f.Definition.Route(f.Name)
	segs := strings.Split(route, "/")
	optional := false
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			name := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
			name = strings.TrimPrefix(name, "*")
			if j := strings.IndexByte(name, ':'); j >= 0 {
				name = name[:j]
			}
			if strings.HasSuffix(name, "?") {
				name = strings.TrimSuffix(name, "?")
				optional = i == len(segs)-1
			}
			if i == len(segs)-1 && strings.HasPrefix(strings.TrimPrefix(s, "{"), "*") {
				name += "..."
			}
			segs[i] = "{" + name + "}"
		}
	}
	paths := []string{"/" + strings.Join(segs, "/")}
	if optional {
		paths = append(paths, "/"+strings.Join(segs[:len(segs)-1], "/"))
	}
	if prefix != "" {
		for i := range paths {
			paths[i] = "/" + prefix + paths[i]
		}
	}
	methods := f.Definition.Methods()
	var out []string
	for _, p := range paths {
		if len(methods) == 0 {
			out = append(out, p)
			continue
		}
		for _, m := range methods {
			out = append(out, m+" "+p)
		}
	}
	return out
}

// ServeHTTP routes host requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Serve answers on ln until ctx ends, then stops accepting work and waits up to drain for invocations in flight.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drain time.Duration) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving custom-handler protocol: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down: no new invocations; waiting for those in flight", "drain", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("draining invocations: %w", err)
	}
	return nil
}

func newInvocationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// begin derives the invocation context: id and function name for every log line, and a collector for the Logs
// the host attaches to the invocation.
func (s *Server) begin(r *http.Request, f trigger.Function) (context.Context, string, *logSink) {
	id := r.Header.Get(HeaderInvocationID)
	if id == "" {
		id = newInvocationID()
	}
	sink := &logSink{}
	ctx := trigger.WithInvocation(r.Context(), trigger.Invocation{ID: id, Function: f.Name})
	ctx = context.WithValue(ctx, sinkKey{}, sink)
	return ctx, id, sink
}

// invocation serves POST /{Name}.
func (s *Server) invocation(f trigger.Function) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, id, sink := s.begin(r, f)
		start := time.Now()
		var req InvokeRequest
		body, err := readUpTo(r.Body, s.envelopeLimit())
		if errors.Is(err, errOverLimit) && f.HTTP != nil {
			// Only a body over the limit makes an invocation this large: the caller's mistake, answered as such.
			drain(r.Body)
			s.log.WarnContext(ctx, "request body over the limit", "limit_bytes", s.opts.MaxBodyBytes)
			rec := trigger.NewRecorder()
			problem.Write(rec, tooLarge(s.opts.MaxBodyBytes), id)
			var resp InvokeResponse
			if err := s.setHTTPOutput(f, rec, &resp); err != nil {
				s.fail(w, id, err, sink)
				return
			}
			s.succeed(w, resp, sink)
			return
		}
		if errors.Is(err, errOverLimit) {
			err = fmt.Errorf("invocation body over %d bytes", s.envelopeLimit())
		}
		if err == nil {
			err = json.Unmarshal(body, &req)
		}
		if err != nil {
			s.log.ErrorContext(ctx, "reading invocation", "err", err)
			s.fail(w, id, problem.Wrap(problem.Invalid, err, "reading the invocation"), sink)
			return
		}
		var resp InvokeResponse
		switch {
		case f.HTTP != nil:
			err = s.invokeHTTP(ctx, f, req, &resp)
		case f.Queue != nil:
			err = s.invokeQueue(ctx, f, req)
		default:
			err = s.invokeTimer(ctx, f, req)
		}
		elapsed := time.Since(start)
		if err != nil {
			s.log.ErrorContext(ctx, "invocation failed", "err", err, "kind", problem.KindOf(err).String(),
				"retryable", problem.Retryable(err), "duration_ms", elapsed.Milliseconds())
			s.fail(w, id, err, sink)
			return
		}
		s.log.InfoContext(ctx, "invocation succeeded", "duration_ms", elapsed.Milliseconds())
		s.succeed(w, resp, sink)
	})
}

// succeed answers 200 with the invocation's outputs and logs, every member present as the host expects.
func (s *Server) succeed(w http.ResponseWriter, resp InvokeResponse, sink *logSink) {
	resp.Logs = sink.lines()
	if resp.Outputs == nil {
		resp.Outputs = map[string]json.RawMessage{}
	}
	if resp.Logs == nil {
		resp.Logs = []string{}
	}
	if resp.ReturnValue == nil {
		resp.ReturnValue = json.RawMessage("null")
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// fail answers non-2xx, which makes the host fail the invocation (and redeliver a queue message).
func (s *Server) fail(w http.ResponseWriter, id string, err error, sink *logSink) {
	doc := problem.DocumentFor(err, id)
	status := doc.Status
	if status < 500 && problem.Retryable(err) {
		status = http.StatusInternalServerError
	}
	// The problem members plus the invocation's Logs, so the host's log shows why it failed.
	b, _ := json.Marshal(doc)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["Logs"] = sink.lines()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(m)
}

func (s *Server) invokeTimer(ctx context.Context, f trigger.Function, req InvokeRequest) error {
	name := f.Definition.Trigger().Name
	ti, err := DecodeTimer(req.Data[name])
	if err != nil {
		return problem.Wrap(problem.Invalid, err, "decoding timer input %q", name)
	}
	t := trigger.Timer{IsPastDue: ti.IsPastDue, Now: time.Now().UTC()}
	if ti.ScheduleStatus != nil {
		t.Last, t.Next = ti.ScheduleStatus.Last.Time, ti.ScheduleStatus.Next.Time
	}
	if err := f.Timer.HandleTimer(ctx, t); err != nil {
		return fmt.Errorf("running timer %s: %w", f.Name, err)
	}
	return nil
}

func (s *Server) invokeQueue(ctx context.Context, f trigger.Function, req InvokeRequest) error {
	b := f.Definition.Trigger()
	body, err := QueueMessageBytes(req.Data[b.Name])
	if err != nil {
		// The host gave us nothing usable; failing lets it retry and finally poison the message, so it is kept.
		return problem.Wrap(problem.Internal, err, "reading queue input %q", b.Name)
	}
	md, err := DecodeQueueMetadata(req.Metadata)
	if err != nil {
		return problem.Wrap(problem.Internal, err, "reading queue metadata")
	}
	m := trigger.Message{ID: string(md.ID), Body: body, DequeueCount: int(md.DequeueCount),
		InsertionTime: md.InsertionTime.Time, Queue: b.QueueName}
	herr := f.Queue.HandleMessage(ctx, m)
	if herr == nil {
		return nil
	}
	if problem.Retryable(herr) || s.opts.DeadLetters == nil {
		return fmt.Errorf("handling message %s: %w", m.ID, herr)
	}
	// Permanent: keep it in the dead letters, then acknowledge so the host stops redelivering it.
	if dlErr := s.opts.DeadLetters.DeadLetter(ctx, f.Name, m, herr); dlErr != nil {
		return problem.Wrap(problem.Unavailable, errors.Join(herr, dlErr), "dead-lettering message %s", m.ID)
	}
	s.log.WarnContext(ctx, "message dead-lettered", "message_id", m.ID, "err", herr)
	return nil
}

type sinkKey struct{}

// logSink gathers an invocation's log lines for InvokeResponse.Logs. Bounded so a chatty function cannot bloat
// the response.
type logSink struct {
	mu  sync.Mutex
	buf []string
}

const maxInvocationLogs = 200

func (s *logSink) add(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) < maxInvocationLogs {
		s.buf = append(s.buf, line)
	}
}

func (s *logSink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.buf...)
}

// CollectLogs wraps a slog handler so records logged with an invocation's context also go to that invocation's
// Logs in the response (at level Info and above).
func CollectLogs(h slog.Handler) slog.Handler { return &collectHandler{Handler: h} }

type collectHandler struct{ slog.Handler }

func (h *collectHandler) Handle(ctx context.Context, r slog.Record) error {
	if sink, ok := ctx.Value(sinkKey{}).(*logSink); ok && r.Level >= slog.LevelInfo {
		var b strings.Builder
		b.WriteString(r.Level.String())
		b.WriteString(" ")
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		sink.add(b.String())
	}
	return h.Handler.Handle(ctx, r)
}

func (h *collectHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &collectHandler{Handler: h.Handler.WithAttrs(attrs)}
}

func (h *collectHandler) WithGroup(name string) slog.Handler {
	return &collectHandler{Handler: h.Handler.WithGroup(name)}
}

func decodeStdBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	return base64.StdEncoding.DecodeString(s)
}
