package funchost

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Handler serves the host's HTTP surface: triggers under the route prefix, the admin call and GET / .
func (h *Host) Handler() http.Handler {
	admin := http.NewServeMux()
	admin.HandleFunc("POST /admin/functions/{name}", h.serveAdminInvoke)
	// Triggers are routed here alone: a ServeMux answers a path with dot segments or a double slash with a
	// redirect to its cleaned form, which the host never does (Kestrel resolves dot segments, keeps the rest).
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status := headRefusal(r); status != 0 {
			w.Header().Set("Connection", "close")
			http.Error(w, http.StatusText(status), status)
			return
		}
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/admin/functions/") {
			admin.ServeHTTP(w, r)
			return
		}
		h.serveTrigger(w, r)
	})
}

// authorize checks the key the host would ask for; it returns the key's name for the request's identity.
func (h *Host) authorize(level string, r *http.Request) (string, bool) {
	if level == "anonymous" {
		return "", true
	}
	key := r.Header.Get("x-functions-key")
	if key == "" {
		key = r.URL.Query().Get("code")
	}
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if key != "" && eq(key, h.keys.master) {
		return "master", true
	}
	if level == "function" && key != "" && eq(key, h.keys.function) {
		return "default", true
	}
	return "", false
}

func (h *Host) serveTrigger(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && len(h.cfg.routePrefix) > 0 {
		// The host answers its root with a landing page; probes use it to see that the host is up.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "Your Functions app (local stand-in) is up and running.\n")
		return
	}
	if p := removeDotSegments(r.URL.EscapedPath()); p != r.URL.EscapedPath() {
		// What routes, reaches the function and is forwarded is the resolved path, as in the host.
		if u, err := url.Parse("http://host" + p); err == nil {
			r.URL.Path, r.URL.RawPath = u.Path, u.RawPath
		}
	}
	parts := pathSegments(r.URL.EscapedPath())
	var rt *route
	var params map[string]string
	for _, c := range h.routes {
		if p, ok := c.match(parts); ok && !h.disabled(c.fn) && (len(c.methods) == 0 || c.methods[r.Method]) {
			rt, params = c, p
			break
		}
	}
	if rt == nil {
		http.NotFound(w, r)
		return
	}
	keyName, ok := h.authorize(rt.authLevel, r)
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !h.admitBody(w, r, rt.fn.name) {
		return
	}
	if h.cfg.forwardHTTP && rt.fn.isHTTPInAndOut() {
		h.forward(w, r, rt)
		return
	}
	h.wrapHTTP(w, r, rt, params, keyName)
}

// forward sends the request unchanged to the handler at the same path and copies the answer back as it is.
func (h *Host) forward(w http.ResponseWriter, r *http.Request, rt *route) {
	id := uuid.NewString()
	ctx := r.Context()
	h.log.InfoContext(ctx, "executing", "function", rt.fn.name, "invocation_id", id, "forwarded", true)
	if h.cfg.functionTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.cfg.functionTimeout)
		defer cancel()
	}
	base, err := h.worker.endpoint(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "invocation failed", "function", rt.fn.name, "invocation_id", id, "err", err.Error())
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	url := base + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		url += "?" + r.URL.RawQuery
	}
	// As ToHttpRequestMessage: the body only with a positive Content-Length, streamed, never held.
	var body io.Reader
	if r.ContentLength > 0 {
		body = r.Body
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, url, body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	out.ContentLength = max(r.ContentLength, 0)
	for k, vs := range r.Header {
		out.Header[k] = append([]string(nil), vs...)
	}
	setHostHeaders(out.Header, id)
	resp, err := h.client.Do(out)
	if err != nil {
		h.log.ErrorContext(ctx, "invocation failed", "function", rt.fn.name, "invocation_id", id, "err", err.Error())
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
	h.log.InfoContext(ctx, "executed", "function", rt.fn.name, "invocation_id", id, "status", resp.StatusCode)
}

// requestData is Data.req as the host builds it, without the body, which follows as a stream when there is one.
func requestData(r *http.Request, params map[string]string, keyName string) (map[string]any, *bodyStream) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.Host + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	headers := map[string][]string{"Host": {r.Host}}
	for k, vs := range r.Header {
		headers[k] = vs
	}
	if len(r.TransferEncoding) > 0 {
		// Go moves it out of the header map; Kestrel's request headers keep it, so the host sends it on.
		headers["Transfer-Encoding"] = r.TransferEncoding
	}
	identities := []any{}
	if keyName != "" {
		level := "Function"
		if keyName == "master" {
			level = "Admin"
		}
		identities = append(identities, map[string]any{
			"AuthenticationType": "WebJobsAuthLevel", "IsAuthenticated": true, "Actor": nil, "BootstrapContext": nil,
			"Label": nil, "Name": nil,
			"NameClaimType": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
			"RoleClaimType": "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
			"Claims": []map[string]string{
				{"Type": "http://schemas.microsoft.com/2017/07/functions/claims/authlevel", "Value": level},
				{"Type": "http://schemas.microsoft.com/2017/07/functions/claims/keyid", "Value": keyName},
			},
		})
	}
	req := map[string]any{"Url": u, "Method": r.Method, "Query": query, "Headers": headers, "Params": params,
		"Identities": identities}
	// The host includes a body only when Content-Length is positive; octet-stream and multipart travel as base64.
	if r.ContentLength <= 0 {
		return req, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return req, &bodyStream{r: r.Body, base64: mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/")}
}

// wrapHTTP turns the request into an invocation and the handler's "res" output into the response.
func (h *Host) wrapHTTP(w http.ResponseWriter, r *http.Request, rt *route, params map[string]string, keyName string) {
	inv := newInvocation(rt.fn)
	req, body := requestData(r, params, keyName)
	inv.data[rt.fn.trigger.Name] = req
	if body != nil {
		body.binding = rt.fn.trigger.Name
		inv.body = body
	}
	for k, v := range params {
		inv.addMetadata(k, v)
	}
	inv.metadata["Query"] = req["Query"]
	flat := map[string]string{}
	for k, vs := range r.Header {
		flat[k] = strings.Join(vs, ",")
	}
	inv.metadata["Headers"] = flat
	res, err := h.invoke(r.Context(), inv)
	if err != nil && body != nil && body.err != nil {
		// The caller's body ended before its Content-Length: Kestrel answers that 400 (the invocation, sent as the
		// body was read, failed with it; the writer has stopped once invoke returns).
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var out binding
	for _, o := range rt.fn.outputs {
		if o.is("http") {
			out = o
		}
	}
	raw, _ := outputRaw(out, res)
	if err := h.writeHTTPOutput(w, rt.fn, raw); err != nil {
		h.log.ErrorContext(r.Context(), "invocation failed", "function", rt.fn.name, "invocation_id", inv.id,
			"err", err.Error())
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// httpOutput is Outputs.res; the host reads its fields case-insensitively, and statusCode may be a string or number.
type httpOutput struct {
	StatusCode json.RawMessage            `json:"statusCode"`
	Status     json.RawMessage            `json:"status"`
	Body       json.RawMessage            `json:"body"`
	Headers    map[string]json.RawMessage `json:"headers"`
}

// status is the answer's status: statusCode, else status, else 200.
func (o httpOutput) status() (int, error) {
	code := o.StatusCode
	if len(code) == 0 {
		code = o.Status
	}
	if len(code) == 0 || string(code) == "null" {
		return http.StatusOK, nil
	}
	var s string
	if json.Unmarshal(code, &s) != nil {
		s = string(code)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 100 || n > 999 {
		return 0, fmt.Errorf("decoding the http output: statusCode %s is not a status", string(code))
	}
	return n, nil
}

// answeredStatus is the status an HTTP function's result answers with, for the log (0 when it has none, or
// none that decodes: writeHTTPOutput reports that).
func answeredStatus(fn *function, res *invocationResult) int {
	for _, b := range fn.outputs {
		if !b.is("http") {
			continue
		}
		raw, ok := outputRaw(b, res)
		if !ok {
			return http.StatusOK // nothing set answers an empty 200
		}
		var o httpOutput
		if json.Unmarshal(raw, &o) != nil {
			return 0
		}
		n, _ := o.status()
		return n
	}
	return 0
}

func (h *Host) writeHTTPOutput(w http.ResponseWriter, fn *function, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		// Nothing set: an empty 200, as an empty response object gives in the host.
		w.WriteHeader(http.StatusOK)
		return nil
	}
	var o httpOutput
	if err := json.Unmarshal(raw, &o); err != nil {
		return fmt.Errorf("decoding the http output: %w", err)
	}
	status, err := o.status()
	if err != nil {
		return err
	}
	if len(o.Status) == 0 || o.Headers == nil {
		// Newer hosts deserialise res with StatusCode, Status, Body and Headers all required.
		h.log.Warn("http output lacks status or headers; newer Functions hosts reject it", "function", fn.name)
	}
	for k, v := range o.Headers {
		var s string
		if json.Unmarshal(v, &s) == nil {
			w.Header().Set(k, s)
			continue
		}
		var ss []string
		if json.Unmarshal(v, &ss) == nil {
			w.Header()[http.CanonicalHeaderKey(k)] = ss
			continue
		}
		w.Header().Set(k, string(v))
	}
	var body []byte
	var s string
	switch {
	case len(o.Body) == 0 || string(o.Body) == "null":
	case json.Unmarshal(o.Body, &s) == nil:
		body = []byte(s)
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
	default:
		body = o.Body
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
	}
	w.WriteHeader(status)
	w.Write(body)
	return nil
}

// serveAdminInvoke is POST /admin/functions/<name> {"input": "..."}: run a non-HTTP function now, with the master key.
func (h *Host) serveAdminInvoke(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize("admin", r); !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var fn *function
	for _, f := range h.fns {
		if strings.EqualFold(f.name, r.PathValue("name")) {
			fn = f
		}
	}
	if fn == nil {
		http.NotFound(w, r)
		return
	}
	if fn.trigger.is("httpTrigger") {
		http.Error(w, "the admin call runs non-HTTP functions only", http.StatusBadRequest)
		return
	}
	var body struct {
		Input string `json:"input"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			http.Error(w, "the body must be {\"input\": \"...\"}", http.StatusBadRequest)
			return
		}
	}
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		ctx := context.WithoutCancel(r.Context())
		switch {
		case fn.trigger.is("timerTrigger"):
			h.fireTimer(ctx, h.timers[fn.name], false)
		case fn.trigger.is("queueTrigger"):
			inv := newInvocation(fn)
			inv.data[fn.trigger.Name] = jsonString(body.Input)
			inv.bindingData["queuetrigger"] = body.Input
			h.invoke(ctx, inv)
		}
	}()
	w.WriteHeader(http.StatusAccepted)
}

// jsonString is Json.NET's SerializeObject of a string: the text as a JSON string literal.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // Json.NET leaves <, > and & as they are
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
