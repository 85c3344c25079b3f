package sap

import (
	"strings"
	"testing"
)

func TestLengthCountsUTF16CodeUnits(t *testing.T) {
	for _, tt := range []struct {
		name string
		s    string
		want int
	}{
		{"empty", "", 0},
		{"ASCII", "PO-4711", 7},
		{"two-byte letters count one each", strings.Repeat("Ä", 35), 35},
		{"three-byte letters count one each", "日本語", 3},
		{"a character outside the BMP counts two", "\U0001F600", 2},
		{"35 emoji are 70 positions", strings.Repeat("\U0001F600", 35), 70},
		{"a combining mark is a character of its own", "A\u0308", 2},
		{"invalid UTF-8 counts as U+FFFD, one", "\xff", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Length(tt.s); got != tt.want {
				t.Errorf("Length(%q) = %d, want %d", tt.s, got, tt.want)
			}
		})
	}
}
