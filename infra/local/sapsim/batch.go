package sapsim

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

// recorder captures one inner response of a $batch.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// batch runs a multipart/mixed $batch: reads one by one, each changeset atomically (all or nothing, answered by
// one error part when any request fails), and answers 202 with the parts in order.
func (h *handler) batch(w http.ResponseWriter, r *http.Request) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "A $batch needs Content-Type multipart/mixed with a boundary", "")
		return
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, 16<<20), params["boundary"])
	var out bytes.Buffer
	ow := multipart.NewWriter(&out)
	_ = ow.SetBoundary("batchresponse_" + randomHex(16))
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "Malformed $batch: "+err.Error(), "")
			return
		}
		pmt, pparams, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch pmt {
		case "application/http":
			rec, err := h.runInner(r, part, nil)
			if err != nil {
				h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "Malformed $batch part: "+err.Error(), "")
				return
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			writeInner(ow, rec)
		case "multipart/mixed":
			cr := multipart.NewReader(part, pparams["boundary"])
			t := &tx{}
			var recs []*recorder
			var failed *recorder
			for {
				cp, err := cr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "Malformed changeset: "+err.Error(), "")
					return
				}
				if failed != nil {
					continue
				}
				rec, err := h.runInner(r, cp, t)
				if err != nil {
					h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", "Malformed changeset part: "+err.Error(), "")
					return
				}
				if rec.status >= 300 {
					failed = rec
					continue
				}
				recs = append(recs, rec)
			}
			if failed != nil {
				for i := len(t.undo) - 1; i >= 0; i-- {
					t.undo[i]()
				}
				writeInner(ow, failed)
				continue
			}
			var cs bytes.Buffer
			cw := multipart.NewWriter(&cs)
			_ = cw.SetBoundary("changesetresponse_" + randomHex(16))
			for _, rec := range recs {
				writeInner(cw, rec)
			}
			_ = cw.Close()
			pw, _ := ow.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/mixed; boundary=" + cw.Boundary()}})
			_, _ = pw.Write(cs.Bytes())
		default:
			h.fail(w, http.StatusBadRequest, "/IWBEP/CM_MGW_RT/004", fmt.Sprintf("Unsupported $batch part type '%s'", pmt), "")
			return
		}
	}
	_ = ow.Close()
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+ow.Boundary())
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(out.Bytes())
}

// runInner parses one application/http part ("GET A_SalesOrder('1') HTTP/1.1") and runs it against the service.
func (h *handler) runInner(outer *http.Request, part io.Reader, t *tx) (*recorder, error) {
	br := bufio.NewReader(part)
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	// SAP's request lines are relative to the service ("GET A_SalesOrder('1') HTTP/1.1"), which
	// http.ReadRequest refuses; it reads the line with a leading slash instead.
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return nil, fmt.Errorf("malformed request line %q", strings.TrimSpace(line))
	}
	target := fields[1]
	if strings.HasPrefix(target, "/") || strings.Contains(target, "://") {
		return nil, fmt.Errorf("request line must be relative to the service: %s", target)
	}
	inner, err := http.ReadRequest(bufio.NewReader(io.MultiReader(
		strings.NewReader(fields[0]+" /"+target+" "+fields[2]+"\r\n"), br)))
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	if t == nil && isWrite(inner.Method) {
		return nil, fmt.Errorf("a %s must sit in a changeset", inner.Method)
	}
	if t != nil && !isWrite(inner.Method) {
		return nil, fmt.Errorf("a changeset may hold writes only, not %s", inner.Method)
	}
	ctx := outer.Context()
	if t != nil {
		ctx = context.WithValue(ctx, txKey, t)
	}
	req := inner.WithContext(ctx)
	req.URL = u
	req.RequestURI = ""
	req.Host = outer.Host
	rec := &recorder{header: http.Header{}}
	h.serve(rec, req, strings.TrimPrefix(u.Path, "/"))
	return rec, nil
}

func writeInner(mw *multipart.Writer, rec *recorder) {
	pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/http"}, "Content-Transfer-Encoding": {"binary"}})
	fmt.Fprintf(pw, "HTTP/1.1 %d %s\r\n", rec.status, http.StatusText(rec.status))
	rec.header.Set("Content-Length", fmt.Sprint(rec.body.Len()))
	_ = rec.header.Write(pw)
	_, _ = io.WriteString(pw, "\r\n")
	_, _ = pw.Write(rec.body.Bytes())
	_, _ = io.WriteString(pw, "\r\n")
}

type ctxKey int

const txKey ctxKey = 0

// tx collects undo steps of a $batch changeset so a failed changeset leaves nothing behind.
type tx struct{ undo []func() }

func txFrom(ctx context.Context) *tx {
	t, _ := ctx.Value(txKey).(*tx)
	return t
}
