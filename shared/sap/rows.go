package sap

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Metadata is the OData V2 __metadata of an entity; ETag is what If-Match needs for an update.
type Metadata struct {
	ID   string `json:"id,omitempty"`
	URI  string `json:"uri,omitempty"`
	Type string `json:"type,omitempty"`
	ETag string `json:"etag,omitempty"`
}

// Expanded is a navigation property: {"results":[...]} when expanded, {"__deferred":{...}} when not.
type Expanded[T any] struct {
	Results  []T
	Deferred bool
}

// UnmarshalJSON accepts both the expanded and the deferred shape (and a bare array).
func (e *Expanded[T]) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*e = Expanded[T]{}
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, &e.Results)
	}
	var v struct {
		Results  []T            `json:"results"`
		Deferred map[string]any `json:"__deferred"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	e.Results, e.Deferred = v.Results, v.Deferred != nil
	return nil
}

// Rows streams a collection page by page: only one page's bytes are in flight and every row is handed over as it
// is decoded, so memory stays flat however many rows SAP holds. Iterate with All.
type Rows[T any] struct {
	c       *Client
	ctx     context.Context
	service string
	set     string
	q       Query
	keep    func(T) bool

	mu       sync.Mutex
	count    int64
	hasCount bool
	pages    int
}

func newRows[T any](ctx context.Context, c *Client, service, set string, q Query) *Rows[T] {
	return &Rows[T]{c: c, ctx: ctx, service: service, set: set, q: q}
}

// Count returns __count (with Query.InlineCount) once the first page has been read.
func (r *Rows[T]) Count() (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count, r.hasCount
}

// Pages returns how many pages were requested so far.
func (r *Rows[T]) Pages() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pages
}

// All yields every row, following __next (server paging) or stepping $skip by Query.PageSize (client paging).
// It stops at the first error, which it yields with a zero row.
func (r *Rows[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yielded := 0
		skip := r.q.Skip
		nextURL := ""
		// One buffer holds each page in turn: reading every page into a fresh one (io.ReadAll doubling its way
		// up to a 20 MB page of price conditions) left each page's buffers behind as garbage, and the heap, and
		// with it the process's peak memory, grew with the number of pages read between collections.
		var page bytes.Buffer
		// window counts the rows of the current $top request, over the __next pages SAP splits it into: a
		// server page smaller than the client's $top ends the window with a short page that is not the end.
		window := 0
		for {
			top := r.q.Top - yielded
			if r.q.Top == 0 {
				top = 0
			}
			if r.q.PageSize > 0 && (top == 0 || r.q.PageSize < top) {
				top = r.q.PageSize
			}
			req := request{method: "GET", service: r.service, path: r.set, rawURL: nextURL}
			if nextURL == "" {
				qs, err := r.q.encode(top, skip)
				if err != nil {
					yield(zero, fmt.Errorf("building query for %s: %w", r.set, err))
					return
				}
				req.query = qs
			}
			resp, err := r.c.do(r.ctx, req)
			if err != nil {
				yield(zero, fmt.Errorf("reading %s: %w", r.set, err))
				return
			}
			r.mu.Lock()
			r.pages++
			r.mu.Unlock()
			// The page is read whole before its rows are yielded: a consumer that writes between rows (a sync
			// writing each batch to Dataverse) would otherwise hold the response open past the client's timeout,
			// which ends the read mid-page. Memory stays one page, whatever the number of pages.
			page.Reset()
			// A declared length sizes the buffer only within the response limit: the header is SAP's (or a
			// proxy's) claim, and the limit is enforced only as the bytes arrive.
			if cl := resp.ContentLength; cl > 0 && cl <= r.c.maxBytes && cl < 1<<31 {
				page.Grow(int(cl) + bytes.MinRead) // ReadFrom wants MinRead free after the last byte, or it doubles
			}
			_, err = page.ReadFrom(resp.Body)
			resp.Body.Close()
			if err != nil {
				yield(zero, fmt.Errorf("reading %s page: %w", r.set, err))
				return
			}
			stopped := false
			n := 0
			pg, err := decodePage(bytes.NewReader(page.Bytes()), func(v T) bool {
				n++
				if r.keep != nil && !r.keep(v) {
					return true
				}
				if r.q.Top > 0 && yielded >= r.q.Top {
					stopped = true
					return false
				}
				yielded++
				if !yield(v, nil) {
					stopped = true
					return false
				}
				return true
			})
			if stopped {
				return
			}
			if err != nil {
				yield(zero, fmt.Errorf("decoding %s page: %w", r.set, err))
				return
			}
			window += n
			if pg.hasCount {
				r.mu.Lock()
				r.count, r.hasCount = pg.count, true
				r.mu.Unlock()
			}
			if r.q.Top > 0 && yielded >= r.q.Top {
				return
			}
			switch {
			case pg.next != "":
				u, err := r.c.nextURL(r.service, pg.next)
				if err != nil {
					yield(zero, err)
					return
				}
				nextURL = u
			case r.q.PageSize > 0 && window == top && window > 0:
				skip += window
				nextURL, window = "", 0
			default:
				return
			}
		}
	}
}

// nextURL accepts SAP's __next only if it stays inside the same service, and rebuilds it on the configured base
// URL: the host in a response never decides where credentials go.
func (c *Client) nextURL(service, next string) (string, error) {
	u, err := url.Parse(next)
	if err != nil {
		return "", fmt.Errorf("parsing __next: %w", err)
	}
	root := ServicePrefix + service + "/"
	path := u.Path
	if !strings.HasPrefix(path, "/") {
		path = root + path
	}
	if !strings.HasPrefix(path, root) || strings.Contains(path, "..") {
		return "", fmt.Errorf("following __next: %q leaves service %s", next, service)
	}
	q := u.RawQuery
	if c.opts.SAPClient != "" && !strings.Contains(q, "sap-client=") {
		if q != "" {
			q += "&"
		}
		q += "sap-client=" + c.opts.SAPClient
	}
	out := c.base.String() + u.EscapedPath()
	if !strings.HasPrefix(u.Path, "/") {
		out = c.base.String() + root + u.EscapedPath()
	}
	if q != "" {
		out += "?" + q
	}
	return out, nil
}

type pageInfo struct {
	next     string
	count    int64
	hasCount bool
}

var errShape = errors.New("unexpected OData V2 JSON shape")

// decodePage walks {"d":{"results":[...],"__count":"N","__next":"..."}} token by token, decoding one row at a time.
// It returns early (without error) when yield returns false.
func decodePage[T any](r io.Reader, yield func(T) bool) (pageInfo, error) {
	var pg pageInfo
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return pg, err
	}
	for dec.More() {
		key, err := readKey(dec)
		if err != nil {
			return pg, err
		}
		if key != "d" {
			if err := skipValue(dec); err != nil {
				return pg, err
			}
			continue
		}
		tok, err := dec.Token()
		if err != nil {
			return pg, err
		}
		switch tok {
		case json.Delim('['): // a bare array, as some V1 answers have
			if ok, err := decodeArray(dec, yield); err != nil || !ok {
				return pg, err
			}
		case json.Delim('{'):
			for dec.More() {
				k, err := readKey(dec)
				if err != nil {
					return pg, err
				}
				switch k {
				case "results":
					if err := expectDelim(dec, '['); err != nil {
						return pg, err
					}
					if ok, err := decodeArray(dec, yield); err != nil || !ok {
						return pg, err
					}
				case "__next":
					if err := dec.Decode(&pg.next); err != nil {
						return pg, fmt.Errorf("decoding __next: %w", err)
					}
				case "__count":
					var s string
					if err := dec.Decode(&s); err != nil {
						return pg, fmt.Errorf("decoding __count: %w", err)
					}
					n, err := strconv.ParseInt(s, 10, 64)
					if err != nil {
						return pg, fmt.Errorf("decoding __count %q: %w", s, err)
					}
					pg.count, pg.hasCount = n, true
				default:
					if err := skipValue(dec); err != nil {
						return pg, err
					}
				}
			}
			if err := expectDelim(dec, '}'); err != nil {
				return pg, err
			}
		default:
			return pg, fmt.Errorf("%w: \"d\" is %v", errShape, tok)
		}
	}
	return pg, nil
}

func decodeArray[T any](dec *json.Decoder, yield func(T) bool) (bool, error) {
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			return false, fmt.Errorf("decoding row: %w", err)
		}
		if !yield(v) {
			return false, nil
		}
	}
	return true, expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("%w: want %v, got %v", errShape, d, tok)
	}
	return nil
}

func readKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%w: want a key, got %v", errShape, tok)
	}
	return k, nil
}

func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}
