package ledger

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/d365sap/d365sap/shared/audit"
)

// Bounds of the texts an entry keeps, in UTF-16 code units (how the Table service counts its 64 KiB property
// limit). The whole texts belong in the caller's archive.
const (
	maxText     = 4 << 10
	maxMessages = 16 << 10
)

// cut shortens s to at most max UTF-16 code units, on a character boundary.
func cut(s string, max int) string {
	c, _ := audit.Cut(s, max)
	return c
}

// cutJSON keeps a JSON array of messages within bounds by dropping whole messages from the end; it never
// leaves broken JSON behind.
func cutJSON(s string) string {
	if utf16Len(s) <= maxMessages {
		return s
	}
	var items []json.RawMessage
	if json.Unmarshal([]byte(s), &items) != nil {
		return ""
	}
	for len(items) > 0 {
		items = items[:len(items)-1]
		b, _ := json.Marshal(items)
		if utf16Len(string(b)) <= maxMessages {
			return string(b)
		}
	}
	return ""
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	if !utf8.ValidString(s) {
		return len(s)
	}
	return n
}
