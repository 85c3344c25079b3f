package store

import (
	"errors"
	"testing"
	"time"
)

func TestFilterOData(t *testing.T) {
	at := time.Date(2026, 11, 27, 5, 1, 2, 123456789, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"zero matches everything", Filter{}, ""},
		{"string", Eq("state", "stuck"), "state eq 'stuck'"},
		{"quotes are doubled", Eq("note", "it's 'x'"), "note eq 'it''s ''x'''"},
		{"injection stays inside the literal", Eq("state", "x' or 'a' eq 'a"), "state eq 'x'' or ''a'' eq ''a'"},
		{"bool", Ne("done", true), "done ne true"},
		{"int32", Lt("attempt", 3), "attempt lt 3"},
		{"negative int32 edge", Ge("n", int64(-2147483648)), "n ge -2147483648"},
		{"beyond int32 is a double", Gt("big", int64(3_000_000_000)), "big gt 3000000000.0"},
		{"time is a UTC datetime at 100 ns", Le("Timestamp", at), "Timestamp le datetime'2026-11-27T04:01:02.1234567Z'"},
		{"and of two", And(Eq("PartitionKey", "p"), Lt("attempt", 3)), "(PartitionKey eq 'p') and (attempt lt 3)"},
		{"single kid needs no parentheses", Or(Eq("a", "x")), "a eq 'x'"},
		{"nested", Or(And(Eq("a", "x"), Eq("b", false)), Gt("c", 1)), "((a eq 'x') and (b eq false)) or (c gt 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.OData()
			if err != nil || got != tt.want {
				t.Fatalf("OData() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestFilterRefusesBadInput(t *testing.T) {
	fifteen := make([]Filter, 15)
	for i := range fifteen {
		fifteen[i] = Eq("n", i)
	}
	if _, err := Or(fifteen...).OData(); err != nil {
		t.Fatalf("15 comparisons: %v", err)
	}
	tests := []struct {
		name string
		f    Filter
	}{
		{"hyphenated name", Eq("order-id", "x")},
		{"name with a space", Eq("a eq 'b' or a", "x")},
		{"empty name", Eq("", "x")},
		{"float value", Eq("n", 1.5)},
		{"nil value", Eq("n", nil)},
		{"int beyond 2^53", Eq("n", int64(1<<53+1))},
		{"time before 1601", Lt("Timestamp", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC))},
		{"empty and", And()},
		{"zero filter inside or", Or(Eq("a", "x"), Filter{})},
		{"bad leaf deep inside", And(Eq("a", "x"), Or(Eq("b", "y"), Eq("c!", "z")))},
		{"16 comparisons", Or(append(fifteen, Eq("n", 16))...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := tt.f.OData(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("OData() = %q, %v; want ErrInvalid", s, err)
			}
		})
	}
}

func TestSortableTime(t *testing.T) {
	times := []time.Time{
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 1, 0, time.FixedZone("X", -3600)),
		time.Date(2026, 1, 1, 2, 0, 0, 1, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		a, b := SortableTime(times[i-1]), SortableTime(times[i])
		if !(a < b) {
			t.Errorf("%s should sort before %s", a, b)
		}
		if len(a) != len(b) {
			t.Errorf("widths differ: %s, %s", a, b)
		}
	}
	back, err := ParseSortableTime(SortableTime(times[3]))
	if err != nil || !back.Equal(times[3]) {
		t.Fatalf("round trip: %v, %v", back, err)
	}
	if err := validKeys(SortableTime(times[2])); err != nil {
		t.Fatalf("not a valid key: %v", err)
	}
}

func TestCompareUTF16(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"a", "b", -1},
		{"ab", "a", 1},
		{"", "", 0},
		{"A", "a", -1}, // ordinal: no case folding
		// U+FF5E is one code unit 0xFF5E; U+1F600 starts with 0xD83D, so it sorts first in UTF-16
		// although Go's byte order puts it last.
		{"\U0001F600", "\uFF5E", -1},
		{"x\U0001F600", "x\U0001F601", -1},
	}
	for _, tt := range tests {
		if got := compareUTF16(tt.a, tt.b); got != tt.want {
			t.Errorf("compareUTF16(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
