package sap

import "strings"

// NormalizeDocumentNumber gives an SAP document number (sales order, delivery, billing document) one form, so
// numbers from events, OData and our own records compare equal. SAP keeps numeric document numbers padded to ten
// digits internally (conversion exit ALPHA on domain VBELN) and shows them without the zeros; some APIs and events
// send the padded form ("0000000164" for "164"). So: spaces are trimmed; an all-digit number loses its leading
// zeros (all zeros become "0"); "" stays ""; any other number is upper-cased and kept as it is, as ALPHA keeps
// non-numeric values.
func NormalizeDocumentNumber(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return strings.ToUpper(s)
		}
	}
	if t := strings.TrimLeft(s, "0"); t != "" {
		return t
	}
	return "0"
}
