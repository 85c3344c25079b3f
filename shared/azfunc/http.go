package azfunc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// forwarded serves an HTTP function whose request the host forwards unchanged. The body is read here, within the
// limit, so every function gets the same 413 whichever way the host sends requests.
func (s *Server) forwarded(f trigger.Function) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, id, _ := s.begin(r, f)
		if err := trigger.CheckBody(f.Accepts, r.Header); err != nil {
			drain(r.Body)
			problem.Write(w, err, id)
			return
		}
		limit := s.opts.MaxBodyBytes
		var body []byte
		err := errOverLimit
		if r.ContentLength <= limit {
			body, err = readUpTo(r.Body, limit)
		}
		switch {
		case errors.Is(err, errOverLimit):
			drain(r.Body)
			s.log.WarnContext(ctx, "request body over the limit", "limit_bytes", limit)
			problem.Write(w, tooLarge(limit), id)
			return
		case err != nil:
			problem.Write(w, problem.Wrap(problem.Invalid, err, "reading the request body"), id)
			return
		}
		r = r.WithContext(ctx)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		f.HTTP.ServeHTTP(w, r)
	})
}

// invokeHTTP runs an HTTP function from a wrapped request and sets its answer as the http output. A body over the
// limit, or one the host dropped, is answered with a problem here and the function is not run.
func (s *Server) invokeHTTP(ctx context.Context, f trigger.Function, req InvokeRequest, resp *InvokeResponse) error {
	in := f.Definition.Trigger().Name
	hr, err := DecodeHTTPRequest(req.Data[in])
	if err != nil {
		return problem.Wrap(problem.Invalid, err, "decoding HTTP input %q", in)
	}
	body, err := hr.BodyBytes()
	if err != nil {
		return problem.Wrap(problem.Invalid, err, "rebuilding the HTTP request")
	}
	inv, _ := trigger.InvocationFrom(ctx)
	rec := trigger.NewRecorder()
	switch {
	case int64(len(body)) > s.opts.MaxBodyBytes:
		s.log.WarnContext(ctx, "request body over the limit", "limit_bytes", s.opts.MaxBodyBytes, "body_bytes", len(body))
		problem.Write(rec, tooLarge(s.opts.MaxBodyBytes), inv.ID)
	case len(body) == 0 && sentChunked(hr.Headers):
		s.log.WarnContext(ctx, "chunked request body dropped by the host")
		problem.Write(rec, errLengthRequired, inv.ID)
	default:
		r, err := hr.toRequest(ctx, body)
		if err != nil {
			return problem.Wrap(problem.Invalid, err, "rebuilding the HTTP request")
		}
		if err := trigger.CheckBody(f.Accepts, r.Header); err != nil {
			problem.Write(rec, err, inv.ID)
			break
		}
		f.HTTP.ServeHTTP(rec, r)
	}
	return s.setHTTPOutput(f, rec, resp)
}

// setHTTPOutput puts a recorded answer in the function's http output binding (res, or $return).
func (s *Server) setHTTPOutput(f trigger.Function, rec *trigger.Recorder, resp *InvokeResponse) error {
	if !utf8.Valid(rec.Body.Bytes()) {
		// The wrapped response carries the body as a JSON string, which cannot hold arbitrary bytes.
		return problem.New(problem.Internal, "function %s answered a body that is not UTF-8 text; binary answers need a forwarded HTTP function", f.Name)
	}
	out := HTTPResponse{StatusCode: strconv.Itoa(rec.Status()), Status: strconv.Itoa(rec.Status()), Body: rec.Body.String(), Headers: map[string]string{}}
	for k, v := range rec.Header() {
		out.Headers[k] = strings.Join(v, ", ")
	}
	outName := "res"
	for _, b := range f.Definition.Bindings {
		if b.Type == "http" && b.Direction == "out" {
			outName = b.Name
		}
	}
	if outName == "$return" {
		return resp.SetReturnValue(out)
	}
	return resp.SetOutput(outName, out)
}

// toRequest rebuilds an *http.Request from the wrapped form, so HTTP functions are plain http.Handlers.
func (hr HTTPRequest) toRequest(ctx context.Context, body []byte) (*http.Request, error) {
	u, err := url.Parse(hr.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing request URL: %w", err)
	}
	if len(hr.Query) > 0 && u.RawQuery == "" {
		q := url.Values{}
		for k, v := range hr.Query {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
	}
	method := strings.ToUpper(hr.Method)
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	r.RequestURI = u.RequestURI()
	for k, vs := range hr.Headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	for k, v := range hr.Params {
		r.SetPathValue(k, v)
	}
	return r, nil
}
