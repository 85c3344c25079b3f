package dvsim

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode"
)

// ---- key segments: (guid) or (col='v',col2=3) ----

// parseKey parses the text between the parentheses of an entity segment.
func parseKey(s string) (keySpec, *apiError) {
	if isGUID(s) {
		return keySpec{id: strings.ToLower(s)}, nil
	}
	k := keySpec{alt: map[string]any{}}
	lx := &lexer{src: s}
	for {
		name := lx.ident()
		if name == "" || !lx.eat("=") {
			return k, errf(400, codeInvalidArgument, "Bad key segment %q.", s)
		}
		v, err := lx.literal()
		if err != nil {
			return k, errf(400, codeInvalidArgument, "Bad key segment %q: %v", s, err)
		}
		k.alt[name] = v
		if lx.done() {
			return k, nil
		}
		if !lx.eat(",") {
			return k, errf(400, codeInvalidArgument, "Bad key segment %q.", s)
		}
	}
}

// ---- a small OData lexer shared by keys and $filter ----

type lexer struct {
	src string
	pos int
}

func (l *lexer) skip() {
	for l.pos < len(l.src) && l.src[l.pos] == ' ' {
		l.pos++
	}
}

func (l *lexer) done() bool { l.skip(); return l.pos >= len(l.src) }

func (l *lexer) eat(tok string) bool {
	l.skip()
	if strings.HasPrefix(l.src[l.pos:], tok) {
		l.pos += len(tok)
		return true
	}
	return false
}

func (l *lexer) eatWord(w string) bool {
	l.skip()
	rest := l.src[l.pos:]
	if len(rest) >= len(w) && strings.EqualFold(rest[:len(w)], w) &&
		(len(rest) == len(w) || rest[len(w)] == ' ' || rest[len(w)] == '(') {
		l.pos += len(w)
		return true
	}
	return false
}

func (l *lexer) ident() string {
	l.skip()
	start := l.pos
	for l.pos < len(l.src) {
		c := rune(l.src[l.pos])
		if unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '/' {
			l.pos++
			continue
		}
		break
	}
	return l.src[start:l.pos]
}

// literal reads 'string' (quotes doubled), a number, true/false/null or a bare GUID.
func (l *lexer) literal() (any, error) {
	l.skip()
	if l.pos >= len(l.src) {
		return nil, fmt.Errorf("literal expected")
	}
	if l.src[l.pos] == '\'' {
		var b strings.Builder
		l.pos++
		for l.pos < len(l.src) {
			c := l.src[l.pos]
			if c == '\'' {
				if l.pos+1 < len(l.src) && l.src[l.pos+1] == '\'' {
					b.WriteByte('\'')
					l.pos += 2
					continue
				}
				l.pos++
				return b.String(), nil
			}
			b.WriteByte(c)
			l.pos++
		}
		return nil, fmt.Errorf("unterminated string literal")
	}
	start := l.pos
	for l.pos < len(l.src) && l.src[l.pos] != ' ' && l.src[l.pos] != ')' && l.src[l.pos] != ',' {
		l.pos++
	}
	tok := l.src[start:l.pos]
	switch {
	case tok == "true":
		return true, nil
	case tok == "false":
		return false, nil
	case tok == "null":
		return nil, nil
	case isGUID(tok):
		return strings.ToLower(tok), nil
	}
	if _, err := strconv.ParseFloat(tok, 64); err == nil {
		return json.Number(tok), nil
	}
	return nil, fmt.Errorf("bad literal %q", tok)
}

// ---- $filter ----

type predicate func(values map[string]any) bool

// expr is a parsed $filter expression. An expression that is exactly "col eq v1 or col eq v2 ..." (text or
// number literals) also keeps the set of values, so that it is tested with one map lookup a row, and a query
// whose filter requires such a set on the primary key or a one-column alternate key reads those rows by key
// (or a lookup column, through the index $expand uses) reads those rows instead of every row: the simulator
// holds catalogues of a million rows, and a sync reads them fifty ids a query.
type expr struct {
	p     predicate
	col   string          // set: the expression is col eq one of set
	set   map[string]bool // normalized values (see eqKey)
	vals  []any
	cands []*expr // sets every matching row is in (this one, or an and's operands)
}

// eqKey normalizes a value as compareValues compares it with eq: text without case, numbers by value.
func eqKey(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return "s:" + strings.ToLower(x), true
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return "", false
		}
		return "n:" + r.RatString(), true
	}
	return "", false
}

func plain(p predicate) *expr { return &expr{p: p} }

func parseFilter(t *Table, src string) (*expr, *apiError) {
	l := &lexer{src: src}
	e, err := parseOr(t, l)
	if err == nil && !l.done() {
		err = fmt.Errorf("unexpected %q", l.src[l.pos:])
	}
	if err != nil {
		return nil, errf(400, "0x0", "Invalid $filter %q: %v", src, err)
	}
	return e, nil
}

func parseOr(t *Table, l *lexer) (*expr, error) {
	left, err := parseAnd(t, l)
	if err != nil {
		return nil, err
	}
	for l.eatWord("or") {
		right, err := parseAnd(t, l)
		if err != nil {
			return nil, err
		}
		if left.col != "" && left.col == right.col {
			set := make(map[string]bool, len(left.set)+len(right.set))
			for k := range left.set {
				set[k] = true
			}
			for k := range right.set {
				set[k] = true
			}
			col := left.col
			merged := &expr{col: col, set: set, vals: append(append([]any{}, left.vals...), right.vals...), p: func(v map[string]any) bool {
				k, ok := eqKey(v[col])
				return ok && set[k]
			}}
			merged.cands = []*expr{merged}
			left = merged
			continue
		}
		a, b := left.p, right.p
		left = plain(func(v map[string]any) bool { return a(v) || b(v) })
	}
	return left, nil
}

func parseAnd(t *Table, l *lexer) (*expr, error) {
	left, err := parseUnary(t, l)
	if err != nil {
		return nil, err
	}
	for l.eatWord("and") {
		right, err := parseUnary(t, l)
		if err != nil {
			return nil, err
		}
		a, b := left.p, right.p
		cands := append(append([]*expr{}, left.cands...), right.cands...)
		left = plain(func(v map[string]any) bool { return a(v) && b(v) })
		left.cands = cands
	}
	return left, nil
}

func parseUnary(t *Table, l *lexer) (*expr, error) {
	if l.eatWord("not") {
		e, err := parseUnary(t, l)
		if err != nil {
			return nil, err
		}
		p := e.p
		return plain(func(v map[string]any) bool { return !p(v) }), nil
	}
	if l.eat("(") {
		e, err := parseOr(t, l)
		if err != nil {
			return nil, err
		}
		if !l.eat(")") {
			return nil, fmt.Errorf("missing )")
		}
		return e, nil
	}
	for _, fn := range []string{"contains", "startswith", "endswith"} {
		if l.eatWord(fn) {
			if !l.eat("(") {
				return nil, fmt.Errorf("( expected after %s", fn)
			}
			col, err := filterColumn(t, l.ident())
			if err != nil {
				return nil, err
			}
			if !l.eat(",") {
				return nil, fmt.Errorf(", expected")
			}
			lit, err := l.literal()
			if err != nil {
				return nil, err
			}
			if !l.eat(")") {
				return nil, fmt.Errorf(") expected")
			}
			needle, ok := lit.(string)
			if !ok {
				return nil, fmt.Errorf("%s needs a string", fn)
			}
			needle = strings.ToLower(needle)
			return plain(func(v map[string]any) bool {
				s, ok := v[col].(string)
				if !ok {
					return false
				}
				s = strings.ToLower(s)
				switch fn {
				case "contains":
					return strings.Contains(s, needle)
				case "startswith":
					return strings.HasPrefix(s, needle)
				}
				return strings.HasSuffix(s, needle)
			}), nil
		}
	}
	col, err := filterColumn(t, l.ident())
	if err != nil {
		return nil, err
	}
	var op string
	for _, o := range []string{"eq", "ne", "gt", "ge", "lt", "le"} {
		if l.eatWord(o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, fmt.Errorf("comparison operator expected after %s", col)
	}
	lit, err := l.literal()
	if err != nil {
		return nil, err
	}
	e := plain(func(v map[string]any) bool {
		c, ok := compareValues(v[col], lit)
		if !ok {
			return op == "ne"
		}
		switch op {
		case "eq":
			return c == 0
		case "ne":
			return c != 0
		case "gt":
			return c > 0
		case "ge":
			return c >= 0
		case "lt":
			return c < 0
		}
		return c <= 0
	})
	if k, ok := eqKey(lit); ok && op == "eq" {
		e.col, e.set, e.vals = col, map[string]bool{k: true}, []any{lit}
		e.cands = []*expr{e}
	}
	return e, nil
}

// filterColumn maps a filter property (a column, or "_x_value" for lookups) to the stored column name.
func filterColumn(t *Table, name string) (string, error) {
	if strings.HasPrefix(name, "_") && strings.HasSuffix(name, "_value") {
		name = strings.TrimSuffix(strings.TrimPrefix(name, "_"), "_value")
		if c, ok := t.column(name); ok && len(c.Targets) > 0 {
			return name, nil
		}
	} else if c, ok := t.column(name); ok && len(c.Targets) == 0 {
		return name, nil
	}
	return "", fmt.Errorf("could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'", name, t.Entity)
}

// ---- $select / $expand ----

type queryOpts struct {
	selectCols []string // nil = all
	expand     []expandOpt
	filter     predicate
	cands      []*expr // rows outside any of these sets cannot match (none: any row may)
	top        int
	orderBy    []orderKey
}

type expandOpt struct {
	nav  string
	opts queryOpts
}

type orderKey struct {
	col  string
	desc bool
}

// splitTop splits s at sep characters that are not inside parentheses or quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, start, inQuote := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func (s *Server) parseQueryOpts(t *Table, get func(string) string) (queryOpts, *apiError) {
	var q queryOpts
	if sel := get("$select"); sel != "" {
		for _, c := range strings.Split(sel, ",") {
			c = strings.TrimSpace(c)
			name := c
			if strings.HasPrefix(c, "_") && strings.HasSuffix(c, "_value") {
				name = strings.TrimSuffix(strings.TrimPrefix(c, "_"), "_value")
			}
			if _, ok := t.column(name); !ok {
				return q, errf(400, codeBadProperty, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", c, t.Entity)
			}
			q.selectCols = append(q.selectCols, name)
		}
	}
	if f := get("$filter"); f != "" {
		e, err := parseFilter(t, f)
		if err != nil {
			return q, err
		}
		q.filter, q.cands = e.p, e.cands
	}
	if top := get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 0 {
			return q, errf(400, codeInvalidArgument, "Invalid $top %q.", top)
		}
		q.top = n
	}
	if ob := get("$orderby"); ob != "" {
		for _, part := range strings.Split(ob, ",") {
			f := strings.Fields(part)
			if len(f) == 0 {
				continue
			}
			col, err := filterColumn(t, f[0])
			if err != nil {
				return q, errf(400, codeBadProperty, "%v", err)
			}
			q.orderBy = append(q.orderBy, orderKey{col: col, desc: len(f) > 1 && strings.EqualFold(f[1], "desc")})
		}
	}
	if ex := get("$expand"); ex != "" {
		for _, item := range splitTop(ex, ',') {
			item = strings.TrimSpace(item)
			nav, inner, _ := strings.Cut(item, "(")
			inner = strings.TrimSuffix(inner, ")")
			target, err := s.expandTarget(t, nav)
			if err != nil {
				return q, err
			}
			sub := map[string]string{}
			for _, o := range splitTop(inner, ';') {
				k, v, _ := strings.Cut(o, "=")
				sub[strings.TrimSpace(k)] = v
			}
			opts, err := s.parseQueryOpts(target, func(k string) string { return sub[k] })
			if err != nil {
				return q, err
			}
			q.expand = append(q.expand, expandOpt{nav: nav, opts: opts})
		}
	}
	return q, nil
}

func (s *Server) expandTarget(t *Table, nav string) (*Table, *apiError) {
	if c, ok := t.Collections[nav]; ok {
		if td, ok := s.store.tables[c.Set]; ok {
			return td.def, nil
		}
	}
	if _, set, ok := t.navTarget(nav); ok {
		if td, ok := s.store.tables[set]; ok {
			return td.def, nil
		}
	}
	return nil, errf(400, codeBadProperty, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.%s'.", nav, t.Entity)
}

// render turns a row into its Web API JSON shape: etag, key, selected columns, lookups as _x_value,
// expanded navigation properties. The store lock must be held.
func (s *Server) render(td *tableData, r *row, q queryOpts) map[string]any {
	out := map[string]any{"@odata.etag": etag(r.version), td.def.Key: r.id}
	cols := q.selectCols
	if cols == nil {
		cols = td.def.columnNames()
	}
	for _, name := range cols {
		if name == td.def.Key {
			continue
		}
		c, _ := td.def.column(name)
		if len(c.Targets) > 0 {
			out["_"+name+"_value"] = r.values[name]
			continue
		}
		out[name] = r.values[name]
	}
	for _, e := range q.expand {
		if coll, ok := td.def.Collections[e.nav]; ok {
			child := s.store.tables[coll.Set]
			// The related rows first, then their order ($orderby inside $expand, as Dataverse honours it): sorting the
			// whole child table on every read made a large simulator slower than the code it measures.
			related := child.referring(coll.ForeignKey, r.id)
			sortRows(related, e.opts.orderBy)
			items := []map[string]any{}
			for _, cr := range related {
				items = append(items, s.render(child, cr, e.opts))
			}
			out[e.nav] = items
			continue
		}
		c, set, _ := td.def.navTarget(e.nav)
		target := s.store.tables[set]
		id, _ := r.values[c.Name].(string)
		if tr, ok := target.rows[id]; ok {
			out[e.nav] = s.render(target, tr, e.opts)
		} else {
			out[e.nav] = nil
		}
	}
	return out
}

func etag(v int64) string { return fmt.Sprintf(`W/"%d"`, v) }
