package sap

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Decimal is an exact decimal number as SAP sends it (Edm.Decimal travels as a JSON string such as "24.25").
// It keeps the text it was given, so a value read from SAP is written back unchanged; compare with Cmp, not ==.
// The zero value is 0.
type Decimal struct{ s string }

// ErrInvalidDecimal reports text that is not a plain decimal number.
var ErrInvalidDecimal = errors.New("invalid decimal")

// ParseDecimal accepts an optional sign, digits and an optional fraction ("-12", "0.500", ".5"); no exponent.
func ParseDecimal(s string) (Decimal, error) {
	if !validDecimal(s) {
		return Decimal{}, fmt.Errorf("parsing %q: %w", s, ErrInvalidDecimal)
	}
	return Decimal{s: s}, nil
}

// MustDecimal is ParseDecimal for constants in code and tests; it panics on invalid text.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DecimalFromRat formats r with exactly scale fraction digits, rounding half away from zero.
func DecimalFromRat(r *big.Rat, scale int) Decimal {
	return Decimal{s: r.FloatString(scale)}
}

func validDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	return digits > 0 && i == len(s)
}

// String returns the decimal's text ("0" for the zero value).
func (d Decimal) String() string {
	if d.s == "" {
		return "0"
	}
	return d.s
}

// IsZero reports whether the value is numerically zero.
func (d Decimal) IsZero() bool { return d.Rat().Sign() == 0 }

// Rat returns the exact value.
func (d Decimal) Rat() *big.Rat {
	r, ok := new(big.Rat).SetString(d.String())
	if !ok { // unreachable for values built by ParseDecimal
		return new(big.Rat)
	}
	return r
}

// Cmp compares numerically: -1, 0 or +1.
func (d Decimal) Cmp(o Decimal) int { return d.Rat().Cmp(o.Rat()) }

// Digits returns the count of integer digits (ignoring leading zeros) and of fraction digits (ignoring trailing
// zeros), to check against an EDMX Precision and Scale.
func (d Decimal) Digits() (integer, fraction int) {
	s := strings.TrimLeft(d.String(), "+-")
	ip, fp, _ := strings.Cut(s, ".")
	ip = strings.TrimLeft(ip, "0")
	fp = strings.TrimRight(fp, "0")
	return len(ip), len(fp)
}

// FitsEDM reports whether the value fits Edm.Decimal(precision, scale).
func (d Decimal) FitsEDM(precision, scale int) bool {
	i, f := d.Digits()
	return f <= scale && i <= precision-scale
}

// MarshalJSON writes the value as a JSON string, as SAP expects.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON accepts a JSON string (SAP's form), a bare JSON number, or null (zero).
func (d *Decimal) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Decimal{}
		return nil
	}
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" {
		*d = Decimal{}
		return nil
	}
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
