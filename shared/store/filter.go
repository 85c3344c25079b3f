package store

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Filter is a $filter expression for [Table.Find], built only from the constructors below ([Eq], [Ne],
// [Lt], [Le], [Gt], [Ge], [And], [Or]) so that no caller ever splices input into filter text: property
// names are checked, string literals quoted with single quotes doubled, and values rendered as the
// literal of the type the service stores them as. The zero Filter matches every row.
//
// The Table service compares a property only with a literal of its own type; an entity whose property
// is missing or of another type is not returned, for ne as well. How the values this package writes
// are typed, and so which literal finds them:
//
//   - string: Edm.String, compared ordinally (no collation, case-sensitive). time.Time fields written
//     by [Table] are strings too (RFC 3339, variable width), so compare those with a fixed-width string
//     such as [SortableTime], never with a time.Time.
//   - bool: Edm.Boolean.
//   - int, int64: the service stores a JSON integer within int32 as Edm.Int32 and a larger one as
//     Edm.Double, so the literal follows the same rule (2147483648 is sent as 2147483648.0).
//     Values beyond ±2^53 are refused, as they are on write. The twin and Azurite compare Int32 with
//     Double as numbers; whether the service does is not documented, so a property that is filtered
//     numerically should stay on one side of the int32 boundary (or be a fixed-width string).
//   - time.Time: a datetime'...' literal (UTC, 100 ns resolution), which matches Edm.DateTime
//     properties: Timestamp (the service's last-modified time) and properties written with an
//     "@odata.type":"Edm.DateTime" annotation.
//
// Azurite evaluates filters without regard to type (a datetime literal matches an RFC 3339 string
// there, and its times compare at millisecond resolution); [MemTable] follows the service instead,
// so a filter that passes against the twin behaves the same in Azure.
type Filter struct {
	op    string // eq ne lt le gt ge and or; "" for the zero Filter
	prop  string
	value literal
	kids  []Filter
	err   error
}

// maxComparisons is the service's cap on comparisons in one $filter.
const maxComparisons = 15

// Eq keeps rows whose property prop equals v (a string, bool, int, int64 or time.Time).
func Eq(prop string, v any) Filter { return compare("eq", prop, v) }

// Ne keeps rows whose property prop is present, of v's type, and not equal to v.
func Ne(prop string, v any) Filter { return compare("ne", prop, v) }

// Lt keeps rows whose property prop is less than v.
func Lt(prop string, v any) Filter { return compare("lt", prop, v) }

// Le keeps rows whose property prop is less than or equal to v.
func Le(prop string, v any) Filter { return compare("le", prop, v) }

// Gt keeps rows whose property prop is greater than v.
func Gt(prop string, v any) Filter { return compare("gt", prop, v) }

// Ge keeps rows whose property prop is greater than or equal to v.
func Ge(prop string, v any) Filter { return compare("ge", prop, v) }

// And keeps rows every one of fs keeps. It needs at least one filter, none of them zero.
func And(fs ...Filter) Filter { return combine("and", fs) }

// Or keeps rows any one of fs keeps. It needs at least one filter, none of them zero.
func Or(fs ...Filter) Filter { return combine("or", fs) }

func compare(op, prop string, v any) Filter {
	f := Filter{op: op, prop: prop}
	if !validPropertyName(prop) {
		f.err = invalid("filter property name %q must be a letter or _ then letters, digits or _", prop)
		return f
	}
	f.value, f.err = literalOf(v)
	if f.err != nil {
		f.err = fmt.Errorf("filter on %s: %w", prop, f.err)
	}
	return f
}

func combine(op string, fs []Filter) Filter {
	f := Filter{op: op, kids: fs}
	if len(fs) == 0 {
		f.err = invalid("%s needs at least one filter", op)
	}
	for _, k := range fs {
		if k.op == "" {
			f.err = invalid("%s holds a zero Filter", op)
		}
	}
	return f
}

// IsZero reports whether f is the zero Filter, which matches every row.
func (f Filter) IsZero() bool { return f.op == "" }

// OData returns the $filter text the service is sent, or the reason the filter is refused (an
// [ErrInvalid]: a bad property name, an unsupported value, more than 15 comparisons).
func (f Filter) OData() (string, error) {
	if f.op == "" {
		return "", nil
	}
	if err := f.check(); err != nil {
		return "", err
	}
	var b strings.Builder
	f.render(&b)
	return b.String(), nil
}

// check reports the first construction error in the tree, then the comparison count.
func (f Filter) check() error {
	var errs []error
	var n int
	var walk func(Filter)
	walk = func(f Filter) {
		if f.err != nil {
			errs = append(errs, f.err)
		}
		if f.prop != "" {
			n++
		}
		for _, k := range f.kids {
			walk(k)
		}
	}
	walk(f)
	if n > maxComparisons {
		errs = append(errs, invalid("filter holds %d comparisons; the Table service allows %d", n, maxComparisons))
	}
	return errors.Join(errs...)
}

func (f Filter) render(b *strings.Builder) {
	if f.prop != "" {
		b.WriteString(f.prop)
		b.WriteString(" ")
		b.WriteString(f.op)
		b.WriteString(" ")
		b.WriteString(f.value.text)
		return
	}
	if len(f.kids) == 1 {
		f.kids[0].render(b)
		return
	}
	for i, k := range f.kids {
		if i > 0 {
			b.WriteString(" " + f.op + " ")
		}
		b.WriteString("(")
		k.render(b)
		b.WriteString(")")
	}
}

// edmType names the service's property types this package reads and writes.
type edmType string

const (
	edmString   edmType = "Edm.String"
	edmBoolean  edmType = "Edm.Boolean"
	edmInt32    edmType = "Edm.Int32"
	edmInt64    edmType = "Edm.Int64"
	edmDouble   edmType = "Edm.Double"
	edmDateTime edmType = "Edm.DateTime"
	edmGuid     edmType = "Edm.Guid"
	edmBinary   edmType = "Edm.Binary"
)

// literal is a filter value: its OData text and what the in-memory twin compares.
type literal struct {
	text string
	typ  edmType
	s    string
	b    bool
	n    float64
	t    time.Time
}

// maxExactInt is the largest integer magnitude the SDK's float64 carries exactly.
const maxExactInt = 1 << 53

// Edm.DateTime spans 1601-01-01 to 9999-12-31 UTC.
var (
	minDateTime = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDateTime = time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
)

func literalOf(v any) (literal, error) {
	switch v := v.(type) {
	case string:
		return literal{text: odataString(v), typ: edmString, s: v}, nil
	case bool:
		return literal{text: strconv.FormatBool(v), typ: edmBoolean, b: v}, nil
	case int:
		return intLiteral(int64(v))
	case int64:
		return intLiteral(v)
	case time.Time:
		t := v.UTC().Truncate(100 * time.Nanosecond)
		if t.Before(minDateTime) || t.After(maxDateTime) {
			return literal{}, invalid("time %s is outside the service's DateTime range (1601 to 9999)", v)
		}
		return literal{text: "datetime'" + t.Format(dateTimeLayout) + "'", typ: edmDateTime, t: t}, nil
	}
	return literal{}, invalid("filter value of type %T: only string, bool, int, int64 and time.Time are supported", v)
}

// dateTimeLayout is the service's combined UTC form with its 100 ns (7 digit) resolution.
const dateTimeLayout = "2006-01-02T15:04:05.0000000Z"

func intLiteral(n int64) (literal, error) {
	switch {
	case n >= math.MinInt32 && n <= math.MaxInt32:
		return literal{text: strconv.FormatInt(n, 10), typ: edmInt32, n: float64(n)}, nil
	case n >= -maxExactInt && n <= maxExactInt:
		// Stored as Edm.Double (see Filter), and the service reads an integer literal beyond int32 as
		// a malformed Edm.Int32.
		return literal{text: strconv.FormatInt(n, 10) + ".0", typ: edmDouble, n: float64(n)}, nil
	}
	return literal{}, invalid("integer %d is beyond ±2^53, which the store never writes", n)
}

// SortableTime formats t in UTC at a fixed width with nanoseconds ("20060102T150405.000000000Z"), so
// that ordinal string order is time order: for row keys and for string properties that a [Filter]
// compares with Lt/Gt. It holds no character the Table service refuses in keys. Years outside 0-9999
// do not sort.
func SortableTime(t time.Time) string { return t.UTC().Format(sortableLayout) }

const sortableLayout = "20060102T150405.000000000Z"

// ParseSortableTime reads a [SortableTime] string back.
func ParseSortableTime(s string) (time.Time, error) {
	t, err := time.Parse(sortableLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing sortable time %q: %w", s, err)
	}
	return t, nil
}
