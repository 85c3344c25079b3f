package dataverse

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
	"net/url"
	"strings"
)

// MaxBatchOperations is the most operations one $batch may hold.
const MaxBatchOperations = 1000

// Op is one operation in a $batch. Build it with CreateOp, UpdateOp, UpsertOp, DeleteOp or GetOp.
type Op struct {
	method    string
	path      string // below the API root, or "$<content-id>" to reference an earlier create in a changeset
	query     url.Values
	header    http.Header
	body      any
	contentID string
	err       error
}

// WithContentID names the operation so later operations of its changeset can reference it as "$<id>".
func (o Op) WithContentID(id string) Op { o.contentID = id; return o }

// CreateOp creates a row.
func CreateOp(set string, rec Record) Op {
	return Op{method: http.MethodPost, path: set, body: rec, header: http.Header{}}
}

// UpdateOp updates an existing row (If-Match: the ETag or *).
func UpdateOp(set string, key Key, rec Record, etag string) Op {
	if etag == "" {
		etag = "*"
	}
	op := patchOp(set, key, rec)
	op.header.Set("If-Match", etag)
	return op
}

// UpsertOp writes a row by key with one of the three upsert meanings.
func UpsertOp(set string, key Key, rec Record, mode UpsertMode) Op {
	op := patchOp(set, key, rec)
	switch mode {
	case UpdateOnly:
		op.header.Set("If-Match", "*")
	case CreateOnly:
		op.header.Set("If-None-Match", "*")
	}
	return op
}

func patchOp(set string, key Key, rec Record) Op {
	seg, err := key.segment(set)
	body := Record{}
	for k, v := range rec {
		if !key.has(k) {
			body[k] = v
		}
	}
	return Op{method: http.MethodPatch, path: seg, body: body, header: http.Header{}, err: err}
}

// DeleteOp deletes a row.
func DeleteOp(set string, key Key) Op {
	seg, err := key.segment(set)
	return Op{method: http.MethodDelete, path: seg, header: http.Header{}, err: err}
}

// GetOp reads a row (not allowed inside a changeset).
func GetOp(set string, key Key, o *RetrieveOptions) Op {
	seg, err := key.segment(set)
	q := url.Values{}
	if o != nil {
		if len(o.Select) > 0 {
			q.Set("$select", strings.Join(o.Select, ","))
		}
		if len(o.Expand) > 0 {
			q.Set("$expand", strings.Join(o.Expand, ","))
		}
	}
	return Op{method: http.MethodGet, path: seg, query: q, header: http.Header{}, err: err}
}

// Batch collects operations: each added alone, or in changesets that succeed or fail as a whole.
type Batch struct {
	items [][]Op // a changeset has its ops; a single op is a slice of one with changeset false
	cs    []bool
}

// Add appends operations that run on their own.
func (b *Batch) Add(ops ...Op) *Batch {
	for _, op := range ops {
		b.items = append(b.items, []Op{op})
		b.cs = append(b.cs, false)
	}
	return b
}

// ChangeSet appends operations that run atomically.
func (b *Batch) ChangeSet(ops ...Op) *Batch {
	ops = append([]Op(nil), ops...)
	for j := range ops {
		if ops[j].contentID == "" {
			// Every changeset part gets a Content-ID so a failure can be traced to its operation.
			ops[j].contentID = fmt.Sprint(j + 1)
		}
	}
	b.items = append(b.items, ops)
	b.cs = append(b.cs, true)
	return b
}

// Len is the number of operations.
func (b *Batch) Len() int {
	n := 0
	for _, it := range b.items {
		n += len(it)
	}
	return n
}

// BatchOptions: ContinueOnError runs every operation (Prefer: odata.continue-on-error); by default the
// service stops at the first failure.
type BatchOptions struct {
	ContinueOnError bool
}

// ErrNotRun marks operations the service skipped after an earlier failure.
var ErrNotRun = errors.New("dataverse: operation not run (the batch stopped at an earlier failure)")

// ErrRolledBack marks the other operations of a changeset that failed.
var ErrRolledBack = errors.New("dataverse: operation rolled back with its changeset")

// BatchResult is the outcome of one operation, in the order operations were added.
type BatchResult struct {
	ContentID string
	Status    int
	ID        string // from OData-EntityId
	ETag      string
	Record    Record // a GET's row, or a representation
	Err       error  // *Error, ErrNotRun or ErrRolledBack (wrapping the changeset's *Error)
}

func newBoundary(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// ExecuteBatch sends a $batch and returns one result per operation. The error is for the call itself;
// failures of operations are in the results.
func (c *Client) ExecuteBatch(ctx context.Context, b *Batch, o *BatchOptions) ([]BatchResult, error) {
	n := b.Len()
	if n == 0 {
		return nil, nil
	}
	if n > MaxBatchOperations {
		return nil, fmt.Errorf("executing batch: %d operations, the limit is %d", n, MaxBatchOperations)
	}
	body, ctype, err := c.encodeBatch(b)
	if err != nil {
		return nil, fmt.Errorf("executing batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"$batch", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("executing batch: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	if o != nil && o.ContinueOnError {
		req.Header.Set("Prefer", "odata.continue-on-error")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("executing batch: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading batch response: %w", err)
	}
	mt, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "multipart/mixed" {
		return nil, fmt.Errorf("executing batch: %w", newError(http.MethodPost, "$batch", resp.StatusCode, resp.Header, raw, condNone))
	}
	results, err := decodeBatch(b, raw, params["boundary"])
	if err != nil {
		return nil, fmt.Errorf("reading batch response: %w", err)
	}
	return results, nil
}

func (c *Client) encodeBatch(b *Batch) ([]byte, string, error) {
	var buf bytes.Buffer
	outer := newBoundary("batch_")
	for i, it := range b.items {
		if !b.cs[i] {
			fmt.Fprintf(&buf, "--%s\r\n", outer)
			if err := c.writeOp(&buf, it[0]); err != nil {
				return nil, "", err
			}
			continue
		}
		inner := newBoundary("changeset_")
		fmt.Fprintf(&buf, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", outer, inner)
		for _, op := range it {
			if op.method == http.MethodGet {
				return nil, "", errors.New("a GET cannot be part of a changeset")
			}
			fmt.Fprintf(&buf, "--%s\r\n", inner)
			if err := c.writeOp(&buf, op); err != nil {
				return nil, "", err
			}
		}
		fmt.Fprintf(&buf, "--%s--\r\n", inner)
	}
	fmt.Fprintf(&buf, "--%s--\r\n", outer)
	return buf.Bytes(), "multipart/mixed; boundary=" + outer, nil
}

func (c *Client) writeOp(w *bytes.Buffer, op Op) error {
	if op.err != nil {
		return op.err
	}
	w.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n")
	if op.contentID != "" {
		fmt.Fprintf(w, "Content-ID: %s\r\n", op.contentID)
	}
	target := op.path
	if !strings.HasPrefix(target, "$") {
		target = c.url(op.path, op.query)
	}
	fmt.Fprintf(w, "\r\n%s %s HTTP/1.1\r\n", op.method, target)
	for k, vs := range op.header {
		for _, v := range vs {
			fmt.Fprintf(w, "%s: %s\r\n", k, v)
		}
	}
	if op.body != nil {
		b, err := json.Marshal(op.body)
		if err != nil {
			return fmt.Errorf("encoding batch operation: %w", err)
		}
		w.WriteString("Content-Type: application/json; type=entry\r\n\r\n")
		w.Write(b)
		w.WriteString("\r\n")
	} else {
		w.WriteString("\r\n")
	}
	return nil
}

// decodeBatch maps response parts back onto the operations, in order.
func decodeBatch(b *Batch, raw []byte, boundary string) ([]BatchResult, error) {
	var results []BatchResult
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	for i, it := range b.items {
		part, err := mr.NextPart()
		if err == io.EOF {
			// The service stopped: everything from here was not run.
			for _, rest := range b.items[i:] {
				for _, op := range rest {
					results = append(results, BatchResult{ContentID: op.contentID, Err: ErrNotRun})
				}
			}
			return results, nil
		}
		if err != nil {
			return nil, err
		}
		mt, params, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if mt == "multipart/mixed" {
			cr := multipart.NewReader(part, params["boundary"])
			for _, op := range it {
				cp, err := cr.NextPart()
				if err != nil {
					return nil, fmt.Errorf("changeset response has fewer parts than operations: %w", err)
				}
				results = append(results, readPart(cp, op))
			}
			continue
		}
		r := readPart(part, it[0])
		if !b.cs[i] {
			results = append(results, r)
			continue
		}
		// A failed changeset answers with the failing operation only; every operation is undone.
		for _, op := range it {
			res := BatchResult{ContentID: op.contentID, Status: r.Status,
				Err: fmt.Errorf("%w: %w", ErrRolledBack, r.Err)}
			if op.contentID == r.ContentID || (r.ContentID == "" && len(it) == 1) {
				res.Err = r.Err
			}
			results = append(results, res)
		}
	}
	return results, nil
}

func readPart(p *multipart.Part, op Op) BatchResult {
	res := BatchResult{ContentID: p.Header.Get("Content-ID")}
	if res.ContentID == "" {
		res.ContentID = op.contentID
	}
	resp, err := http.ReadResponse(bufio.NewReader(p), nil)
	if err != nil {
		res.Err = fmt.Errorf("reading batch part: %w", err)
		return res
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	res.Status = resp.StatusCode
	res.ID = idFromEntityID(resp.Header.Get("OData-EntityId"))
	res.ETag = resp.Header.Get("ETag")
	if resp.StatusCode >= 400 {
		res.Err = newError(op.method, op.path, resp.StatusCode, resp.Header, body, conditionOf(op.header))
		return res
	}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&res.Record); err != nil {
			res.Err = fmt.Errorf("decoding batch part: %w", err)
		}
	}
	return res
}
