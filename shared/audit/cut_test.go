package audit

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCut(t *testing.T) {
	const grin = "\U0001F600" // above U+FFFF: 4 bytes, 2 UTF-16 units
	tests := []struct {
		name    string
		s       string
		max     int
		want    string
		wantCut bool
	}{
		{"fits", "abc", 3, "abc", false},
		{"ascii", "abcdef", 4, "abcd", true},
		{"empty", "", 0, "", false},
		{"nothing fits", "abc", 0, "", true},
		{"negative limit", "abc", -1, "", true},
		{"two-byte characters count one unit each", "ééé", 2, "éé", true},
		{"three-byte characters count one unit each", "日本語", 2, "日本", true},
		{"a whole pair fits", "a" + grin, 3, "a" + grin, false},
		{"half a pair is dropped", "a" + grin, 2, "a", true},
		{"pairs are kept whole", grin + grin, 3, grin, true},
		{"pair after multi-byte", "é" + grin + "x", 3, "é" + grin, true},
		{"invalid byte counts one", "a\xffb", 2, "a\xff", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, cut := Cut(tt.s, tt.max)
			if got != tt.want || cut != tt.wantCut {
				t.Fatalf("Cut(%q, %d) = %q, %v; want %q, %v", tt.s, tt.max, got, cut, tt.want, tt.wantCut)
			}
			if !strings.HasPrefix(tt.s, got) {
				t.Fatalf("%q is not a prefix of %q", got, tt.s)
			}
			if utf8.ValidString(tt.s) && !utf8.ValidString(got) {
				t.Fatalf("Cut split a UTF-8 sequence: %q", got)
			}
			if tt.max >= 0 && units(got) > tt.max {
				t.Fatalf("%q is %d units, over %d", got, units(got), tt.max)
			}
		})
	}
}

// Every cut of a string mixing one-, two-, three- and four-byte characters is a valid prefix of at
// most the units asked for, and as long as possible.
func TestCutEveryLength(t *testing.T) {
	s := strings.Repeat("aé日\U0001F600", 5)
	for max := 0; max <= units(s)+1; max++ {
		got, cut := Cut(s, max)
		if !utf8.ValidString(got) || !strings.HasPrefix(s, got) || units(got) > max {
			t.Fatalf("Cut(s, %d) = %q", max, got)
		}
		if cut != (got != s) {
			t.Fatalf("Cut(s, %d) reports cut=%v for %q", max, cut, got)
		}
		if rest := s[len(got):]; rest != "" {
			r, _ := utf8.DecodeRuneInString(rest)
			if w := units(string(r)); units(got)+w <= max {
				t.Fatalf("Cut(s, %d) = %q stopped early: %q would fit", max, got, r)
			}
		}
	}
}
