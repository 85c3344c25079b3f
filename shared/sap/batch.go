package sap

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
)

// BatchRequest is one operation inside a $batch; Path is relative to the service root ("A_SalesOrder('1')").
type BatchRequest struct {
	Method string
	Path   string
	Header http.Header
	Body   any // JSON-encoded when not nil
}

// BatchPart is either a single read (Request) or an atomic changeset of writes (Changeset).
type BatchPart struct {
	Request   *BatchRequest
	Changeset []BatchRequest
}

// BatchResponse is one answer inside a $batch; Err is set for a non-2xx status.
type BatchResponse struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	Err        *Error
}

// BatchResult answers one BatchPart: one response for a read; for a changeset, one per request when it was
// applied, or a single error response when SAP rolled it back.
type BatchResult struct {
	Responses []BatchResponse
}

// Failed reports whether the part failed (a read error or a rolled-back changeset).
func (r BatchResult) Failed() bool {
	for _, resp := range r.Responses {
		if resp.Err != nil {
			return true
		}
	}
	return len(r.Responses) == 0
}

func newBoundary(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Batch sends parts as one $batch (CSRF token included). Writes inside it are not retried.
func (c *Client) Batch(ctx context.Context, service string, parts []BatchPart) ([]BatchResult, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.SetBoundary(newBoundary("batch_"))
	for _, p := range parts {
		switch {
		case p.Request != nil:
			w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/http"},
				"Content-Transfer-Encoding": {"binary"}})
			if err != nil {
				return nil, fmt.Errorf("building $batch: %w", err)
			}
			if err := writeBatchRequest(w, *p.Request); err != nil {
				return nil, err
			}
		case len(p.Changeset) > 0:
			var cs bytes.Buffer
			cw := multipart.NewWriter(&cs)
			_ = cw.SetBoundary(newBoundary("changeset_"))
			for _, r := range p.Changeset {
				w, err := cw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/http"},
					"Content-Transfer-Encoding": {"binary"}})
				if err != nil {
					return nil, fmt.Errorf("building $batch changeset: %w", err)
				}
				if err := writeBatchRequest(w, r); err != nil {
					return nil, err
				}
			}
			_ = cw.Close()
			w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/mixed; boundary=" + cw.Boundary()}})
			if err != nil {
				return nil, fmt.Errorf("building $batch: %w", err)
			}
			_, _ = w.Write(cs.Bytes())
		default:
			return nil, errors.New("building $batch: a part needs a request or a changeset")
		}
	}
	_ = mw.Close()
	resp, err := c.do(ctx, request{method: http.MethodPost, service: service, path: "$batch", raw: buf.Bytes(),
		ctype: "multipart/mixed; boundary=" + mw.Boundary()})
	if err != nil {
		return nil, fmt.Errorf("sending $batch to %s: %w", service, err)
	}
	defer resp.Body.Close()
	results, err := parseBatchResponse(resp)
	if err != nil {
		return nil, fmt.Errorf("reading $batch answer from %s: %w", service, err)
	}
	if len(results) != len(parts) {
		return results, fmt.Errorf("reading $batch answer from %s: %d parts for %d requests", service, len(results), len(parts))
	}
	return results, nil
}

func writeBatchRequest(w io.Writer, r BatchRequest) error {
	// The outer request carries sap-client; inner request lines stay relative to the service.
	path := r.Path
	if strings.ContainsAny(path, " \r\n") {
		return fmt.Errorf("building $batch: path %q has spaces or line breaks", r.Path)
	}
	fmt.Fprintf(w, "%s %s HTTP/1.1\r\n", r.Method, path)
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	var body []byte
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return fmt.Errorf("encoding $batch body: %w", err)
		}
		body = b
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", fmt.Sprint(len(b)))
	}
	if err := h.Write(w); err != nil {
		return err
	}
	_, _ = io.WriteString(w, "\r\n")
	_, _ = w.Write(body)
	_, _ = io.WriteString(w, "\r\n")
	return nil
}

func parseBatchResponse(resp *http.Response) ([]BatchResult, error) {
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return nil, fmt.Errorf("content type %q is not multipart", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	var out []BatchResult
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		pmt, pparams, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if strings.HasPrefix(pmt, "multipart/") {
			var res BatchResult
			cr := multipart.NewReader(p, pparams["boundary"])
			for {
				cp, err := cr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, err
				}
				br, err := readBatchHTTP(cp)
				if err != nil {
					return nil, err
				}
				res.Responses = append(res.Responses, br)
			}
			out = append(out, res)
			continue
		}
		br, err := readBatchHTTP(p)
		if err != nil {
			return nil, err
		}
		out = append(out, BatchResult{Responses: []BatchResponse{br}})
	}
}

func readBatchHTTP(r io.Reader) (BatchResponse, error) {
	hr, err := http.ReadResponse(bufio.NewReader(r), nil)
	if err != nil {
		return BatchResponse{}, fmt.Errorf("parsing a $batch part: %w", err)
	}
	defer hr.Body.Close()
	body, err := io.ReadAll(io.LimitReader(hr.Body, 16<<20))
	if err != nil {
		return BatchResponse{}, err
	}
	br := BatchResponse{StatusCode: hr.StatusCode, Header: hr.Header, Body: body}
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		br.Err = parseError(hr, body)
	}
	return br, nil
}
