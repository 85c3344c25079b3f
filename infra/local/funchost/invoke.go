package funchost

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// HostVersion is what the stand-in reports in X-Azure-Functions-HostVersion and User-Agent.
const HostVersion = "4.0.0-funchost"

const (
	headerInvocationID = "X-Azure-Functions-InvocationId"
	headerHostVersion  = "X-Azure-Functions-HostVersion"
	userAgent          = "Azure-Functions-Host/" + HostVersion
)

// invocation is one call of a function through the invocation protocol (everything except forwarded HTTP).
type invocation struct {
	fn       *function
	id       string
	data     map[string]any
	metadata map[string]any
	// bindingData are the trigger's values for binding expressions in output paths ({id}, {queueTrigger}, ...).
	bindingData map[string]string
	// body, when set, is an HTTP request body written into data[body.binding] as it is read.
	body *bodyStream
}

func newInvocation(fn *function) *invocation {
	now := time.Now().UTC()
	inv := &invocation{fn: fn, id: uuid.NewString(), data: map[string]any{}, metadata: map[string]any{},
		bindingData: map[string]string{}}
	guid := uuid.NewString()
	inv.metadata["sys"] = map[string]any{"MethodName": fn.name, "UtcNow": now.Format(dotnetTime), "RandGuid": guid}
	inv.bindingData["sys.methodname"] = fn.name
	inv.bindingData["sys.utcnow"] = now.Format(dotnetTime)
	inv.bindingData["sys.randguid"] = guid
	return inv
}

// dotnetTime is how Json.NET writes a DateTime/DateTimeOffset.
const dotnetTime = "2006-01-02T15:04:05.9999999Z07:00"

// addMetadata adds one binding-data value as the host does: a value that is not an object is JSON-serialized into
// a string, so a string arrives quoted ("\"abc\"") and a number as its text ("1").
func (inv *invocation) addMetadata(key string, v any) {
	switch x := v.(type) {
	case map[string]any, map[string]string:
		inv.metadata[key] = v
	case string:
		inv.metadata[key] = jsonString(x)
		inv.bindingData[strings.ToLower(key)] = x
	default:
		b, _ := json.Marshal(v)
		inv.metadata[key] = string(b)
		inv.bindingData[strings.ToLower(key)] = string(b)
	}
}

// invocationResult is the handler's answer.
type invocationResult struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []json.RawMessage          `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// InvocationError is a failed invocation: the handler was unreachable, answered non-2xx, or an output binding failed.
type InvocationError struct {
	Function     string
	InvocationID string
	StatusCode   int // the handler's status; 0 when it gave none
	Err          error
}

func (e *InvocationError) Error() string {
	return fmt.Sprintf("invoking %s (%s): %v", e.Function, e.InvocationID, e.Err)
}

func (e *InvocationError) Unwrap() error { return e.Err }

// invoke sends the invocation, prints its logs and applies its non-HTTP output bindings. It returns the result so
// that an HTTP caller can build its response.
func (h *Host) invoke(ctx context.Context, inv *invocation) (*invocationResult, error) {
	fail := func(status int, err error) (*invocationResult, error) {
		h.log.ErrorContext(ctx, "invocation failed", "function", inv.fn.name, "invocation_id", inv.id, "err", err.Error())
		return nil, &InvocationError{Function: inv.fn.name, InvocationID: inv.id, StatusCode: status, Err: err}
	}
	if h.cfg.functionTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.cfg.functionTimeout)
		defer cancel()
	}
	start := time.Now()
	h.log.InfoContext(ctx, "executing", "function", inv.fn.name, "invocation_id", inv.id)
	base, err := h.worker.endpoint(ctx)
	if err != nil {
		return fail(0, err)
	}
	body, wait := invocationBody(inv)
	defer wait()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+inv.fn.name, body)
	if err != nil {
		return fail(0, fmt.Errorf("building the invocation request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	setHostHeaders(req.Header, inv.id)
	resp, err := h.client.Do(req)
	if err != nil {
		return fail(0, fmt.Errorf("sending the invocation: %w", err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fail(resp.StatusCode, fmt.Errorf("reading the invocation response: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(resp.StatusCode, fmt.Errorf("the handler answered %d: %s", resp.StatusCode, snippet(raw)))
	}
	var res invocationResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return fail(resp.StatusCode, fmt.Errorf("decoding the invocation response: %w", err))
	}
	h.printLogs(ctx, inv, res.Logs)
	if err := h.applyOutputs(ctx, inv, &res); err != nil {
		return fail(resp.StatusCode, err)
	}
	attrs := []any{"function", inv.fn.name, "invocation_id", inv.id, "duration_ms", time.Since(start).Milliseconds()}
	if status := answeredStatus(inv.fn, &res); status != 0 {
		// As the forwarded path does: which answers were failures shows in the host's log alone.
		attrs = append(attrs, "status", status)
	}
	h.log.InfoContext(ctx, "executed", attrs...)
	return &res, nil
}

// invocationBody is the invocation as JSON. With a request body it is written through a pipe while it is sent,
// with no length (the host's ObjectContent is sent chunked too); wait returns once the writer has stopped, so the
// request body is never read after its handler has returned.
func invocationBody(inv *invocation) (body io.Reader, wait func()) {
	if inv.body == nil {
		var buf bytes.Buffer
		if err := writeInvocation(&buf, inv); err != nil {
			return errReader{err}, func() {}
		}
		return &buf, func() {}
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeInvocation(pw, inv))
	}()
	return pr, func() {
		pr.Close() // stops a writer the handler no longer reads from
		<-done
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// writeInvocation writes {"Data":{...},"Metadata":{...}} with the keys in order, as encoding/json would, and
// the request body, if any, as the last member of its binding's object.
func writeInvocation(w io.Writer, inv *invocation) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString(`{"Data":{`)
	for i, k := range slices.Sorted(maps.Keys(inv.data)) {
		if i > 0 {
			bw.WriteByte(',')
		}
		key, _ := marshalJSON(k)
		bw.Write(key)
		bw.WriteByte(':')
		v, err := marshalJSON(inv.data[k])
		if err != nil {
			return fmt.Errorf("encoding the invocation: %w", err)
		}
		if inv.body == nil || k != inv.body.binding || len(v) < 2 || v[len(v)-1] != '}' {
			bw.Write(v)
			continue
		}
		bw.Write(v[:len(v)-1])
		if len(v) > 2 {
			bw.WriteByte(',')
		}
		bw.WriteString(`"Body":`)
		if err := writeBodyJSON(bw, inv.body.r, inv.body.base64); err != nil {
			inv.body.err = err
			return err
		}
		bw.WriteByte('}')
	}
	bw.WriteString(`},"Metadata":`)
	md, err := marshalJSON(inv.metadata)
	if err != nil {
		return fmt.Errorf("encoding the invocation: %w", err)
	}
	bw.Write(md)
	bw.WriteString("}\n")
	return bw.Flush()
}

// marshalJSON is json.Marshal leaving <, > and & as they are, as Json.NET does.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func setHostHeaders(hd http.Header, invocationID string) {
	hd.Set(headerHostVersion, HostVersion)
	hd.Set(headerInvocationID, invocationID)
	if ua := hd.Get("User-Agent"); ua != "" {
		hd.Set("User-Agent", ua+" "+userAgent)
	} else {
		hd.Set("User-Agent", userAgent)
	}
}

// snippet shortens a handler's error body for the log; never a whole payload.
func snippet(b []byte) string {
	const max = 200
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

func (h *Host) printLogs(ctx context.Context, inv *invocation, logs []json.RawMessage) {
	for _, l := range logs {
		var s string
		if json.Unmarshal(l, &s) != nil {
			s = string(l)
		}
		h.log.LogAttrs(ctx, slog.LevelInfo, "function log", slog.String("function", inv.fn.name),
			slog.String("invocation_id", inv.id), slog.String("line", s))
	}
}

// outputValue is an output binding's value after the host's conversion.
type outputValue struct {
	bytes []byte          // set when the host decoded a base64 string
	raw   json.RawMessage // otherwise the JSON value
}

// convertOutput applies the host's rule: unless the binding's dataType is binary, a string that Convert.FromBase64String
// accepts is replaced by the decoded bytes.
func convertOutput(b binding, raw json.RawMessage) outputValue {
	var s string
	if !strings.EqualFold(b.DataType, "binary") && json.Unmarshal(raw, &s) == nil {
		if decoded, ok := dotnetBase64(s); ok {
			return outputValue{bytes: decoded}
		}
	}
	return outputValue{raw: raw}
}

// dotnetBase64 decodes as Convert.FromBase64String does: white space ignored, padding required, "" accepted.
func dotnetBase64(s string) ([]byte, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	if len(s)%4 != 0 {
		return nil, false
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// text is the value as message or blob content: bytes as they are, a JSON string's content, any other JSON as text.
func (v outputValue) text() []byte {
	if v.bytes != nil {
		return v.bytes
	}
	var s string
	if json.Unmarshal(v.raw, &s) == nil {
		return []byte(s)
	}
	return []byte(v.raw)
}

func (v outputValue) isNull() bool {
	return v.bytes == nil && (len(v.raw) == 0 || string(v.raw) == "null")
}

// outputRaw finds the value for one output binding: "$return" takes ReturnValue.
func outputRaw(b binding, res *invocationResult) (json.RawMessage, bool) {
	if b.Name == "$return" {
		return res.ReturnValue, len(res.ReturnValue) > 0 && string(res.ReturnValue) != "null"
	}
	v, ok := res.Outputs[b.Name]
	return v, ok && string(v) != "null"
}

func (h *Host) applyOutputs(ctx context.Context, inv *invocation, res *invocationResult) error {
	var problems []error
	for _, b := range inv.fn.outputs {
		if b.is("http") {
			continue
		}
		raw, ok := outputRaw(b, res)
		if !ok {
			continue
		}
		v := convertOutput(b, raw)
		if v.isNull() {
			continue
		}
		var err error
		switch {
		case b.is("queue"):
			err = h.writeQueueOutput(ctx, inv, b, v)
		case b.is("blob"):
			err = h.writeBlobOutput(ctx, inv, b, v)
		}
		if err != nil {
			problems = append(problems, fmt.Errorf("writing output %s: %w", b.Name, err))
		}
	}
	return errors.Join(problems...)
}

// queueMessages splits a queue output into messages: an array gives one message per element.
func queueMessages(v outputValue) [][]byte {
	if v.bytes != nil {
		return [][]byte{v.bytes}
	}
	var arr []json.RawMessage
	if json.Unmarshal(v.raw, &arr) == nil {
		var msgs [][]byte
		for _, e := range arr {
			msgs = append(msgs, outputValue{raw: e}.text())
		}
		return msgs
	}
	return [][]byte{v.text()}
}
