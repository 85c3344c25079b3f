package sap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Filter is an OData V2 $filter expression built from typed pieces, so values are always escaped literals and field
// names are checked: a value from input can never change the expression's structure. The zero Filter means none.
type Filter struct {
	expr string
	err  error
}

// ErrInvalidFilter reports a field name that is not an OData identifier or a value of an unsupported type.
var ErrInvalidFilter = errors.New("invalid $filter")

// String returns the expression text.
func (f Filter) String() string { return f.expr }

// Err returns the first problem met while building the filter.
func (f Filter) Err() error { return f.err }

// IsZero reports an empty filter.
func (f Filter) IsZero() bool { return f.expr == "" && f.err == nil }

func validField(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z'):
		case (r >= '0' && r <= '9') || r == '/':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// Literal formats v as an OData V2 literal: a string is quoted with inner quotes doubled; Decimal → 12.5M; DateTime → datetime'…';
// DateTimeOffset and time.Time → datetimeoffset'…'; bool; integers.
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", nil
	case Decimal:
		return x.String() + "M", nil
	case DateTime:
		return "datetime'" + x.UTC().Format("2006-01-02T15:04:05") + "'", nil
	case DateTimeOffset:
		return "datetimeoffset'" + x.UTC().Format("2006-01-02T15:04:05.9999999Z") + "'", nil
	case time.Time:
		return "datetimeoffset'" + x.UTC().Format("2006-01-02T15:04:05.9999999Z") + "'", nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	default:
		return "", fmt.Errorf("formatting %T as an OData literal: %w", v, ErrInvalidFilter)
	}
}

func compare(field, op string, v any) Filter {
	if !validField(field) {
		return Filter{err: fmt.Errorf("field %q: %w", field, ErrInvalidFilter)}
	}
	lit, err := Literal(v)
	if err != nil {
		return Filter{err: err}
	}
	return Filter{expr: field + " " + op + " " + lit}
}

// Eq is field eq value.
func Eq(field string, v any) Filter { return compare(field, "eq", v) }

// Ne is field ne value.
func Ne(field string, v any) Filter { return compare(field, "ne", v) }

// Gt is field gt value.
func Gt(field string, v any) Filter { return compare(field, "gt", v) }

// Ge is field ge value.
func Ge(field string, v any) Filter { return compare(field, "ge", v) }

// Lt is field lt value.
func Lt(field string, v any) Filter { return compare(field, "lt", v) }

// Le is field le value.
func Le(field string, v any) Filter { return compare(field, "le", v) }

// And joins filters with "and"; empty filters are left out.
func And(fs ...Filter) Filter { return join("and", fs) }

// Or joins filters with "or"; empty filters are left out.
func Or(fs ...Filter) Filter { return join("or", fs) }

func join(op string, fs []Filter) Filter {
	var parts []string
	for _, f := range fs {
		if f.err != nil {
			return f
		}
		if f.expr != "" {
			parts = append(parts, f.expr)
		}
	}
	switch len(parts) {
	case 0:
		return Filter{}
	case 1:
		return Filter{expr: parts[0]}
	}
	return Filter{expr: "(" + strings.Join(parts, ") "+op+" (") + ")"}
}
