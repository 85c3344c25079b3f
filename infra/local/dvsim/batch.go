package dvsim

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
)

const maxBatchRequests = 1000

type batchPart struct {
	contentID string
	req       *apiRequest
}

type batchItem struct {
	changeset []batchPart // nil for a single request
	single    *batchPart
}

// serveBatch runs a multipart/mixed $batch: changesets atomically, stopping at the first failure unless
// Prefer: odata.continue-on-error. The whole batch counts as one request; its cost is the sum of its parts.
func (s *Server) serveBatch(ctx context.Context, req *apiRequest) *response {
	items, n, err := parseBatch(req.header.Get("Content-Type"), req.body)
	if err != nil {
		return errorResponse(err)
	}
	if n > maxBatchRequests {
		return errorResponse(errf(400, codeInvalidArgument, "The number of requests in a batch (%d) exceeds the limit of %d.", n, maxBatchRequests))
	}
	_, cont := req.prefer("odata.continue-on-error")
	outer := newBoundary("batchresponse_")
	var buf bytes.Buffer
	failed := false
	total := newResponse(200)
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		if it.single != nil {
			p := it.single
			resp := s.handle(p.req, nil)
			total.ops += resp.ops
			total.reads += resp.reads
			writeHTTPPart(&buf, outer, p.contentID, resp)
			if resp.status >= 400 {
				failed = true
			}
		} else {
			resps, bad := s.runChangeset(it.changeset)
			for _, r := range resps {
				total.ops += r.ops
			}
			if bad != nil {
				writeHTTPPart(&buf, outer, bad.contentID, bad.resp)
				failed = true
			} else {
				inner := newBoundary("changesetresponse_")
				var cs bytes.Buffer
				for i, r := range resps {
					writeHTTPPart(&cs, inner, it.changeset[i].contentID, r)
				}
				fmt.Fprintf(&cs, "--%s--\r\n", inner)
				fmt.Fprintf(&buf, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", outer, inner)
				buf.Write(cs.Bytes())
			}
		}
		if failed && !cont {
			break
		}
	}
	fmt.Fprintf(&buf, "--%s--\r\n", outer)
	if failed && !cont {
		total.status = 400
	}
	total.header.Set("Content-Type", "multipart/mixed; boundary="+outer)
	total.body = buf.Bytes()
	return total
}

type failedPart struct {
	contentID string
	resp      *response
}

// runChangeset runs every part in one transaction; on the first failure everything is undone.
func (s *Server) runChangeset(parts []batchPart) ([]*response, *failedPart) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	x := s.store.begin()
	refs := map[string]string{}
	var out []*response
	for _, p := range parts {
		if p.req.method == http.MethodGet {
			x.rollback()
			return out, &failedPart{p.contentID, errorResponse(errf(400, codeInvalidArgument, "GET requests are not allowed in a change set."))}
		}
		resp := s.dispatch(x, p.req, refs)
		if resp.status >= 400 {
			x.rollback()
			return out, &failedPart{p.contentID, resp}
		}
		if p.contentID != "" {
			refs[p.contentID] = resp.header.Get("OData-EntityId")
		}
		out = append(out, resp)
	}
	return out, nil
}

func newBoundary(prefix string) string { return prefix + newGUID() }

func writeHTTPPart(w *bytes.Buffer, boundary, contentID string, resp *response) {
	fmt.Fprintf(w, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n", boundary)
	if contentID != "" {
		fmt.Fprintf(w, "Content-ID: %s\r\n", contentID)
	}
	fmt.Fprintf(w, "\r\nHTTP/1.1 %d %s\r\n", resp.status, http.StatusText(resp.status))
	resp.header.Set("OData-Version", "4.0")
	_ = resp.header.Write(w)
	w.WriteString("\r\n")
	w.Write(resp.body)
	w.WriteString("\r\n")
}

func parseBatch(contentType string, body []byte) ([]batchItem, int, *apiError) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		return nil, 0, errf(400, codeInvalidArgument, "A $batch needs Content-Type multipart/mixed with a boundary.")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var items []batchItem
	n := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, errf(400, codeInvalidArgument, "Reading $batch part: %v", err)
		}
		pmt, pparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch pmt {
		case "multipart/mixed":
			cr := multipart.NewReader(part, pparams["boundary"])
			var cs []batchPart
			for {
				cp, err := cr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, 0, errf(400, codeInvalidArgument, "Reading change set part: %v", err)
				}
				if m, _, _ := mime.ParseMediaType(cp.Header.Get("Content-Type")); m == "multipart/mixed" {
					return nil, 0, errf(400, codeInvalidArgument, "Change sets cannot be nested.")
				}
				bp, aerr := readHTTPPart(cp)
				if aerr != nil {
					return nil, 0, aerr
				}
				cs = append(cs, bp)
				n++
			}
			items = append(items, batchItem{changeset: cs})
		case "application/http":
			bp, aerr := readHTTPPart(part)
			if aerr != nil {
				return nil, 0, aerr
			}
			items = append(items, batchItem{single: &bp})
			n++
		default:
			return nil, 0, errf(400, codeInvalidArgument, "Unexpected $batch part type %q.", pmt)
		}
	}
	return items, n, nil
}

func readHTTPPart(p *multipart.Part) (batchPart, *apiError) {
	br := bufio.NewReader(p)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return batchPart{}, errf(400, codeInvalidArgument, "Reading a request in $batch: %v", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return batchPart{}, errf(400, codeInvalidArgument, "Bad request line in $batch: %q", line)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return batchPart{}, errf(400, codeInvalidArgument, "Reading request headers in $batch: %v", err)
	}
	body, err := io.ReadAll(br)
	if err != nil {
		return batchPart{}, errf(400, codeInvalidArgument, "Reading a request body in $batch: %v", err)
	}
	// A Content-ID reference ($1) is not a URL; an absolute or rooted URL is cut down to the path after the API root.
	target := f[1]
	rawQuery := ""
	if !strings.HasPrefix(target, "$") {
		u, err := url.Parse(target)
		if err != nil {
			return batchPart{}, errf(400, codeInvalidArgument, "Bad URL in $batch: %q", target)
		}
		target, rawQuery = u.Path, u.RawQuery
	}
	if i := strings.Index(target, apiPrefix); i >= 0 {
		target = target[i+len(apiPrefix):]
	}
	target = strings.TrimPrefix(target, "/")
	q := parseQuery(rawQuery)
	return batchPart{contentID: p.Header.Get("Content-ID"),
		req: &apiRequest{method: f[0], path: target, query: q, header: http.Header(hdr), body: bytes.TrimSpace(body)}}, nil
}
