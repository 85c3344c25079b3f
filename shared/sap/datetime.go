package sap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DateTime is an Edm.DateTime value, written by SAP as "/Date(1552867200000)/" (milliseconds since the Unix epoch,
// UTC; date-only fields are midnight UTC). JSON null and the zero value map to each other.
type DateTime struct{ time.Time }

// DateTimeOffset is an Edm.DateTimeOffset value, written by SAP as "/Date(1552895997855+0000)/".
type DateTimeOffset struct{ time.Time }

// ErrInvalidDate reports a value that is not in SAP's /Date(...)/ form.
var ErrInvalidDate = errors.New("invalid /Date()/ value")

// Date returns the DateTime for a calendar day (midnight UTC), as SAP stores date-only fields.
func Date(year int, month time.Month, day int) DateTime {
	return DateTime{time.Date(year, month, day, 0, 0, 0, 0, time.UTC)}
}

// ParseJSONDate parses "/Date(ms)/" or "/Date(ms+hhmm)/" (also "-hhmm"); the milliseconds are UTC and the offset
// only says in which zone to show the instant.
func ParseJSONDate(s string) (time.Time, error) {
	inner, ok := strings.CutPrefix(s, "/Date(")
	if ok {
		inner, ok = strings.CutSuffix(inner, ")/")
	}
	if !ok || inner == "" {
		return time.Time{}, fmt.Errorf("parsing %q: %w", s, ErrInvalidDate)
	}
	offset := ""
	if i := strings.LastIndexAny(inner, "+-"); i > 0 {
		inner, offset = inner[:i], inner[i:]
	}
	ms, err := strconv.ParseInt(inner, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parsing %q: %w", s, ErrInvalidDate)
	}
	t := time.UnixMilli(ms).UTC()
	if offset != "" {
		if len(offset) != 5 {
			return time.Time{}, fmt.Errorf("parsing offset of %q: %w", s, ErrInvalidDate)
		}
		hh, err1 := strconv.Atoi(offset[1:3])
		mm, err2 := strconv.Atoi(offset[3:5])
		if err1 != nil || err2 != nil {
			return time.Time{}, fmt.Errorf("parsing offset of %q: %w", s, ErrInvalidDate)
		}
		secs := hh*3600 + mm*60
		if offset[0] == '-' {
			secs = -secs
		}
		if secs != 0 {
			t = t.In(time.FixedZone("", secs))
		}
	}
	return t, nil
}

func unmarshalDate(b []byte) (time.Time, error) {
	s := string(b)
	if s == "null" {
		return time.Time{}, nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return time.Time{}, fmt.Errorf("parsing %s: %w", s, ErrInvalidDate)
	}
	s = s[1 : len(s)-1]
	if s == "" {
		return time.Time{}, nil
	}
	// JSON may escape the slashes: "\/Date(...)\/".
	s = strings.ReplaceAll(s, `\/`, `/`)
	return ParseJSONDate(s)
}

// MarshalJSON writes "/Date(ms)/", or null for the zero value.
func (d DateTime) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"/Date(` + strconv.FormatInt(d.UnixMilli(), 10) + `)/"`), nil
}

// UnmarshalJSON reads "/Date(ms)/" (an offset is accepted), or null.
func (d *DateTime) UnmarshalJSON(b []byte) error {
	t, err := unmarshalDate(b)
	d.Time = t
	return err
}

// MarshalJSON writes "/Date(ms+0000)/", or null for the zero value.
func (d DateTimeOffset) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"/Date(` + strconv.FormatInt(d.UnixMilli(), 10) + `+0000)/"`), nil
}

// UnmarshalJSON reads "/Date(ms+hhmm)/" or "/Date(ms)/", or null.
func (d *DateTimeOffset) UnmarshalJSON(b []byte) error {
	t, err := unmarshalDate(b)
	d.Time = t
	return err
}

// TimeOfDay is an Edm.Time value such as "PT10H06M00S" (a duration since midnight).
type TimeOfDay struct{ time.Duration }

// UnmarshalJSON reads SAP's "PTxxHxxMxxS" form; empty or null is zero.
func (t *TimeOfDay) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		t.Duration = 0
		return nil
	}
	rest, ok := strings.CutPrefix(s, "PT")
	if !ok {
		return fmt.Errorf("parsing Edm.Time %q: %w", s, ErrInvalidDate)
	}
	d, err := time.ParseDuration(strings.ToLower(rest))
	if err != nil {
		return fmt.Errorf("parsing Edm.Time %q: %w", s, err)
	}
	t.Duration = d
	return nil
}

// MarshalJSON writes "PTxxHxxMxxS".
func (t TimeOfDay) MarshalJSON() ([]byte, error) {
	d := t.Duration
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	return fmt.Appendf(nil, `"PT%02dH%02dM%02dS"`, h, m, s), nil
}
