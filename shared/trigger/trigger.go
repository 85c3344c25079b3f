// Package trigger holds what a function sees of its trigger, whatever runtime delivered it: a queue message, a
// timer tick or an HTTP request, plus the function's declaration (its function.json) and the per-invocation context.
//
// Function packages import this package and never a runtime adapter; the Azure custom-handler server (azfunc) and
// the AWS Lambda adapter (awslambda) translate their runtime's payloads into these types.
package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Message is one queue message as the function sees it: the payload after the transport's encoding is undone.
type Message struct {
	ID   string
	Body []byte
	// DequeueCount counts deliveries, the current one included (1 on the first).
	DequeueCount  int
	InsertionTime time.Time
	// Queue names the queue the message came from, when the runtime says.
	Queue string
}

// Timer is one scheduled run.
type Timer struct {
	// IsPastDue says the run is late (the app was down when it was due).
	IsPastDue bool
	// Last is the previous scheduled run, when the runtime knows it.
	Last time.Time
	// Next is the next scheduled run, when the runtime knows it.
	Next time.Time
	// Now is when the runtime fired this run.
	Now time.Time
}

// QueueHandler handles one message. A nil error acknowledges it. A retryable error (see problem.Retryable) asks
// for redelivery; a permanent one sends the message to the dead letters.
type QueueHandler interface {
	HandleMessage(ctx context.Context, m Message) error
}

// QueueFunc adapts a function to QueueHandler.
type QueueFunc func(ctx context.Context, m Message) error

// HandleMessage calls f.
func (f QueueFunc) HandleMessage(ctx context.Context, m Message) error { return f(ctx, m) }

// TimerHandler handles one scheduled run.
type TimerHandler interface {
	HandleTimer(ctx context.Context, t Timer) error
}

// TimerFunc adapts a function to TimerHandler.
type TimerFunc func(ctx context.Context, t Timer) error

// HandleTimer calls f.
func (f TimerFunc) HandleTimer(ctx context.Context, t Timer) error { return f(ctx, t) }

// DeadLetterer keeps a message that failed permanently so that nothing is dropped. A runtime adapter calls it
// before acknowledging such a message; if it fails, the message is redelivered instead.
type DeadLetterer interface {
	DeadLetter(ctx context.Context, function string, m Message, cause error) error
}

// Kind is the trigger type of a function, as function.json names it.
type Kind string

// Trigger kinds the app serves.
const (
	HTTPTrigger  Kind = "httpTrigger"
	QueueTrigger Kind = "queueTrigger"
	TimerTrigger Kind = "timerTrigger"
)

// Binding is one entry of function.json "bindings".
type Binding struct {
	Type      string   `json:"type"`
	Direction string   `json:"direction"`
	Name      string   `json:"name"`
	AuthLevel string   `json:"authLevel,omitempty"`
	Methods   []string `json:"methods,omitempty"`
	Route     string   `json:"route,omitempty"`
	QueueName string   `json:"queueName,omitempty"`
	Schedule  string   `json:"schedule,omitempty"`
	Path      string   `json:"path,omitempty"`
}

// Definition is a parsed function.json.
type Definition struct {
	Bindings []Binding `json:"bindings"`
}

// ParseDefinition reads a function.json and checks it has exactly one trigger.
func ParseDefinition(b []byte) (Definition, error) {
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		return Definition{}, fmt.Errorf("parsing function.json: %w", err)
	}
	n := 0
	for _, b := range d.Bindings {
		if strings.HasSuffix(b.Type, "Trigger") && b.Direction == "in" {
			n++
		}
	}
	if n != 1 {
		return Definition{}, fmt.Errorf("parsing function.json: want exactly one trigger binding, found %d", n)
	}
	return d, nil
}

// Trigger is the function's trigger binding.
func (d Definition) Trigger() Binding {
	for _, b := range d.Bindings {
		if strings.HasSuffix(b.Type, "Trigger") && b.Direction == "in" {
			return b
		}
	}
	return Binding{}
}

// Forwardable says whether the host may forward HTTP requests to this function unchanged when
// enableForwardingHttpRequest is on: only a function whose bindings are one httpTrigger and one http output.
func (d Definition) Forwardable() bool {
	if len(d.Bindings) != 2 {
		return false
	}
	var in, out bool
	for _, b := range d.Bindings {
		switch {
		case b.Type == string(HTTPTrigger) && b.Direction == "in":
			in = true
		case b.Type == "http" && b.Direction == "out":
			out = true
		}
	}
	return in && out
}

// Function is one function of the app: its name (the folder name in the package), its function.json, and the
// handler matching its trigger. Exactly one of HTTP, Queue and Timer is set.
type Function struct {
	Name       string
	Definition Definition
	HTTP       http.Handler
	// Accepts lists the media types an HTTP function reads its request body as; the runtime adapters refuse any
	// other Content-Type, and any Content-Encoding, with 415 before the function runs (see CheckBody). Empty: the
	// function reads no body.
	Accepts []string
	Queue   QueueHandler
	Timer   TimerHandler
}

// Validate checks that the handler matches the trigger declared in function.json, so a wiring mistake fails at
// start-up rather than on the first invocation.
func (f Function) Validate() error {
	set := 0
	for _, h := range []bool{f.HTTP != nil, f.Queue != nil, f.Timer != nil} {
		if h {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("function %s: want exactly one handler, have %d", f.Name, set)
	}
	want := Kind(f.Definition.Trigger().Type)
	var have Kind
	switch {
	case f.HTTP != nil:
		have = HTTPTrigger
	case f.Queue != nil:
		have = QueueTrigger
	default:
		have = TimerTrigger
	}
	if want != have {
		return fmt.Errorf("function %s: function.json declares %q but the handler serves %q", f.Name, want, have)
	}
	return nil
}

// Route is the HTTP route of an HTTP function, without the route prefix; the function name when none is set, as
// the host does.
func (d Definition) Route(name string) string {
	if r := d.Trigger().Route; r != "" {
		return strings.Trim(r, "/")
	}
	return name
}

// Methods lists the allowed HTTP methods in upper case; empty means any.
func (d Definition) Methods() []string {
	var out []string
	for _, m := range d.Trigger().Methods {
		out = append(out, strings.ToUpper(m))
	}
	return out
}
