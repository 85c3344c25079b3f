package dataverse

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// BulkOptions configure CreateMultiple, UpdateMultiple and UpsertMultiple.
type BulkOptions struct {
	Entity    string   // logical name for @odata.type; default: the set name without its final "s"
	Key       string   // primary key column; default Entity+"id"
	AltKey    []string // UpsertMultiple by alternate key: the key columns (each record holds them)
	ChunkSize int      // records per request; default 1000 for bulk messages, 100 for the $batch fallback
	// Workers is how many chunks are in flight at most; the client's throttle bounds it further. Default 52.
	Workers int
	// UseBatch skips the bulk message and writes with $batch (for tables known not to support it).
	UseBatch bool
}

// BulkResult lists the ids of created rows in record order, and whether the $batch fallback was used.
// UpdateMultiple and UpsertMultiple answer 204 without ids, so their IDs stay empty unless the $batch fallback
// (which sees each row's OData-EntityId) wrote them.
type BulkResult struct {
	IDs      []string
	Fallback bool
}

// BulkError reports the chunks that failed; the others were written.
type BulkError struct {
	Failures []ChunkFailure
}

// ChunkFailure is a failed range [Start, End) of the records.
type ChunkFailure struct {
	Start, End int
	Err        error
}

func (e *BulkError) Error() string {
	return fmt.Sprintf("dataverse bulk: %d chunk(s) failed, first [%d,%d): %v", len(e.Failures), e.Failures[0].Start,
		e.Failures[0].End, e.Failures[0].Err)
}

// Unwrap gives errors.As access to each chunk's error.
func (e *BulkError) Unwrap() []error {
	out := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		out[i] = f.Err
	}
	return out
}

// CreateMultiple creates rows with the CreateMultiple message (or $batch where the table lacks it).
func (c *Client) CreateMultiple(ctx context.Context, set string, recs []Record, o *BulkOptions) (BulkResult, error) {
	return c.bulk(ctx, "CreateMultiple", set, recs, o)
}

// UpdateMultiple updates rows by primary key (each record holds it) with the UpdateMultiple message.
func (c *Client) UpdateMultiple(ctx context.Context, set string, recs []Record, o *BulkOptions) (BulkResult, error) {
	return c.bulk(ctx, "UpdateMultiple", set, recs, o)
}

// UpsertMultiple upserts rows by primary key or by the alternate key in o.AltKey.
func (c *Client) UpsertMultiple(ctx context.Context, set string, recs []Record, o *BulkOptions) (BulkResult, error) {
	return c.bulk(ctx, "UpsertMultiple", set, recs, o)
}

func (c *Client) bulk(ctx context.Context, msg, set string, recs []Record, o *BulkOptions) (BulkResult, error) {
	var opts BulkOptions
	if o != nil {
		opts = *o
	}
	if opts.Entity == "" {
		opts.Entity = strings.TrimSuffix(set, "s")
	}
	if opts.Key == "" {
		opts.Key = opts.Entity + "id"
	}
	if opts.Workers <= 0 {
		opts.Workers = HardMaxConcurrency
	}
	res := BulkResult{IDs: make([]string, len(recs))}
	size := opts.ChunkSize
	if size <= 0 {
		size = 1000
	}
	type chunk struct{ start, end int }
	var chunks []chunk
	for i := 0; i < len(recs); i += size {
		chunks = append(chunks, chunk{i, min(i+size, len(recs))})
	}
	var mu sync.Mutex
	var failures []ChunkFailure
	var fallback bool
	work := make(chan chunk)
	var wg sync.WaitGroup
	for w := 0; w < min(opts.Workers, len(chunks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range work {
				ids, fb, err := c.bulkChunk(ctx, msg, set, recs[ch.start:ch.end], &opts)
				mu.Lock()
				fallback = fallback || fb
				if err != nil {
					failures = append(failures, ChunkFailure{Start: ch.start, End: ch.end, Err: err})
				}
				copy(res.IDs[ch.start:ch.end], ids)
				mu.Unlock()
			}
		}()
	}
	for _, ch := range chunks {
		if ctx.Err() != nil {
			break
		}
		work <- ch
	}
	close(work)
	wg.Wait()
	res.Fallback = fallback
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("running %s on %s: %w", msg, set, err)
	}
	if len(failures) > 0 {
		return res, &BulkError{Failures: failures}
	}
	return res, nil
}

func (c *Client) bulkChunk(ctx context.Context, msg, set string, recs []Record, o *BulkOptions) ([]string, bool, error) {
	if !o.UseBatch && !c.noBulk.has(set) {
		ids, err := c.bulkMessage(ctx, msg, set, recs, o)
		if err == nil || !bulkUnsupported(err) {
			return ids, false, err
		}
		c.noBulk.add(set)
		c.log.InfoContext(ctx, "bulk message not supported, falling back to $batch", "set", set, "message", msg)
	}
	ids, err := c.bulkBatch(ctx, msg, set, recs, o)
	return ids, true, err
}

// bulkUnsupported recognises the answer of a table without the message.
func bulkUnsupported(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusNotImplemented, http.StatusMethodNotAllowed:
		return strings.Contains(e.Message, "does not support entities of type") ||
			strings.Contains(e.Message, "Resource not found for the segment 'Microsoft.Dynamics.CRM.")
	}
	return false
}

func (c *Client) bulkMessage(ctx context.Context, msg, set string, recs []Record, o *BulkOptions) ([]string, error) {
	targets := make([]Record, len(recs))
	for i, r := range recs {
		t := without(r)
		if msg == "UpsertMultiple" && len(o.AltKey) > 0 {
			seg, err := altKeyOf(r, o.AltKey).segment(set)
			if err != nil {
				return nil, fmt.Errorf("record %d: %w", i, err)
			}
			t["@odata.id"] = seg
			// The key lives in @odata.id only: Dataverse fails the whole request (400 0x80040216) when a target
			// that creates a row repeats a key column in its body.
			t = without(t, o.AltKey...)
		}
		t["@odata.type"] = "Microsoft.Dynamics.CRM." + o.Entity
		targets[i] = t
	}
	if msg != "CreateMultiple" {
		// Updates and upserts by key give the same result when repeated, so they may be retried.
		ctx = withIdempotent(ctx)
	}
	resp, err := c.send(ctx, request{method: http.MethodPost, path: set + "/Microsoft.Dynamics.CRM." + msg,
		body: map[string]any{"Targets": targets}})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNoContent {
		closeBody(resp)
		return make([]string, len(recs)), nil
	}
	var out struct {
		IDs []string `json:"Ids"`
	}
	if err := decodeJSON(resp, &out); err != nil {
		return nil, err
	}
	if len(out.IDs) != len(recs) {
		return nil, fmt.Errorf("%s returned %d ids for %d records", msg, len(out.IDs), len(recs))
	}
	return out.IDs, nil
}

func altKeyOf(r Record, cols []string) Key {
	pairs := make([]any, 0, 2*len(cols))
	for _, c := range cols {
		pairs = append(pairs, c, r[c])
	}
	return AltKey(pairs...)
}

// bulkBatch sends the records as one $batch with continue-on-error, 100 per request unless configured.
func (c *Client) bulkBatch(ctx context.Context, msg, set string, recs []Record, o *BulkOptions) ([]string, error) {
	size := o.ChunkSize
	if size <= 0 || size > 100 {
		size = 100
	}
	ids := make([]string, len(recs))
	var errs []error
	for start := 0; start < len(recs); start += size {
		end := min(start+size, len(recs))
		b := &Batch{}
		for _, r := range recs[start:end] {
			switch msg {
			case "CreateMultiple":
				b.Add(CreateOp(set, r))
			case "UpdateMultiple":
				id, _ := r[o.Key].(string)
				b.Add(UpdateOp(set, ID(id), without(r, o.Key), ""))
			default:
				if len(o.AltKey) > 0 {
					b.Add(UpsertOp(set, altKeyOf(r, o.AltKey), without(r, o.AltKey...), Upsert))
				} else {
					id, _ := r[o.Key].(string)
					b.Add(UpsertOp(set, ID(id), without(r, o.Key), Upsert))
				}
			}
		}
		results, err := c.ExecuteBatch(ctx, b, &BatchOptions{ContinueOnError: true})
		if err != nil {
			return nil, err
		}
		for i, r := range results {
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("record %d: %w", start+i, r.Err))
				continue
			}
			if msg != "UpdateMultiple" {
				ids[start+i] = r.ID
			}
		}
	}
	return ids, errors.Join(errs...)
}

// without copies r leaving out cols.
func without(r Record, cols ...string) Record {
	out := make(Record, len(r))
	for k, v := range r {
		if !slices.Contains(cols, k) {
			out[k] = v
		}
	}
	return out
}
