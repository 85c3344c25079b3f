package audit

import "unicode/utf16"

// MaxPropertyUnits is the Table service's limit on one string property: 64 KiB of UTF-16, that is
// 32,768 code units (Azurite enforces the same count).
const MaxPropertyUnits = 32 * 1024

// Cut returns the longest prefix of s that fits in maxUTF16Units UTF-16 code units, the unit the
// Table service measures strings in, and whether anything was cut. It cuts only between characters:
// never inside a UTF-8 sequence, and never between the two halves of a surrogate pair (a character
// above U+FFFF counts two units and is kept whole or not at all). A byte that is not valid UTF-8
// counts one unit, as the U+FFFD that JSON encoding turns it into.
func Cut(s string, maxUTF16Units int) (string, bool) {
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > maxUTF16Units {
			return s[:i], true
		}
		n += w
	}
	return s, false
}

// units counts s in UTF-16 code units, as Cut does.
func units(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++
		}
	}
	return n
}
