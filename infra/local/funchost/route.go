package funchost

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// route is one HTTP trigger's URL template.
type route struct {
	fn        *function
	segments  []segment
	methods   map[string]bool // empty: every method
	authLevel string
}

type segment struct {
	literal    string // for a literal segment
	param      string // for {name}
	constraint string // {name:int}
	optional   bool   // {name?}
	catchAll   bool   // {*name}
}

var paramSegment = regexp.MustCompile(`^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\([^)]*\))?)?(\??)\}$`)

func newRoute(prefix string, fn *function) (*route, error) {
	t := fn.trigger
	tmpl := t.Route
	if tmpl == "" {
		tmpl = fn.name
	}
	r := &route{fn: fn, methods: map[string]bool{}, authLevel: strings.ToLower(t.AuthLevel)}
	if r.authLevel == "" {
		r.authLevel = "function" // the host's default
	}
	switch r.authLevel {
	case "anonymous", "function", "admin", "system":
	default:
		return nil, fmt.Errorf("httpTrigger: unknown authLevel %q", t.AuthLevel)
	}
	for _, m := range t.Methods {
		r.methods[strings.ToUpper(m)] = true
	}
	var parts []string
	if prefix != "" {
		parts = append(parts, strings.Split(prefix, "/")...)
	}
	if s := strings.Trim(tmpl, "/"); s != "" {
		parts = append(parts, strings.Split(s, "/")...)
	}
	for i, p := range parts {
		if !strings.Contains(p, "{") {
			r.segments = append(r.segments, segment{literal: p})
			continue
		}
		m := paramSegment.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("httpTrigger route %q: segment %q is not supported", tmpl, p)
		}
		sg := segment{param: m[2], constraint: strings.ToLower(m[3]), optional: m[4] == "?", catchAll: m[1] == "*"}
		if sg.catchAll && i != len(parts)-1 {
			return nil, fmt.Errorf("httpTrigger route %q: a catch-all must be last", tmpl)
		}
		r.segments = append(r.segments, sg)
	}
	return r, nil
}

// rank orders segments the way ASP.NET routing prefers them: literals, then constrained, plain, optional, catch-all.
func (s segment) rank() int {
	switch {
	case s.param == "":
		return 0
	case s.catchAll:
		return 4
	case s.optional:
		return 3
	case s.constraint != "":
		return 1
	}
	return 2
}

func sortRoutes(rs []*route) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i].segments, rs[j].segments
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k].rank() != b[k].rank() {
				return a[k].rank() < b[k].rank()
			}
		}
		return len(a) > len(b)
	})
}

func (r *route) display() string {
	var b strings.Builder
	for _, s := range r.segments {
		b.WriteString("/")
		switch {
		case s.param == "":
			b.WriteString(s.literal)
		case s.catchAll:
			b.WriteString("{*" + s.param + "}")
		default:
			b.WriteString("{" + s.param + "}")
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

func (r *route) methodList() string {
	if len(r.methods) == 0 {
		return "ALL"
	}
	var ms []string
	for m := range r.methods {
		ms = append(ms, m)
	}
	sort.Strings(ms)
	return strings.Join(ms, ",")
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

func constraintOK(c, v string) bool {
	switch c {
	case "int", "long":
		_, err := strconv.ParseInt(v, 10, 64)
		return err == nil
	case "double", "decimal", "float":
		_, err := strconv.ParseFloat(v, 64)
		return err == nil
	case "bool":
		_, err := strconv.ParseBool(v)
		return err == nil
	case "alpha":
		return regexp.MustCompile(`^[A-Za-z]+$`).MatchString(v)
	case "guid":
		return guidPattern.MatchString(v)
	}
	return true
}

// match compares the request path's segments (pathSegments) with the template and returns the route parameters.
func (r *route) match(parts []string) (map[string]string, bool) {
	params := map[string]string{}
	i := 0
	for _, s := range r.segments {
		switch {
		case s.catchAll:
			if i < len(parts) {
				params[s.param] = strings.Join(parts[i:], "/")
			}
			return params, true
		case i >= len(parts):
			if !s.optional {
				return nil, false
			}
			continue
		case s.param == "":
			if !strings.EqualFold(s.literal, parts[i]) {
				return nil, false
			}
		default:
			if parts[i] == "" || !constraintOK(s.constraint, parts[i]) {
				return nil, false
			}
			params[s.param] = parts[i]
		}
		i++
	}
	return params, i == len(parts)
}

// pathSegments splits the request path as the host's routing sees it. Kestrel decodes every escape in the path
// except %2F, which would turn data into a separator, and routes on the result split on "/": so /api%2Forders is
// one segment that matches no route, and a route value keeps an encoded slash as the three characters %2F.
// Decoding the whole path first (r.URL.Path) would route such a request where the host never would.
//
// Routing ignores one trailing slash; a double slash is an empty segment, which no route matches.
func pathSegments(escaped string) []string {
	trimmed := strings.TrimSuffix(strings.TrimPrefix(escaped, "/"), "/")
	if trimmed == "" {
		return nil
	}
	parts := strings.Split(trimmed, "/")
	for i, p := range parts {
		parts[i] = decodeSegment(p)
	}
	return parts
}

// removeDotSegments resolves "." and ".." segments (%2E too, since Kestrel decodes before it resolves) as RFC 3986
// does, never above the root: /api/orders/../health is /api/health. Empty segments stay as they are.
func removeDotSegments(escaped string) string {
	segs := strings.Split(escaped, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch strings.ReplaceAll(strings.ToLower(s), "%2e", ".") {
		case ".":
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "") // /a/b/.. is /a/, with its slash
		}
	}
	return strings.Join(out, "/")
}

// decodeSegment decodes %XX escapes once, leaving %2F and invalid escapes as they are.
func decodeSegment(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			if c := unhex(s[i+1])<<4 | unhex(s[i+2]); c != '/' {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
