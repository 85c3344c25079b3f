package sap

import "unicode/utf16"

// Length is s's length as SAP counts a character field (CHAR, Edm.String MaxLength): in UTF-16 code units, since
// ABAP holds text in UTF-16 and gives a character outside the Basic Multilingual Plane (an emoji, many CJK
// extension characters) two positions. Counting runes passes 35 emoji for a 35-character field that holds 17.
func Length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
