// Package azfunc speaks the Azure Functions custom-handler protocol: the host POSTs an invocation for each
// trigger to /{FunctionName} (or forwards HTTP requests as they are), and this package turns those payloads into the
// runtime-neutral types of package trigger, runs the function, and answers in the shape the host expects.
//
// The host's payloads vary between its documentation and its source (see the contract in the reference kit), so
// every decoder here accepts both: values JSON-encoded twice, numbers and times as quoted strings, null statuses.
package azfunc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// InvokeRequest is the body of an invocation: the input bindings by name, and the trigger's metadata.
type InvokeRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// InvokeResponse is the answer to an invocation. Outputs are keyed by output binding name; Logs go to the
// invocation's log; ReturnValue fills a $return binding.
type InvokeResponse struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// SetOutput sets an output binding's value. Strings that are valid base64 are refused, because the host decodes
// such a string and writes the decoded bytes instead of the text: "1234" would reach the queue as three odd bytes.
// Structured values (objects, arrays) are always safe.
func (r *InvokeResponse) SetOutput(binding string, v any) error {
	raw, err := safeOutput(v)
	if err != nil {
		return fmt.Errorf("setting output %q: %w", binding, err)
	}
	if r.Outputs == nil {
		r.Outputs = map[string]json.RawMessage{}
	}
	r.Outputs[binding] = raw
	return nil
}

// SetReturnValue sets the $return binding's value, with the same base64 guard as SetOutput.
func (r *InvokeResponse) SetReturnValue(v any) error {
	raw, err := safeOutput(v)
	if err != nil {
		return fmt.Errorf("setting return value: %w", err)
	}
	r.ReturnValue = raw
	return nil
}

// ErrBase64Output is returned for an output string the host would decode as base64.
var ErrBase64Output = fmt.Errorf("output string is valid base64 and would be decoded by the host; send a JSON object instead")

func safeOutput(v any) (json.RawMessage, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding output: %w", err)
	}
	if err := checkOutput(raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// checkOutput walks strings and arrays of strings (a queue output may be an array of messages).
func checkOutput(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if IsHostBase64(s) {
			return fmt.Errorf("%w: %q", ErrBase64Output, truncate(s, 32))
		}
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return err
		}
		for i, it := range items {
			if err := checkOutput(it); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// IsHostBase64 says whether .NET's Convert.FromBase64String would accept s: whitespace ignored, the rest a
// multiple of four characters from the base64 alphabet with at most two '=' at the end. The empty string is accepted
// by .NET too.
func IsHostBase64(s string) bool {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		b.WriteRune(c)
	}
	t := b.String()
	if len(t)%4 != 0 {
		return false
	}
	pad := 0
	for i := len(t) - 1; i >= 0 && t[i] == '='; i-- {
		pad++
	}
	if pad > 2 {
		return false
	}
	for _, c := range t[:len(t)-pad] {
		isAlnum := (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !isAlnum && c != '+' && c != '/' {
			return false
		}
	}
	return true
}

// unwrapJSON peels JSON string layers that hold JSON text: the host passes non-object values through
// JsonConvert.SerializeObject, so an object may arrive as a string holding the object, possibly quoted again.
// Raw that is not a JSON string is returned unchanged.
func unwrapJSON(raw json.RawMessage) json.RawMessage {
	for i := 0; i < 3; i++ {
		t := bytes.TrimSpace(raw)
		if len(t) == 0 || t[0] != '"' {
			return t
		}
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return t
		}
		inner := strings.TrimSpace(s)
		if inner == "" || !json.Valid([]byte(inner)) {
			return t
		}
		raw = json.RawMessage(inner)
	}
	return raw
}

// HTTPRequest is the wrapped form of an HTTP trigger's request ("Data.req").
type HTTPRequest struct {
	URL        string          `json:"Url"`
	Method     string          `json:"Method"`
	Query      StringMap       `json:"Query"`
	Headers    MultiMap        `json:"Headers"`
	Params     StringMap       `json:"Params"`
	Identities json.RawMessage `json:"Identities,omitempty"`
	// Body is a JSON string (text, or base64 for octet-stream and multipart), JSON itself in some host versions,
	// or absent when the request had no body.
	Body json.RawMessage `json:"Body,omitempty"`
}

// BodyBytes decodes Body according to the request's content type.
func (r HTTPRequest) BodyBytes() ([]byte, error) {
	raw := bytes.TrimSpace(r.Body)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '"' {
		// Some hosts hand JSON bodies over already parsed.
		return []byte(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decoding request body: %w", err)
	}
	if isBinaryMediaType(r.Headers.Get("Content-Type")) {
		b, err := decodeStdBase64(s)
		if err != nil {
			return nil, fmt.Errorf("decoding base64 request body: %w", err)
		}
		return b, nil
	}
	return []byte(s), nil
}

// isBinaryMediaType matches the host's rule: octet-stream and multipart bodies are sent as base64.
func isBinaryMediaType(ct string) bool {
	ct = strings.ToLower(strings.TrimSpace(ct))
	return strings.HasPrefix(ct, "application/octet-stream") || strings.HasPrefix(ct, "multipart/")
}

// HTTPResponse is the wrapped form of an HTTP answer ("Outputs.res"). Newer hosts deserialise it with all four
// members required (HttpOutputBindingResponse in the host source), so all four are always sent.
type HTTPResponse struct {
	StatusCode string            `json:"statusCode"`
	Status     string            `json:"status"`
	Body       string            `json:"body"`
	Headers    map[string]string `json:"headers"`
}

// TimerInfo is a timer trigger's input.
type TimerInfo struct {
	Schedule       *TimerSchedule  `json:"Schedule,omitempty"`
	ScheduleStatus *ScheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool            `json:"IsPastDue"`
}

// TimerSchedule describes the schedule.
type TimerSchedule struct {
	AdjustForDST bool `json:"AdjustForDST"`
}

// ScheduleStatus is the monitor's record of runs; null when the timer has no monitor or on the first run.
type ScheduleStatus struct {
	Last        Time `json:"Last"`
	Next        Time `json:"Next"`
	LastUpdated Time `json:"LastUpdated"`
}

// QueueMetadata is the queue trigger's metadata.
type QueueMetadata struct {
	DequeueCount    Int    `json:"DequeueCount"`
	ID              String `json:"Id"`
	PopReceipt      String `json:"PopReceipt"`
	InsertionTime   Time   `json:"InsertionTime"`
	ExpirationTime  Time   `json:"ExpirationTime"`
	NextVisibleTime Time   `json:"NextVisibleTime"`
}

// SysMetadata is the host's "sys" metadata.
type SysMetadata struct {
	MethodName String `json:"MethodName"`
	UtcNow     Time   `json:"UtcNow"`
	RandGUID   String `json:"RandGuid"`
}

// String decodes a string sent bare, quoted once more ("\"abc\""), or as a number.
type String string

// UnmarshalJSON accepts the host's variants.
func (s *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*s = ""
		return nil
	}
	if len(b) > 0 && b[0] != '"' {
		*s = String(b) // a bare number
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	// A second layer of quotes: "\"abc\"".
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		var inner string
		if err := json.Unmarshal([]byte(v), &inner); err == nil {
			v = inner
		}
	}
	*s = String(v)
	return nil
}

// Int decodes an integer sent as a number or a (possibly twice-quoted) string, as DequeueCount:"1".
type Int int

// UnmarshalJSON accepts the host's variants.
func (n *Int) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("decoding integer: %w", err)
	}
	if s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(s)))
	if err != nil {
		return fmt.Errorf("decoding integer %q: %w", string(s), err)
	}
	*n = Int(v)
	return nil
}

// Time decodes the host's time strings: ISO 8601 with or without a zone (no zone means UTC), possibly quoted
// twice, or .NET's MinValue for "never".
type Time struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04:05",
	time.RFC1123,
	"1/2/2006 3:04:05 PM -07:00",
	"1/2/2006 3:04:05 PM",
}

// UnmarshalJSON accepts the host's variants.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("decoding time: %w", err)
	}
	v := strings.TrimSpace(string(s))
	if v == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, l := range timeLayouts {
		if p, err := time.Parse(l, v); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("decoding time %q: unknown format", v)
}

// MarshalJSON writes RFC 3339, the host's format.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.Time.UTC().Format(time.RFC3339Nano))
}

// StringMap decodes {k:"v"}, each value byte for byte; a value sent as an array takes its first element, a number
// its text.
type StringMap map[string]string

// UnmarshalJSON accepts the host's variants.
func (m *StringMap) UnmarshalJSON(b []byte) error {
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(unwrapJSON(b), &raw); err != nil {
		return fmt.Errorf("decoding string map: %w", err)
	}
	out := make(StringMap, len(raw))
	for k, v := range raw {
		vals, err := decodeValues(v)
		if err != nil {
			return fmt.Errorf("decoding %q: %w", k, err)
		}
		if len(vals) > 0 {
			out[k] = vals[0]
		} else {
			out[k] = ""
		}
	}
	*m = out
	return nil
}

// MultiMap decodes headers sent as {k:["v"]} (the host) or {k:"v"} (the docs), each value byte for byte.
type MultiMap map[string][]string

// UnmarshalJSON accepts the host's variants.
func (m *MultiMap) UnmarshalJSON(b []byte) error {
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(unwrapJSON(b), &raw); err != nil {
		return fmt.Errorf("decoding header map: %w", err)
	}
	out := make(MultiMap, len(raw))
	for k, v := range raw {
		vals, err := decodeValues(v)
		if err != nil {
			return fmt.Errorf("decoding %q: %w", k, err)
		}
		out[k] = vals
	}
	*m = out
	return nil
}

// Get returns the first value of a header, case-insensitively.
func (m MultiMap) Get(name string) string {
	for k, v := range m {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// decodeValues reads one header, query or route value of Data.req, byte for byte. The host builds those maps with
// JObject.FromObject, which encodes each value once, so a value that is itself quoted (a strong ETag, "\"x\"") keeps
// its quotes. String's peeling of a second layer is for binding data in Metadata, which the host passes through
// JsonConvert.SerializeObject; applied here it turned If-None-Match: "3f1c9e" into 3f1c9e, and no ETag matched.
func decodeValues(v json.RawMessage) ([]string, error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || string(v) == "null" {
		return nil, nil
	}
	if v[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, err
		}
		out := make([]string, len(items))
		for i, it := range items {
			s, err := valueText(it)
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	}
	s, err := valueText(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// valueText is a JSON string's content exactly, or the text of a bare number or boolean.
func valueText(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || string(v) == "null":
		return "", nil
	case v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case v[0] == '{' || v[0] == '[':
		return "", fmt.Errorf("a value is %.20s..., not text", v)
	}
	return string(v), nil
}

// QueueMessageBytes extracts a queue message from its Data value: a JSON string holding the message, a JSON
// string holding the message quoted once more (host source), or the message's JSON itself (some host versions).
func QueueMessageBytes(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("decoding queue message: no message in the invocation")
	}
	if raw[0] != '"' {
		return []byte(raw), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("decoding queue message: %w", err)
	}
	// The host's extra layer: the string's content is itself a JSON string literal.
	if t := strings.TrimSpace(s); len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		var inner string
		if err := json.Unmarshal([]byte(t), &inner); err == nil {
			return []byte(inner), nil
		}
	}
	return []byte(s), nil
}

// DecodeTimer decodes a timer trigger's Data value, tolerating the object sent as a JSON string.
func DecodeTimer(raw json.RawMessage) (TimerInfo, error) {
	var ti TimerInfo
	raw = unwrapJSON(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ti, nil
	}
	if err := json.Unmarshal(raw, &ti); err != nil {
		return TimerInfo{}, fmt.Errorf("decoding timer info: %w", err)
	}
	return ti, nil
}

// DecodeHTTPRequest decodes a wrapped HTTP trigger's Data value.
func DecodeHTTPRequest(raw json.RawMessage) (HTTPRequest, error) {
	var r HTTPRequest
	if err := json.Unmarshal(unwrapJSON(raw), &r); err != nil {
		return HTTPRequest{}, fmt.Errorf("decoding HTTP request: %w", err)
	}
	if len(r.Identities) > 0 {
		var c bytes.Buffer
		if json.Compact(&c, r.Identities) == nil {
			r.Identities = c.Bytes()
		}
	}
	return r, nil
}

// DecodeQueueMetadata decodes a queue trigger's metadata.
func DecodeQueueMetadata(md map[string]json.RawMessage) (QueueMetadata, error) {
	b, err := json.Marshal(md)
	if err != nil {
		return QueueMetadata{}, err
	}
	var q QueueMetadata
	if err := json.Unmarshal(b, &q); err != nil {
		return QueueMetadata{}, fmt.Errorf("decoding queue metadata: %w", err)
	}
	return q, nil
}
