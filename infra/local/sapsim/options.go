package sapsim

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// options are the parsed system query options of a read.
type options struct {
	filter      *expr
	sel         map[string]bool
	expand      map[string]bool
	top         int // -1: none
	skip        int
	inlineCount bool
	skipToken   string
	format      string
	orderBy     []orderKey
}

type orderKey struct {
	prop prop
	desc bool
}

type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func parseOptions(et *entityType, q url.Values) (*options, error) {
	o := &options{top: -1}
	for k := range q {
		if strings.HasPrefix(k, "$") {
			switch k {
			case "$filter", "$select", "$expand", "$top", "$skip", "$inlinecount", "$skiptoken", "$format", "$orderby":
			default:
				return nil, &queryError{fmt.Sprintf("System query option '%s' is not supported", k)}
			}
		}
	}
	if f := q.Get("$filter"); f != "" {
		e, err := parseFilter(et, f)
		if err != nil {
			return nil, err
		}
		o.filter = e
	}
	if s := q.Get("$select"); s != "" {
		o.sel = map[string]bool{}
		for _, name := range strings.Split(s, ",") {
			name = strings.TrimSpace(name)
			if _, ok := et.prop(name); !ok {
				if _, ok := et.nav(name); !ok && name != "*" {
					return nil, &queryError{fmt.Sprintf("Property '%s' in $select is invalid", name)}
				}
			}
			o.sel[name] = true
		}
		if o.sel["*"] {
			o.sel = nil
		}
	}
	if s := q.Get("$expand"); s != "" {
		o.expand = map[string]bool{}
		for _, path := range strings.Split(s, ",") {
			path = strings.TrimSpace(path)
			cur := et
			for _, seg := range strings.Split(path, "/") {
				n, ok := cur.nav(seg)
				if !ok {
					return nil, &queryError{fmt.Sprintf("Navigation property '%s' in $expand is invalid", seg)}
				}
				if n.Target == "" {
					return nil, &queryError{fmt.Sprintf("$expand of '%s' is not supported by the simulator", seg)}
				}
				cur = typesByName[n.Target]
			}
			o.expand[path] = true
			if head, _, ok := strings.Cut(path, "/"); ok {
				o.expand[head] = true
			}
		}
	}
	for _, opt := range []struct {
		name string
		dst  *int
	}{{"$top", &o.top}, {"$skip", &o.skip}} {
		if s := q.Get(opt.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return nil, &queryError{fmt.Sprintf("Invalid value '%s' for %s", s, opt.name)}
			}
			*opt.dst = n
		}
	}
	switch q.Get("$inlinecount") {
	case "", "none":
	case "allpages":
		o.inlineCount = true
	default:
		return nil, &queryError{"Invalid value for $inlinecount"}
	}
	if s := q.Get("$orderby"); s != "" {
		for _, part := range strings.Split(s, ",") {
			f := strings.Fields(part)
			if len(f) == 0 || len(f) > 2 || len(f) == 2 && f[1] != "asc" && f[1] != "desc" {
				return nil, &queryError{fmt.Sprintf("Invalid $orderby '%s'", part)}
			}
			p, ok := et.prop(f[0])
			if !ok {
				return nil, &queryError{fmt.Sprintf("Property '%s' in $orderby is invalid", f[0])}
			}
			o.orderBy = append(o.orderBy, orderKey{prop: p, desc: len(f) == 2 && f[1] == "desc"})
		}
	}
	o.skipToken = q.Get("$skiptoken")
	o.format = q.Get("$format")
	return o, nil
}
