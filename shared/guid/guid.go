// Package guid checks the GUIDs that identify Dynamics 365 rows and Entra ids: 8-4-4-4-12 hexadecimal digits.
// One hand-written check serves the settings, the order push and the Dataverse client, and costs nothing at start-up
// (a regular expression would be compiled in every cold start).
package guid

// Valid says whether s is a GUID in its canonical 36-character form (either case).
func Valid(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
