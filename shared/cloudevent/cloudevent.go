// Package cloudevent reads CloudEvents 1.0 in the shapes SAP's business events reach the app: pushed over HTTP by
// an SAP Event Mesh webhook (binary mode with ce-* headers, structured mode, or a batch), and as Storage queue
// messages, written by Event Grid's bridge or by the events function (structured JSON, base64-encoded or not).
//
// The envelope is parsed and validated by the CloudEvents SDK (github.com/cloudevents/sdk-go); this package picks
// the mode, insists on what SAP's consumers rely on (spec 1.0, a JSON object as data) and turns every refusal
// into a problem that names the attribute at fault.
package cloudevent

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/d365sap/d365sap/shared/problem"
)

// Media types of the three HTTP modes. Binary mode carries the data's own type (SAP: application/json).
const (
	Structured = "application/cloudevents+json"
	Batch      = "application/cloudevents-batch+json"
	JSON       = "application/json"
)

// Accepts lists the Content-Types an HTTP push may carry.
var Accepts = []string{JSON, Structured, Batch}

// Whole names the request body itself in a problem's errors (a fault of the body, not of one attribute).
const Whole = "<body>"

// MaxBatch bounds the events of one batch: more is refused as a whole rather than half enqueued.
const MaxBatch = 1000

// Event is one CloudEvent as the integration uses it. Data is the event's JSON object, as sent.
type Event struct {
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	SpecVersion string          `json:"specversion"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject,omitempty"`
	Time        time.Time       `json:"time,omitzero"`
	ContentType string          `json:"datacontenttype,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// Marshal writes e in structured mode, the form the events function enqueues and ReadQueue reads back.
func (e Event) Marshal() ([]byte, error) {
	if e.SpecVersion == "" {
		e.SpecVersion = event.CloudEventsVersionV1
	}
	// HTML escaping would rewrite the data's bytes (& as \u0026): the queue carries the event as it came.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("encoding event %s: %w", e.ID, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// ReadHTTP reads the events of one HTTP push from its headers and body: a batch by its media type, one structured
// event by its media type, one binary-mode event by its ce-specversion header. A JSON body without ce-* headers is
// read as a structured event, since an Event Mesh webhook's default content type is application/json and it
// pushes the event as SAP published it. Every refusal is a problem: 415 for a media type no mode reads, 400 for
// an envelope that is not a CloudEvent 1.0.
func ReadHTTP(h http.Header, body []byte) ([]Event, error) {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return nil, unsupported("the Content-Type is not a media type")
	}
	mt = strings.ToLower(mt)
	switch {
	case mt == Batch:
		return readBatch(body)
	case mt == Structured:
		e, err := readStructured(body)
		if err != nil {
			return nil, err
		}
		return []Event{e}, nil
	case h.Get("Ce-Specversion") != "":
		e, err := readBinary(h, body)
		if err != nil {
			return nil, err
		}
		return []Event{e}, nil
	case mt == JSON:
		if !looksStructured(body) {
			return nil, invalid("ce-specversion", "the request has neither ce-* headers (binary mode) nor a CloudEvent as its JSON body (structured mode)")
		}
		e, err := readStructured(body)
		if err != nil {
			return nil, err
		}
		return []Event{e}, nil
	default:
		return nil, unsupported(cut(mt) + " is not a CloudEvents mode")
	}
}

// ReadQueue reads one event from a queue message: the structured JSON itself, or its base64 encoding (Event Grid
// has written both, and a host with messageEncoding none hands on the encoded text).
func ReadQueue(body []byte) (Event, error) {
	t, err := QueueJSON(body)
	if err != nil {
		return Event{}, err
	}
	return readStructured(t)
}

// QueueJSON is a queue message's JSON text: the message itself, or what its base64 decodes to.
func QueueJSON(body []byte) ([]byte, error) {
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] != '{' {
		dec, err := base64.StdEncoding.DecodeString(string(t))
		if err != nil {
			return nil, invalid("message", "the message is neither a CloudEvent in JSON nor base64 of one")
		}
		t = bytes.TrimSpace(dec)
	}
	return t, nil
}

func readBatch(body []byte) ([]Event, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, invalid(Whole, "a batch is a JSON array of CloudEvents: "+cut(err.Error()))
	}
	if len(raws) > MaxBatch {
		return nil, invalid(Whole, fmt.Sprintf("a batch holds at most %d events, this one %d", MaxBatch, len(raws)))
	}
	out := make([]Event, 0, len(raws))
	for i, r := range raws {
		e, err := readStructured(r)
		if err != nil {
			var pe *problem.Error
			if errors.As(err, &pe) {
				pe.Detail = fmt.Sprintf("event %d of the batch: %s", i+1, pe.Detail)
			}
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func looksStructured(body []byte) bool {
	var probe struct {
		SpecVersion *json.RawMessage `json:"specversion"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.SpecVersion != nil
}

func readStructured(body []byte) (Event, error) {
	if !utf8.Valid(body) {
		return Event{}, invalid(Whole, "the event is not UTF-8 text")
	}
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return Event{}, invalid(Whole, "a structured CloudEvent is a JSON object")
	}
	t, err := checkAttributes(t)
	if err != nil {
		return Event{}, err
	}
	var e event.Event
	if err := json.Unmarshal(t, &e); err != nil {
		return Event{}, invalid(Whole, "the event is not a CloudEvent: "+cut(err.Error()))
	}
	return from(e)
}

// checkAttributes answers for the spec version and the required attributes before the SDK does, so each fault
// is named by its attribute (the SDK reads a 0.3 event, and reports an empty source as a URI that does not parse).
func checkAttributes(obj []byte) ([]byte, error) {
	var probe struct {
		SpecVersion any              `json:"specversion"`
		ID          any              `json:"id"`
		Source      any              `json:"source"`
		Type        any              `json:"type"`
		Time        any              `json:"time"`
		ContentType any              `json:"datacontenttype"`
		Data        *json.RawMessage `json:"data"`
		DataBase64  *json.RawMessage `json:"data_base64"`
	}
	if err := json.Unmarshal(obj, &probe); err != nil {
		return nil, invalid(Whole, "the event is not a JSON object: "+cut(err.Error()))
	}
	switch v := probe.SpecVersion.(type) {
	case nil:
		return nil, invalid("specversion", "the event has no specversion")
	case string:
		if v != event.CloudEventsVersionV1 {
			return nil, invalid("specversion", "specversion "+cut(v)+" is not 1.0")
		}
	default:
		return nil, invalid("specversion", "specversion is not a string")
	}
	for _, a := range []struct {
		name string
		v    any
	}{{"id", probe.ID}, {"source", probe.Source}, {"type", probe.Type}} {
		if s, ok := a.v.(string); !ok || strings.TrimSpace(s) == "" {
			return nil, invalid(a.name, "the event has no "+a.name+" (a non-empty string)")
		}
	}
	if probe.Time != nil {
		s, ok := probe.Time.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); !ok || err != nil {
			return nil, invalid("time", "time is not an RFC 3339 timestamp")
		}
	}
	if probe.Data != nil && probe.DataBase64 != nil {
		// The spec allows one; the SDK would take data_base64 and drop data, which may name another document.
		return nil, invalid("data_base64", "the event carries both data and data_base64")
	}
	if ct, ok := probe.ContentType.(string); ok {
		// Media types are case-insensitive, but the SDK reads data as JSON only under the lower-case names: the
		// type is written lower-case before the SDK reads it.
		if mt, params, err := mime.ParseMediaType(ct); err == nil && mt != ct {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(obj, &m); err == nil {
				b, _ := json.Marshal(mime.FormatMediaType(mt, params))
				m["datacontenttype"] = b
				if fixed, err := json.Marshal(m); err == nil {
					return fixed, nil
				}
			}
		}
	}
	return obj, nil
}

func readBinary(h http.Header, body []byte) (Event, error) {
	// A ce-* header given twice is two values for one attribute; the SDK would take one of them on its own.
	for k, vs := range h {
		if len(vs) > 1 && strings.HasPrefix(strings.ToLower(k), "ce-") {
			return Event{}, invalid(strings.ToLower(k), strings.ToLower(k)+" is given more than once")
		}
	}
	if v := h.Get("Ce-Specversion"); v != event.CloudEventsVersionV1 {
		return Event{}, invalid("ce-specversion", "ce-specversion "+cut(v)+" is not 1.0")
	}
	if v := h.Get("Ce-Time"); v != "" {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			return Event{}, invalid("ce-time", "ce-time is not an RFC 3339 timestamp")
		}
	}
	m := cehttp.NewMessage(h.Clone(), io.NopCloser(bytes.NewReader(body)))
	e, err := binding.ToEvent(context.Background(), m)
	if err != nil {
		return Event{}, invalid("ce-*", "the ce-* headers are not a CloudEvent: "+cut(err.Error()))
	}
	return from(*e)
}

// from checks what the SDK leaves open and copies the event out of the SDK's type.
func from(e event.Event) (Event, error) {
	if err := e.Validate(); err != nil {
		return Event{}, firstField(err)
	}
	out := Event{ID: e.ID(), Source: e.Source(), SpecVersion: e.SpecVersion(), Type: e.Type(), Subject: e.Subject(),
		Time: e.Time(), ContentType: strings.ToLower(e.DataMediaType())}
	// The JSON types the SDK itself reads as JSON in structured mode, so a binary event is enqueued in a form
	// that reads back the same.
	if mt := strings.ToLower(e.DataMediaType()); mt != "" && mt != JSON && mt != "text/json" {
		return Event{}, invalid("datacontenttype", "datacontenttype "+cut(mt)+" is not JSON")
	}
	data := bytes.TrimSpace(e.Data())
	if len(data) == 0 {
		return Event{}, invalid("data", fmt.Sprintf("event %s has no data", cut(out.ID)))
	}
	if data[0] != '{' || !json.Valid(data) {
		return Event{}, invalid("data", fmt.Sprintf("the data of event %s is not a JSON object", cut(out.ID)))
	}
	// Compacted: the queue message that carries it on is bounded, and the layout means nothing.
	var c bytes.Buffer
	if err := json.Compact(&c, data); err != nil {
		return Event{}, invalid("data", fmt.Sprintf("the data of event %s is not a JSON object", cut(out.ID)))
	}
	out.Data = c.Bytes()
	return out, nil
}

// firstField turns the SDK's map of attribute errors into one problem naming the first attribute in the order
// of the spec, so the answer does not change from call to call.
func firstField(err error) error {
	var ve event.ValidationError
	if !errors.As(err, &ve) {
		return invalid(Whole, "the event is not a CloudEvent: "+cut(err.Error()))
	}
	for _, k := range []string{"specversion", "id", "source", "type", "time", "datacontenttype", "dataschema", "subject"} {
		if e, ok := ve[k]; ok {
			return invalid(k, k+": "+cut(e.Error()))
		}
	}
	for k, e := range ve {
		return invalid(k, k+": "+cut(e.Error()))
	}
	return invalid(Whole, "the event is not a CloudEvent")
}

func invalid(field, detail string) error {
	return &problem.Error{Kind: problem.Invalid, Detail: detail, Fields: []problem.FieldError{{Field: field, Reason: detail}}}
}

func unsupported(reason string) error {
	return &problem.Error{Kind: problem.UnsupportedMediaType, Detail: reason + "; send one of: " + strings.Join(Accepts, ", "),
		Fields: []problem.FieldError{{Field: "Content-Type", Reason: reason}}}
}

func cut(s string) string {
	if r := []rune(s); len(r) > 80 {
		return string(r[:80]) + "…"
	}
	return s
}
