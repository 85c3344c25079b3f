package sap

import (
	"encoding/json"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
)

// SAP's scalar encodings: what the client reads it must write back as the same value, because read values go
// back to SAP (ETags aside, a date or amount that changes on the way through is a silent data change).

// kitDates finds every /Date(...)/ value in the kit's SAP samples, escaped slashes included.
var kitDates = regexp.MustCompile(`\\?/Date\([^)"]*\)\\?/`)

// FuzzParseJSONDate reads /Date(ms)/ and /Date(ms±hhmm)/: whatever is accepted re-encodes (as DateTime and as
// DateTimeOffset) to the same instant, and reads the same inside JSON with or without escaped slashes.
func FuzzParseJSONDate(f *testing.F) {
	for _, b := range fuzzKitFiles(f, "sap/samples", "*.json") {
		for _, m := range kitDates.FindAll(b, -1) {
			f.Add(strings.ReplaceAll(string(m), `\/`, `/`))
		}
	}
	for _, s := range []string{"/Date(0)/", "/Date(-1)/", "/Date(1552895997855+0000)/", "/Date(1552895997855-0130)/", "/Date(1552895997855+9999)/",
		"/Date(253402300799999)/", "/Date(-62135596800000)/", "/Date()/", "/Date(1+)/", "/Date(+5)/", "/Date(1--100)/",
		"/Date(9223372036854775807)/", "/Date(-9223372036854775808)/", "/Date(1e3)/", "Date(1)", "/Date(1)", "2019-03-18T00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseJSONDate(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidDate) {
				t.Fatalf("ParseJSONDate(%q): %v does not wrap ErrInvalidDate", s, err)
			}
			return
		}
		for _, lit := range []string{`"` + s + `"`, `"` + strings.ReplaceAll(s, "/", `\/`) + `"`} {
			var d DateTime
			if err := json.Unmarshal([]byte(lit), &d); err != nil || !d.Equal(tm) {
				t.Fatalf("%s in JSON reads %v (%v), ParseJSONDate gave %v", lit, d.Time, err, tm)
			}
		}
		if tm.Nanosecond()%int(time.Millisecond) != 0 {
			t.Fatalf("%q gave a time finer than SAP's milliseconds: %v", s, tm)
		}
		for _, v := range []json.Marshaler{DateTime{tm}, DateTimeOffset{tm}} {
			b, err := v.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var back DateTimeOffset
			if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tm) {
				t.Fatalf("%q → %v → %s → %v (%v)", s, tm, b, back.Time, err)
			}
		}
	})
}

// FuzzTimeOfDay reads Edm.Time ("PT10H06M00S"): no panic, and a time of day in whole seconds re-encodes exactly.
func FuzzTimeOfDay(f *testing.F) {
	for _, s := range []string{"PT10H06M00S", "PT00H00M00S", "PT23H59M59S", "PT24H00M00S", "PT1.5S", "PT-1H30M", "P1D", "PT", "", "10:06:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit, _ := json.Marshal(s)
		var tod TimeOfDay
		if err := tod.UnmarshalJSON(lit); err != nil || tod.Duration < 0 || tod.Duration%time.Second != 0 {
			return
		}
		b, err := tod.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back TimeOfDay
		if err := back.UnmarshalJSON(b); err != nil || back != tod {
			t.Fatalf("%q → %s → %s → %s (%v)", s, tod.Duration, b, back.Duration, err)
		}
	})
}

// FuzzDecimal reads Edm.Decimal text: accepted exactly when it is a plain decimal (an exact big.Rat reads it),
// kept as sent through JSON, and its digit counts agree with formatting and with the EDMX facet check.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"24.25", "0", "-12", "+3", "0.500", ".5", "5.", "007", "-0.000", "1e3", "1/2", "0x1F", "1_000", "", "-", ".",
		"١٢", "99999999999999999999999999999.9999999999", " 1", "1 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		exact, isRat := new(big.Rat).SetString(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidDecimal) {
				t.Fatalf("ParseDecimal(%q): %v does not wrap ErrInvalidDecimal", s, err)
			}
			return
		}
		if !isRat || d.Rat().Cmp(exact) != 0 {
			t.Fatalf("ParseDecimal(%q) accepted what big.Rat reads as %v (%v); Rat() gives %v", s, exact, isRat, d.Rat())
		}
		if d.IsZero() != (exact.Sign() == 0) || d.Cmp(d) != 0 {
			t.Fatalf("%q: IsZero %v, Cmp with itself %d", s, d.IsZero(), d.Cmp(d))
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Decimal
		if err := json.Unmarshal(b, &back); err != nil || back.String() != s {
			t.Fatalf("%q → %s → %q (%v): the text changed", s, b, back.String(), err)
		}
		integer, fraction := d.Digits()
		if DecimalFromRat(d.Rat(), fraction).Cmp(d) != 0 {
			t.Fatalf("%q formatted with its %d fraction digits is %s", s, fraction, DecimalFromRat(d.Rat(), fraction))
		}
		if !d.FitsEDM(integer+fraction, fraction) || (fraction > 0 && d.FitsEDM(integer+fraction, fraction-1)) {
			t.Fatalf("%q has %d+%d digits but FitsEDM disagrees", s, integer, fraction)
		}
	})
}
