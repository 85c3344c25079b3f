package store

import (
	"cmp"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// propValue is one stored property as the Table service types it.
type propValue struct {
	typ edmType
	s   string
	b   bool
	n   float64
	t   time.Time
}

// memProperties reads a MemTable row's properties with the types the service would give them: the
// "@odata.type" annotation when there is one, otherwise what it infers from JSON. Numbers are typed
// after the SDK's float64 round trip, which is what reaches the wire: an integral value within int32
// is Edm.Int32 (even if written as 2.0), any other number Edm.Double.
func memProperties(r memRow) (map[string]propValue, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil {
		return nil, err
	}
	props := make(map[string]propValue, len(raw)+1)
	for name, v := range raw {
		if strings.Contains(name, "@") {
			continue
		}
		var annotated string
		if a, ok := raw[name+odataTypeSuffix]; ok {
			_ = json.Unmarshal(a, &annotated)
		}
		if p, ok := typedValue(edmType(annotated), v); ok {
			props[name] = p
		}
	}
	// The service stamps Timestamp at 100 ns resolution.
	props["Timestamp"] = propValue{typ: edmDateTime, t: r.ts.Truncate(100 * time.Nanosecond)}
	return props, nil
}

const odataTypeSuffix = "@odata.type"

func typedValue(annotated edmType, v json.RawMessage) (propValue, bool) {
	var s string
	isString := json.Unmarshal(v, &s) == nil
	switch annotated {
	case edmDateTime:
		t, err := time.Parse(time.RFC3339Nano, s)
		return propValue{typ: edmDateTime, t: t.UTC().Truncate(100 * time.Nanosecond)}, isString && err == nil
	case edmInt64:
		n, err := strconv.ParseInt(s, 10, 64)
		return propValue{typ: edmInt64, n: float64(n)}, isString && err == nil
	case edmGuid, edmBinary:
		return propValue{typ: annotated, s: s}, isString
	case edmDouble, edmInt32, edmString, edmBoolean, "":
	default:
		return propValue{}, false
	}
	if isString {
		return propValue{typ: edmString, s: s}, true
	}
	var b bool
	if json.Unmarshal(v, &b) == nil {
		return propValue{typ: edmBoolean, b: b}, true
	}
	var n float64
	if json.Unmarshal(v, &n) != nil {
		return propValue{}, false
	}
	typ := edmDouble
	if annotated != edmDouble && n == math.Trunc(n) && n >= math.MinInt32 && n <= math.MaxInt32 {
		typ = edmInt32
	}
	return propValue{typ: typ, n: n}, true
}

// matches evaluates f against a row's properties as the service does: a comparison with a missing
// property, or one of another type, is false (for ne too); Int32, Int64 and Double compare as numbers.
func (f Filter) matches(props map[string]propValue) bool {
	switch f.op {
	case "":
		return true
	case "and":
		for _, k := range f.kids {
			if !k.matches(props) {
				return false
			}
		}
		return true
	case "or":
		for _, k := range f.kids {
			if k.matches(props) {
				return true
			}
		}
		return false
	}
	p, ok := props[f.prop]
	if !ok {
		return false
	}
	c, ok := compareProp(p, f.value)
	if !ok {
		return false
	}
	switch f.op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	}
	return false
}

func numeric(t edmType) bool { return t == edmInt32 || t == edmInt64 || t == edmDouble }

// compareProp orders the property against the literal, or reports that their types do not compare.
func compareProp(p propValue, l literal) (int, bool) {
	switch {
	case p.typ == edmString && l.typ == edmString:
		return compareUTF16(p.s, l.s), true
	case p.typ == edmBoolean && l.typ == edmBoolean:
		return cmp.Compare(boolRank(p.b), boolRank(l.b)), true
	case numeric(p.typ) && numeric(l.typ):
		return cmp.Compare(p.n, l.n), true
	case p.typ == edmDateTime && l.typ == edmDateTime:
		return p.t.Compare(l.t), true
	}
	return 0, false
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// compareUTF16 orders strings by UTF-16 code units, the ordinal order of the service (and of
// Azurite's JavaScript), which differs from Go's byte order for characters above U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			if c := cmp.Compare(firstUnit(ra), firstUnit(rb)); c != 0 {
				return c
			}
			return cmp.Compare(ra, rb)
		}
		a, b = a[na:], b[nb:]
	}
	return cmp.Compare(len(a), len(b))
}

// firstUnit is a rune's first UTF-16 code unit: itself, or its high surrogate.
func firstUnit(r rune) rune {
	if r >= 0x10000 {
		return 0xD800 + (r-0x10000)>>10
	}
	return r
}
