// Package problem gives the one table that decides, for every kind of failure, the HTTP status a caller sees and
// whether a trigger should be retried, plus RFC 9457 problem+json rendering of those failures.
//
// Functions return *Error (or wrap one); adapters (the custom-handler server, the Lambda adapter) read it with
// errors.As and never decide statuses themselves.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a failure by what the caller should do about it.
type Kind int

const (
	// Internal is a bug or an unexpected state: retried, since it may pass.
	Internal Kind = iota
	// Invalid input: permanent, the same input fails again.
	Invalid
	// NotFound: permanent.
	NotFound
	// Conflict: the resource is in a state that refuses the request (e.g. being processed by another request).
	Conflict
	// Unauthorized: missing or bad credentials.
	Unauthorized
	// Forbidden: credentials fine, not allowed.
	Forbidden
	// Rejected: a downstream system (SAP, Dataverse) refused the content; permanent until the data is fixed.
	Rejected
	// Unavailable: a downstream system or storage did not answer or answered 5xx; retried.
	Unavailable
	// Throttled: a downstream system asked us to slow down; retried after RetryAfter.
	Throttled
	// Timeout: the work did not finish in time; retried.
	Timeout
	// Accepted is not a failure: the work continues asynchronously (202). Listed so HTTP handlers can use the table.
	Accepted
	// TooLarge: the request body is over the limit (413); permanent, the same body is refused again.
	TooLarge
	// UnsupportedMediaType: the body's Content-Type is not one the function reads (415); permanent.
	UnsupportedMediaType
	// LengthRequired: the body came without Content-Length (chunked), which the Functions host drops before the
	// function sees it (411); permanent until the caller sends the length.
	LengthRequired
)

// rule is one row of the table.
type rule struct {
	name      string
	status    int
	retryable bool
	title     string
}

// table is the single place that maps kinds to statuses and retry decisions.
var table = map[Kind]rule{
	Internal:     {"internal", http.StatusInternalServerError, true, "Internal error"},
	Invalid:      {"invalid", http.StatusBadRequest, false, "Invalid request"},
	NotFound:     {"not-found", http.StatusNotFound, false, "Not found"},
	Conflict:     {"conflict", http.StatusConflict, false, "Conflict"},
	Unauthorized: {"unauthorized", http.StatusUnauthorized, false, "Unauthorized"},
	Forbidden:    {"forbidden", http.StatusForbidden, false, "Forbidden"},
	Rejected:     {"rejected", http.StatusUnprocessableEntity, false, "Rejected by the target system"},
	Unavailable:  {"unavailable", http.StatusServiceUnavailable, true, "Service unavailable"},
	Throttled:    {"throttled", http.StatusServiceUnavailable, true, "Throttled by the target system"},
	Timeout:      {"timeout", http.StatusGatewayTimeout, true, "Timed out"},
	Accepted:     {"accepted", http.StatusAccepted, true, "Accepted"},

	TooLarge:             {"payload-too-large", http.StatusRequestEntityTooLarge, false, "Payload too large"},
	UnsupportedMediaType: {"unsupported-media-type", http.StatusUnsupportedMediaType, false, "Unsupported media type"},
	LengthRequired:       {"length-required", http.StatusLengthRequired, false, "Length required"},
}

func (k Kind) rule() rule {
	if r, ok := table[k]; ok {
		return r
	}
	return table[Internal]
}

// String names the kind; it is also the last segment of the problem type URI.
func (k Kind) String() string { return k.rule().name }

// Status is the HTTP status for the kind.
func (k Kind) Status() int { return k.rule().status }

// Retryable says whether a trigger that failed with this kind should be retried (queue redelivery, SQS batch item
// failure) rather than dead-lettered.
func (k Kind) Retryable() bool { return k.rule().retryable }

// FieldError names one invalid input field.
type FieldError struct {
	// Field is a JSON-pointer-like path such as "lines/2/quantity".
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is a classified failure.
type Error struct {
	Kind   Kind
	Detail string
	// Fields lists every invalid field when Kind is Invalid, so callers can fix all of them at once.
	Fields []FieldError
	// RetryAfter, when set, is sent as Retry-After and used as the redelivery delay.
	RetryAfter time.Duration
	// Extra members added to the problem document (e.g. SAP messages). Keys must not clash with RFC 9457 members.
	Extra map[string]any
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New makes an *Error of the kind with a detail message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Detail: fmt.Sprintf(format, args...)}
}

// Wrap classifies err under kind k with a detail message.
func Wrap(k Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: k, Detail: fmt.Sprintf(format, args...), Err: err}
}

// InvalidFields reports every invalid field at once.
func InvalidFields(detail string, fields []FieldError) *Error {
	return &Error{Kind: Invalid, Detail: detail, Fields: fields}
}

// KindOf reads the kind from an error chain; an unclassified error is Internal.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return Internal
}

// Retryable says whether err should be retried by the trigger's runtime. Unclassified errors are retried: dropping
// a message because of an unexpected error would lose it.
func Retryable(err error) bool { return KindOf(err).Retryable() }

// RetryAfterOf gives the requested delay, if any.
func RetryAfterOf(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// Document is an RFC 9457 problem details object.
type Document struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Instance string         `json:"instance,omitempty"`
	Errors   []FieldError   `json:"errors,omitempty"`
	Extra    map[string]any `json:"-"`
}

// MarshalJSON flattens Extra into the top level, as RFC 9457 extension members.
func (d Document) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(d.Extra)+6)
	for k, v := range d.Extra {
		m[k] = v
	}
	type plain Document
	b, err := json.Marshal(plain(d))
	if err != nil {
		return nil, err
	}
	var base map[string]any
	if err := json.Unmarshal(b, &base); err != nil {
		return nil, err
	}
	for k, v := range base {
		m[k] = v
	}
	return json.Marshal(m)
}

// TypeBase prefixes problem type URIs; the fragment names the kind and is documented in the README.
const TypeBase = "https://github.com/d365sap/d365sap/blob/main/README.md#problem-"

// DocumentFor builds the problem document of err. Unclassified errors do not leak their text: their detail is
// generic, since it may contain internals.
func DocumentFor(err error, instance string) Document {
	var pe *Error
	if !errors.As(err, &pe) {
		pe = &Error{Kind: Internal, Detail: "an unexpected error occurred; it was logged with the invocation id"}
	}
	r := pe.Kind.rule()
	return Document{
		Type:     TypeBase + r.name,
		Title:    r.title,
		Status:   r.status,
		Detail:   pe.Detail,
		Instance: instance,
		Errors:   pe.Fields,
		Extra:    pe.Extra,
	}
}

// Write renders err as application/problem+json, with Retry-After when the error asks for a delay.
func Write(w http.ResponseWriter, err error, instance string) {
	doc := DocumentFor(err, instance)
	if ra := RetryAfterOf(err); ra > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ra+time.Second-1)/time.Second)))
	} else if k := KindOf(err); k == Unavailable || k == Throttled {
		// RFC 9110 lets a 503 carry Retry-After; Power Automate honours it, so always give one.
		w.Header().Set("Retry-After", "30")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(doc.Status)
	_ = json.NewEncoder(w).Encode(doc)
}

// KindNamed is the kind whose String is name (as stored beside a record); false for an unknown name.
func KindNamed(name string) (Kind, bool) {
	for k, r := range table {
		if r.name == name {
			return k, true
		}
	}
	return Internal, false
}
