package dataverse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/d365sap/d365sap/shared/guid"
)

// GUID marks a value as a GUID so that it is written bare in filters and keys.
type GUID string

// Literal formats v as an OData literal: strings in single quotes with quotes doubled, GUIDs bare, numbers
// exactly as given, booleans, null, times as RFC 3339.
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", nil
	case GUID:
		if !guid.Valid(string(x)) {
			return "", fmt.Errorf("%q is not a GUID", string(x))
		}
		return string(x), nil
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return "", fmt.Errorf("%q is not a number", string(x))
		}
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339), nil
	}
	return "", fmt.Errorf("no OData literal for %T", v)
}

// Filterf builds a $filter: every %s verb takes one argument, formatted with Literal, so values are
// always escaped. Example: Filterf("accountnumber eq %s and statecode eq %s", "O'Hara", 0).
func Filterf(format string, args ...any) (string, error) {
	lits := make([]any, len(args))
	for i, a := range args {
		l, err := Literal(a)
		if err != nil {
			return "", fmt.Errorf("building filter: %w", err)
		}
		lits[i] = l
	}
	return fmt.Sprintf(format, lits...), nil
}

// Key names a row: its primary key (ID) or an alternate key (AltKey).
type Key struct {
	id  GUID
	alt []keyPart
}

type keyPart struct {
	col string
	val any
}

// ID is a primary key.
func ID(guid string) Key { return Key{id: GUID(guid)} }

// AltKey is an alternate key from column/value pairs: AltKey("accountnumber", "10100001").
func AltKey(colValues ...any) Key {
	k := Key{}
	for i := 0; i+1 < len(colValues); i += 2 {
		col, _ := colValues[i].(string)
		k.alt = append(k.alt, keyPart{col: col, val: colValues[i+1]})
	}
	if len(colValues)%2 == 1 || len(colValues) == 0 {
		k.alt = append(k.alt, keyPart{}) // rejected by segment
	}
	return k
}

// forbiddenInKey are characters Dataverse cannot take in an alternate key value in a URL.
const forbiddenInKey = `/<>*%&:\?+`

// ErrKeyNotAddressable: an alternate key value holds a character of forbiddenInKey, so no request can name the
// row by that key. It is about the record, not the service: a caller writing many records sets that one aside.
var ErrKeyNotAddressable = errors.New("alternate key value Dataverse does not accept in a URL")

func (k Key) segment(set string) (string, error) {
	if k.id != "" {
		if !guid.Valid(string(k.id)) {
			return "", fmt.Errorf("key %q is not a GUID", string(k.id))
		}
		return set + "(" + string(k.id) + ")", nil
	}
	if len(k.alt) == 0 {
		return "", fmt.Errorf("empty key")
	}
	parts := make([]string, 0, len(k.alt))
	for _, p := range k.alt {
		if p.col == "" {
			return "", fmt.Errorf("alternate key needs column/value pairs")
		}
		if s, ok := p.val.(string); ok && strings.ContainsAny(s, forbiddenInKey) {
			return "", fmt.Errorf("alternate key value %q contains one of %s: %w", s, forbiddenInKey, ErrKeyNotAddressable)
		}
		l, err := Literal(p.val)
		if err != nil {
			return "", fmt.Errorf("alternate key %s: %w", p.col, err)
		}
		parts = append(parts, p.col+"="+l)
	}
	return set + "(" + strings.Join(parts, ",") + ")", nil
}

func (k Key) has(col string) bool {
	for _, p := range k.alt {
		if p.col == col {
			return true
		}
	}
	return false
}

// Query is a read of many rows. Filter is a ready $filter (build it with Filterf).
type Query struct {
	Select   []string
	Filter   string
	Expand   []string
	OrderBy  string
	Top      int
	PageSize int // Prefer: odata.maxpagesize; 0 uses the client's PageSize
}

func (q *Query) values() url.Values {
	v := url.Values{}
	if q == nil {
		return v
	}
	if len(q.Select) > 0 {
		v.Set("$select", strings.Join(q.Select, ","))
	}
	if q.Filter != "" {
		v.Set("$filter", q.Filter)
	}
	if len(q.Expand) > 0 {
		v.Set("$expand", strings.Join(q.Expand, ","))
	}
	if q.OrderBy != "" {
		v.Set("$orderby", q.OrderBy)
	}
	if q.Top > 0 {
		v.Set("$top", strconv.Itoa(q.Top))
	}
	return v
}

type page struct {
	Value     []Record `json:"value"`
	NextLink  string   `json:"@odata.nextLink"`
	DeltaLink string   `json:"@odata.deltaLink"`
}

// List streams the rows of a query, one page at a time, following @odata.nextLink exactly as given.
// Stop ranging to stop reading; an error is yielded once and ends the sequence.
func (c *Client) List(ctx context.Context, set string, q *Query) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		size := c.pageSize
		if q != nil && q.PageSize > 0 {
			size = q.PageSize
		}
		h := http.Header{"Prefer": {"odata.maxpagesize=" + strconv.Itoa(size)}}
		target := c.url(set, q.values())
		for target != "" {
			p, err := c.getPage(ctx, set, target, h)
			if err != nil {
				yield(nil, fmt.Errorf("listing %s: %w", set, err))
				return
			}
			for _, r := range p.Value {
				if !yield(r, nil) {
					return
				}
			}
			target = p.NextLink
		}
	}
}

// getPage fetches one page; a link from the server must stay on the org's API root.
func (c *Client) getPage(ctx context.Context, set, target string, h http.Header) (*page, error) {
	if !c.sameOrg(target) {
		return nil, fmt.Errorf("following link %q: not on the org's Web API", target)
	}
	resp, err := c.sendURL(ctx, request{method: http.MethodGet, path: set, header: h}, target)
	if err != nil {
		return nil, err
	}
	var p page
	if err := decodeJSON(resp, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Change is one entry of a change-tracking read: a new or changed row, or a deletion (Deleted with ID).
type Change struct {
	Record  Record
	Deleted bool
	ID      string
}

// ChangesOptions: DeltaLink empty means the initial (full) read, which returns every row.
type ChangesOptions struct {
	Select    []string
	DeltaLink string
	PageSize  int
}

// Changes reads a table with change tracking and calls fn for each change, page by page. It returns the
// delta link to store for the next call. When the stored link has expired the error matches
// errors.Is(err, ErrChangeTokenExpired): read again with an empty DeltaLink.
func (c *Client) Changes(ctx context.Context, set string, o *ChangesOptions, fn func(Change) error) (string, error) {
	if o == nil {
		o = &ChangesOptions{}
	}
	size := c.pageSize
	if o.PageSize > 0 {
		size = o.PageSize
	}
	h := http.Header{"Prefer": {"odata.track-changes", "odata.maxpagesize=" + strconv.Itoa(size)}}
	target := o.DeltaLink
	if target == "" {
		target = c.url(set, selectQuery(o.Select))
	}
	for {
		p, err := c.getPage(ctx, set, target, h)
		if err != nil {
			return "", fmt.Errorf("reading changes of %s: %w", set, err)
		}
		for _, r := range p.Value {
			ch := Change{Record: r}
			if ctxt, _ := r["@odata.context"].(string); strings.HasSuffix(ctxt, "/$deletedEntity") {
				ch = Change{Deleted: true, ID: r.String("id")}
			}
			if err := fn(ch); err != nil {
				return "", err
			}
		}
		switch {
		case p.NextLink != "":
			target = p.NextLink
		case p.DeltaLink != "":
			return p.DeltaLink, nil
		default:
			return "", fmt.Errorf("reading changes of %s: the response has neither a next link nor a delta link", set)
		}
	}
}

// sameOrg accepts links on the org's host under /api/data/ (a delta link may name another API version).
func (c *Client) sameOrg(target string) bool {
	t, err1 := url.Parse(target)
	b, err2 := url.Parse(c.base)
	return err1 == nil && err2 == nil && t.Scheme == b.Scheme && t.Host == b.Host && strings.HasPrefix(t.Path, "/api/data/")
}

type syncSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *syncSet) has(k string) bool { s.mu.Lock(); defer s.mu.Unlock(); return s.m[k] }
func (s *syncSet) add(k string)      { s.mu.Lock(); defer s.mu.Unlock(); s.m[k] = true }
