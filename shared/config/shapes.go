package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/guid"
)

// The shapes below are checked by hand rather than with regular expressions: compiling those was a visible part
// of the cold start, which every setting is read in.

// charsIn says whether every byte of s satisfies ok, and s has n bytes with lo <= n <= hi.
func charsIn(s string, lo, hi int, ok func(c byte, i int) bool) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ok(s[i], i) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isLower(c) || (c >= 'A' && c <= 'Z') }

type matcher func(string) bool

func (m matcher) MatchString(s string) bool { return m(s) }

var (
	guidShape   = matcher(guid.Valid)
	sapClient   = matcher(func(s string) bool { return charsIn(s, 3, 3, func(c byte, _ int) bool { return isDigit(c) }) })
	accountName = matcher(func(s string) bool {
		return charsIn(s, 3, 24, func(c byte, _ int) bool { return isLower(c) || isDigit(c) })
	})
	tableName = matcher(func(s string) bool {
		return charsIn(s, 3, 63, func(c byte, i int) bool { return isAlpha(c) || (i > 0 && isDigit(c)) })
	})
	// Queue and container names: 3-63 lowercase letters, digits and single hyphens, not at either end.
	storageName = matcher(func(s string) bool {
		return charsIn(s, 3, 63, func(c byte, i int) bool {
			if c == '-' {
				return i > 0 && i < len(s)-1 && s[i-1] != '-'
			}
			return isLower(c) || isDigit(c)
		})
	})
	cronNames = matcher(func(s string) bool { return charsIn(s, 3, 3, func(c byte, _ int) bool { return isAlpha(c) }) })
)

type validator struct{ problems []Problem }

func (v *validator) add(setting, format string, args ...any) {
	v.problems = append(v.problems, Problem{Setting: setting, Reason: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Setting < v.problems[j].Setting })
	return &ValidationError{Problems: v.problems}
}

func (v *validator) required(setting, value, because string) {
	if strings.TrimSpace(value) == "" {
		v.add(setting, "required when %s", because)
	}
}

func (v *validator) guid(setting, value, because string) {
	switch {
	case value == "":
		v.add(setting, "required when %s", because)
	case !guidShape.MatchString(value):
		v.add(setting, "%q is not a GUID", value)
	}
}

// endpoint checks an absolute http(s) URL without credentials; plain http only to loopback (the simulators).
func (v *validator) endpoint(setting, value string, required bool) {
	if value == "" {
		if required {
			v.add(setting, "required")
		}
		return
	}
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		v.add(setting, "is not an absolute http(s) URL")
		return
	}
	if u.User != nil {
		// Never echo it: it holds a password.
		v.add(setting, "must not carry credentials; use the credential settings")
		return
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		v.add(setting, "must use https (plain http is allowed only for loopback simulators)")
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (v *validator) duration(setting string, d Duration, min, max time.Duration) {
	switch {
	case d.err != nil:
		v.add(setting, "%v", d.err)
	case d.D < min || d.D > max:
		v.add(setting, "%s is outside %s..%s", d.D, min, max)
	}
}

func (v *validator) intRange(setting string, n Int, min, max int) {
	switch {
	case n.err != nil:
		v.add(setting, "%v", n.err)
	case n.N < min || n.N > max:
		v.add(setting, "%d is outside %d..%d", n.N, min, max)
	}
}

func (v *validator) storageName(setting, value string) {
	if !storageName.MatchString(value) {
		v.add(setting, "%q is not a queue or container name (3-63 lowercase letters, digits and single hyphens)", value)
	}
}

// ValidateNCRONTAB checks a six-field NCRONTAB expression (seconds first), the form Azure Functions timers use.
// It follows NCrontab's own rules, which the host applies when it loads the function: every list item present,
// values as plain digits within each field's range (day of week 0-6), names only for month and day of week.
func ValidateNCRONTAB(expr string) error {
	fields := strings.Fields(expr)
	if len(fields) != 6 {
		return fmt.Errorf("%q has %d fields; NCRONTAB needs six (second minute hour day month day-of-week), e.g. \"0 */15 * * * *\"", expr, len(fields))
	}
	limits := [6][2]int{{0, 59}, {0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}
	names := [6]string{"second", "minute", "hour", "day", "month", "day-of-week"}
	valueNames := [6]string{4: "jan feb mar apr may jun jul aug sep oct nov dec", 5: "sun mon tue wed thu fri sat"}
	for i, f := range fields {
		if err := checkCronField(f, limits[i][0], limits[i][1], valueNames[i]); err != nil {
			return fmt.Errorf("%q: %s field %q: %w", expr, names[i], f, err)
		}
	}
	return nil
}

// checkCronField checks one field; valueNames lists the three-letter names the field takes, if any.
func checkCronField(f string, lo, hi int, valueNames string) error {
	for _, part := range strings.Split(f, ",") {
		rng, step, hasStep := strings.Cut(part, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n <= 0 {
				return errors.New("step is not a positive number")
			}
		}
		if rng == "*" {
			continue
		}
		a, b, isRange := strings.Cut(rng, "-")
		values := []string{a}
		if isRange {
			values = append(values, b)
		}
		for _, x := range values {
			if x == "" {
				return errors.New("a value is missing")
			}
			if valueNames != "" && cronNames.MatchString(x) && strings.Contains(valueNames, strings.ToLower(x)) {
				continue
			}
			n, err := strconv.Atoi(x)
			if err != nil || !charsIn(x, 1, len(x), func(c byte, _ int) bool { return isDigit(c) }) {
				return fmt.Errorf("%q is not a number", x)
			}
			if n < lo || n > hi {
				return fmt.Errorf("%d is outside %d..%d", n, lo, hi)
			}
		}
	}
	return nil
}
