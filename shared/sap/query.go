package sap

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Query holds the OData system query options of a read.
type Query struct {
	Filter  Filter
	Select  []string
	Expand  []string
	OrderBy []string // "Field" or "Field desc"
	// Top caps the number of rows returned over all pages; 0 means no cap.
	Top int
	// Skip skips rows before the first one returned.
	Skip int
	// InlineCount asks for $inlinecount=allpages (see Page.Count).
	InlineCount bool
	// PageSize makes the client page itself with $top/$skip when the server does not send __next; 0 leaves paging to
	// the server.
	PageSize int
}

// escapeQuery escapes a query value with %20 for spaces (SAP Gateway treats '+' literally in some releases).
func escapeQuery(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func checkFields(opt string, fields []string) error {
	for _, f := range fields {
		name, _, _ := strings.Cut(f, " ")
		if !validField(name) {
			return fmt.Errorf("%s field %q: %w", opt, f, ErrInvalidFilter)
		}
	}
	return nil
}

// encode returns the query string (without '?') for one request; top and skip override q's for client paging.
func (q Query) encode(top, skip int) (string, error) {
	if err := q.Filter.Err(); err != nil {
		return "", err
	}
	for opt, fields := range map[string][]string{"$select": q.Select, "$expand": q.Expand, "$orderby": q.OrderBy} {
		if err := checkFields(opt, fields); err != nil {
			return "", err
		}
	}
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+escapeQuery(v)) }
	if q.Filter.expr != "" {
		add("$filter", q.Filter.expr)
	}
	if len(q.Select) > 0 {
		add("$select", strings.Join(q.Select, ","))
	}
	if len(q.Expand) > 0 {
		add("$expand", strings.Join(q.Expand, ","))
	}
	if len(q.OrderBy) > 0 {
		add("$orderby", strings.Join(q.OrderBy, ","))
	}
	if top > 0 {
		add("$top", strconv.Itoa(top))
	}
	if skip > 0 {
		add("$skip", strconv.Itoa(skip))
	}
	if q.InlineCount {
		add("$inlinecount", "allpages")
	}
	return strings.Join(parts, "&"), nil
}
