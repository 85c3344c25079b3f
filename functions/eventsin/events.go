// Package eventsin is the HTTP function that takes SAP's business events in: POST /api/events, as an SAP Event Mesh
// webhook subscription pushes them (CloudEvents 1.0, binary, structured or batched), and OPTIONS for the
// CloudEvents webhook validation handshake, without which Event Mesh delivers nothing.
//
// It only takes events in: each one the status path consumes is put on STATUS_EVENTS_QUEUE, and the answer is 2xx
// only once all of them are there, so a failed enqueue makes SAP deliver again. A type nobody consumes is
// answered 202 and counted: a 4xx would make Event Mesh redeliver it until its queue gives up.
package eventsin

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"

	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sapevent"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

//go:embed function.json
var functionJSON []byte

// Queue puts messages on a Storage queue.
type Queue interface {
	Enqueue(ctx context.Context, queue string, body []byte, opts *store.EnqueueOptions) (string, error)
}

// Handler serves /api/events.
type Handler struct {
	Queue     Queue
	QueueName string
	// Auth checks the sender beyond the function key the host checks (nil: the key alone).
	Auth Authenticator
	// Origins are the webhook origins the handshake allows; empty allows any sender that authenticates.
	Origins []string
	MaxBody int64
	// Ready creates the queue before the first enqueue (nil: it exists).
	Ready func(context.Context) error
	Log   *slog.Logger
}

// Function declares the events function. It declares no media types for the adapters to check: the handshake
// is an OPTIONS without a body, so the handler checks the media type of a POST itself.
func Function(h *Handler) (trigger.Function, error) {
	d, err := trigger.ParseDefinition(functionJSON)
	if err != nil {
		return trigger.Function{}, err
	}
	return trigger.Function{Name: "eventsin", Definition: d, HTTP: h}, nil
}

// Answer is the body of a 202.
type Answer struct {
	Received int `json:"received"`
	Enqueued int `json:"enqueued"`
	// Ignored counts the events of types the status path does not consume, by type.
	Ignored map[string]int `json:"ignored,omitempty"`
}

// parallel bounds the enqueues of one batch in flight.
const parallel = 16

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	instance := ""
	if inv, ok := trigger.InvocationFrom(r.Context()); ok {
		instance = inv.ID
	}
	switch r.Method {
	case http.MethodOptions:
		h.handshake(w, r, instance)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		// The host answers other methods itself (function.json lists post and options); this holds on any runtime.
		problem.Write(w, problem.New(problem.Invalid, "method %s is not served; POST events, or OPTIONS for the webhook handshake", cut(r.Method)), instance)
		return
	}
	if err := h.authenticate(r); err != nil {
		writeAuthError(w, err, instance)
		return
	}
	if err := trigger.CheckBody(cloudevent.Accepts, r.Header); err != nil {
		problem.Write(w, err, instance)
		return
	}
	limit := h.MaxBody
	if limit == 0 {
		limit = 4 << 20
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		problem.Write(w, problem.Wrap(problem.Invalid, err, "reading the request body"), instance)
		return
	}
	if int64(len(body)) > limit {
		problem.Write(w, problem.New(problem.TooLarge, "the request body is over the limit of %s bytes", strconv.FormatInt(limit, 10)), instance)
		return
	}
	evs, err := cloudevent.ReadHTTP(r.Header, body)
	if err != nil {
		problem.Write(w, err, instance)
		return
	}
	ans, err := h.take(r.Context(), evs)
	if err != nil {
		problem.Write(w, err, instance)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(ans)
}

// take enqueues the consumed events and counts the others. Every message is encoded before the first enqueue,
// so an event that cannot be carried refuses the request before any of it is on the queue.
func (h *Handler) take(ctx context.Context, evs []cloudevent.Event) (Answer, error) {
	ans := Answer{Received: len(evs)}
	var bodies [][]byte
	for _, e := range evs {
		if _, _, ok := sapevent.Consumed(e.Type); !ok {
			if ans.Ignored == nil {
				ans.Ignored = map[string]int{}
			}
			ans.Ignored[cut(e.Type)]++
			continue
		}
		b, err := e.Marshal()
		if err != nil {
			return Answer{}, problem.Wrap(problem.Internal, err, "encoding event %s", cut(e.ID))
		}
		if len(b) > store.MaxMessageBytes {
			return Answer{}, problem.New(problem.TooLarge, "event %s is %d bytes as a queue message; a message holds at most %d (SAP's events are a few hundred)",
				cut(e.ID), len(b), store.MaxMessageBytes)
		}
		bodies = append(bodies, b)
	}
	if len(ans.Ignored) > 0 {
		types := make([]string, 0, len(ans.Ignored))
		for t := range ans.Ignored {
			types = append(types, t)
		}
		sort.Strings(types)
		h.log().InfoContext(ctx, "events of types not consumed", "ignored", len(evs)-len(bodies), "types", types)
	}
	if len(bodies) == 0 {
		return ans, nil
	}
	if h.Ready != nil {
		if err := h.Ready(ctx); err != nil {
			return Answer{}, problem.Wrap(problem.Unavailable, err, "preparing the events queue")
		}
	}
	if err := h.enqueue(ctx, bodies); err != nil {
		return Answer{}, err
	}
	ans.Enqueued = len(bodies)
	return ans, nil
}

func (h *Handler) enqueue(ctx context.Context, bodies [][]byte) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		slots = make(chan struct{}, parallel)
	)
	for _, b := range bodies {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if _, err := h.Queue.Enqueue(ctx, h.QueueName, b, nil); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		// Some events may be on the queue already: the sender delivers all of them again, and the status path
		// applies each document once whatever the number of copies.
		kind := problem.Unavailable
		if errors.Is(first, store.ErrInvalid) {
			kind = problem.Internal
		}
		return problem.Wrap(kind, first, "putting the events on queue %s", h.QueueName)
	}
	return nil
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func cut(s string) string {
	if r := []rune(s); len(r) > 120 {
		return string(r[:120]) + "…"
	}
	return s
}
