package sap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Custom fields of the sales order header. The S/4HANA Custom Fields app publishes a key-user field of business
// context "Sales: Sales Document" to API_SALES_ORDER_SRV as YY1_<Name>_SDH (developer extensions use ZZ1_); each
// system chooses name and length, and SAP's published EDMX cannot know them, so they travel in a map.

var extensionFieldName = regexp.MustCompile(`^(YY1|ZZ1)_[A-Za-z0-9_]+_SDH$`)

// IsExtensionField reports whether name has the shape of a custom sales order header field (YY1_<Name>_SDH or
// ZZ1_<Name>_SDH).
func IsExtensionField(name string) bool { return extensionFieldName.MatchString(name) }

// isCustomProperty reports whether a property of an answer is a custom field of any business context.
func isCustomProperty(name string) bool {
	return strings.HasPrefix(name, "YY1_") || strings.HasPrefix(name, "ZZ1_")
}

// extensionProblems lists the extension names that are not custom header fields. Lengths are the caller's to
// check: they are configured per system.
func extensionProblems(ext map[string]string) []string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(ext)) {
		if !IsExtensionField(name) {
			problems = append(problems, fmt.Sprintf("%s is not a custom header field (YY1_<Name>_SDH or ZZ1_<Name>_SDH)", name))
		}
	}
	return problems
}

// MarshalJSON writes the create payload with the extension fields as top-level properties of the header, after the
// standard ones and sorted by name, so the same order always gives the same bytes.
func (o SalesOrderCreate) MarshalJSON() ([]byte, error) {
	type plain SalesOrderCreate
	b, err := json.Marshal(plain(o))
	if err != nil || len(o.Extensions) == 0 {
		return b, err
	}
	b = bytes.TrimSuffix(b, []byte("}"))
	for _, name := range slices.Sorted(maps.Keys(o.Extensions)) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(name)
		v, _ := json.Marshal(o.Extensions[name])
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads the order and collects every YY1_*/ZZ1_* string property into Extensions.
func (so *SalesOrder) UnmarshalJSON(b []byte) error {
	type plain SalesOrder
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	p.Extensions = nil
	if bytes.Contains(b, []byte(`"YY1_`)) || bytes.Contains(b, []byte(`"ZZ1_`)) {
		var all map[string]json.RawMessage
		if err := json.Unmarshal(b, &all); err != nil {
			return err
		}
		for name, raw := range all {
			var s string
			if isCustomProperty(name) && json.Unmarshal(raw, &s) == nil {
				if p.Extensions == nil {
					p.Extensions = map[string]string{}
				}
				p.Extensions[name] = s
			}
		}
	}
	*so = SalesOrder(p)
	return nil
}
