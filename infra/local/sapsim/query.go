package sapsim

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// expr is a parsed $filter: a comparison (prop op literal) or a logical node (and/or/not).
type expr struct {
	op          string // eq ne gt ge lt le and or not
	left, right *expr
	prop        prop
	lit         any // string, *big.Rat, time.Time, bool, nil
}

type lexer struct {
	s   string
	pos int
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.s) && l.s[l.pos] == ' ' {
		l.pos++
	}
}

func (l *lexer) peekWord() string {
	l.skipSpace()
	end := l.pos
	for end < len(l.s) && (isIdent(l.s[end]) || l.s[end] == '/') {
		end++
	}
	return l.s[l.pos:end]
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == ':'
}

func parseFilter(et *entityType, s string) (*expr, error) {
	l := &lexer{s: s}
	e, err := parseOr(et, l)
	if err != nil {
		return nil, err
	}
	l.skipSpace()
	if l.pos != len(l.s) {
		return nil, &queryError{fmt.Sprintf("Invalid filter expression: unexpected '%s'", l.s[l.pos:])}
	}
	return e, nil
}

func parseOr(et *entityType, l *lexer) (*expr, error) {
	left, err := parseAnd(et, l)
	if err != nil {
		return nil, err
	}
	for l.peekWord() == "or" {
		l.pos += 2
		right, err := parseAnd(et, l)
		if err != nil {
			return nil, err
		}
		left = &expr{op: "or", left: left, right: right}
	}
	return left, nil
}

func parseAnd(et *entityType, l *lexer) (*expr, error) {
	left, err := parseUnary(et, l)
	if err != nil {
		return nil, err
	}
	for l.peekWord() == "and" {
		l.pos += 3
		right, err := parseUnary(et, l)
		if err != nil {
			return nil, err
		}
		left = &expr{op: "and", left: left, right: right}
	}
	return left, nil
}

func parseUnary(et *entityType, l *lexer) (*expr, error) {
	l.skipSpace()
	if l.pos < len(l.s) && l.s[l.pos] == '(' {
		l.pos++
		e, err := parseOr(et, l)
		if err != nil {
			return nil, err
		}
		l.skipSpace()
		if l.pos >= len(l.s) || l.s[l.pos] != ')' {
			return nil, &queryError{"Invalid filter expression: missing ')'"}
		}
		l.pos++
		return e, nil
	}
	if l.peekWord() == "not" {
		l.pos += 3
		e, err := parseUnary(et, l)
		if err != nil {
			return nil, err
		}
		return &expr{op: "not", left: e}, nil
	}
	name := l.peekWord()
	l.pos += len(name)
	p, ok := et.prop(name)
	if !ok {
		return nil, &queryError{fmt.Sprintf("Invalid filter expression: property '%s' is unknown", name)}
	}
	if p.Flags&noFilter != 0 {
		return nil, &queryError{fmt.Sprintf("Property '%s' is not filterable", name)}
	}
	op := l.peekWord()
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, &queryError{fmt.Sprintf("Invalid filter expression: operator '%s' is not supported", op)}
	}
	l.pos += len(op)
	lit, err := parseLiteral(p, l)
	if err != nil {
		return nil, err
	}
	return &expr{op: op, prop: p, lit: lit}, nil
}

func parseLiteral(p prop, l *lexer) (any, error) {
	l.skipSpace()
	bad := func(what string) error {
		return &queryError{fmt.Sprintf("Invalid filter expression: %s for property '%s' (%s)", what, p.Name, p.Type)}
	}
	quoted := func() (string, error) {
		if l.pos >= len(l.s) || l.s[l.pos] != '\'' {
			return "", bad("a quoted literal is expected")
		}
		l.pos++
		var b strings.Builder
		for l.pos < len(l.s) {
			c := l.s[l.pos]
			if c == '\'' {
				if l.pos+1 < len(l.s) && l.s[l.pos+1] == '\'' {
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
		return "", bad("an unterminated string")
	}
	if strings.HasPrefix(l.s[l.pos:], "null") {
		l.pos += 4
		return nil, nil
	}
	switch p.Type {
	case edmString, edmGuid, edmTime:
		return quoted()
	case edmBoolean:
		w := l.peekWord()
		l.pos += len(w)
		switch w {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, bad("true or false is expected")
	case edmInt32, edmByte:
		w := l.peekWord()
		l.pos += len(w)
		n, err := strconv.ParseInt(w, 10, 32)
		if err != nil || p.Type == edmByte && (n < 0 || n > 255) {
			return nil, bad("an integer is expected")
		}
		return n, nil
	case edmDecimal, edmDouble:
		w := l.peekWord()
		l.pos += len(w)
		w = strings.TrimRight(w, "mMdD")
		r, ok := new(big.Rat).SetString(w)
		if !ok || strings.ContainsAny(w, "eE/") {
			return nil, bad("a decimal literal is expected")
		}
		return r, nil
	case edmDateTime, edmDateTimeOffset:
		prefix := "datetime"
		if p.Type == edmDateTimeOffset {
			prefix = "datetimeoffset"
		}
		w := l.peekWord()
		if w != prefix {
			return nil, bad(prefix + "'...' is expected")
		}
		l.pos += len(w)
		s, err := quoted()
		if err != nil {
			return nil, err
		}
		t, err := parseDateLiteral(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		return t, nil
	}
	return nil, bad("unsupported type")
}

func (e *expr) match(r record) bool {
	switch e.op {
	case "and":
		return e.left.match(r) && e.right.match(r)
	case "or":
		return e.left.match(r) || e.right.match(r)
	case "not":
		return !e.left.match(r)
	}
	c, comparable := compareValue(e.prop, r[e.prop.Name], e.lit)
	switch e.op {
	case "eq":
		return comparable && c == 0
	case "ne":
		return !comparable || c != 0
	case "gt":
		return comparable && c > 0
	case "ge":
		return comparable && c >= 0
	case "lt":
		return comparable && c < 0
	case "le":
		return comparable && c <= 0
	}
	return false
}

// compareValue compares a record value with a literal; SAP's empty values ("" for strings, 0, false) take part.
func compareValue(p prop, v, lit any) (int, bool) {
	switch p.Type {
	case edmString, edmGuid, edmTime:
		s, _ := v.(string)
		l, ok := lit.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(s, l), true
	case edmBoolean:
		b, _ := v.(bool)
		l, ok := lit.(bool)
		if !ok {
			return 0, false
		}
		if b == l {
			return 0, true
		}
		if !b {
			return -1, true
		}
		return 1, true
	case edmDecimal, edmDouble:
		s, _ := v.(string)
		if s == "" {
			s = "0"
		}
		l, ok := lit.(*big.Rat)
		if !ok {
			return 0, false
		}
		return ratOf(s).Cmp(l), true
	case edmInt32, edmByte:
		n, _ := v.(int64)
		l, ok := lit.(int64)
		if !ok {
			return 0, false
		}
		return cmpInt(n, l), true
	case edmDateTime, edmDateTimeOffset:
		t, ok1 := v.(time.Time)
		l, ok2 := lit.(time.Time)
		if !ok1 || !ok2 || t.IsZero() {
			return 0, false
		}
		return t.Compare(l), true
	}
	return 0, false
}

// eqConstraint finds "name eq 'x'" among the top-level and-ed comparisons, to narrow generated sets.
func (e *expr) eqConstraint(name string) (string, bool) {
	if e == nil {
		return "", false
	}
	switch e.op {
	case "and":
		if v, ok := e.left.eqConstraint(name); ok {
			return v, true
		}
		return e.right.eqConstraint(name)
	case "eq":
		if e.prop.Name == name {
			s, ok := e.lit.(string)
			return s, ok
		}
	}
	return "", false
}

// lowerBound finds "name gt/ge <time>" among the top-level and-ed comparisons.
func (e *expr) lowerBound(name string) (time.Time, bool) {
	if e == nil {
		return time.Time{}, false
	}
	switch e.op {
	case "and":
		if v, ok := e.left.lowerBound(name); ok {
			return v, true
		}
		return e.right.lowerBound(name)
	case "gt", "ge":
		if e.prop.Name == name {
			t, ok := e.lit.(time.Time)
			return t, ok
		}
	}
	return time.Time{}, false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
