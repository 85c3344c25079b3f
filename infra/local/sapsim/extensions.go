package sapsim

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Custom header fields of A_SalesOrder, as the S/4HANA Custom Fields app publishes them: a key user creates a field
// in business context "Sales: Sales Document" (SD_SALESDOC), enables it for API_SALES_ORDER_SRV, and the API gains
// an Edm.String property YY1_<Name>_SDH that is creatable, updatable, readable and filterable. Name and length are
// chosen per system, which is why a client must not hard-code them.

// DefaultExtensionField is the custom header field a simulator has when Options.ExtensionFields is nil.
const DefaultExtensionField = "YY1_D365OrderID_SDH"

// DefaultExtensionFieldLength is the MaxLength of DefaultExtensionField: a GUID in its 36-character text form.
const DefaultExtensionFieldLength = 36

// extensionName is the shape of a key-user field on the sales document header (YY1_, from the Custom Fields app)
// or of a developer extension (ZZ1_).
var extensionName = regexp.MustCompile(`^(YY1|ZZ1)_[A-Za-z0-9_]+_SDH$`)

// IsExtensionField reports whether name has the shape of a custom sales document header field.
func IsExtensionField(name string) bool { return extensionName.MatchString(name) }

// extensionFields returns the configured fields: the default when nil, none when empty. It panics on a name or
// length no Custom Fields app would produce, because that is a mistake in the test, not a fault to simulate.
func extensionFields(configured map[string]int) map[string]int {
	if configured == nil {
		return map[string]int{DefaultExtensionField: DefaultExtensionFieldLength}
	}
	for name, n := range configured {
		if !IsExtensionField(name) || n <= 0 {
			panic(fmt.Sprintf("sapsim: extension field %q (MaxLength %d) is not a YY1_<Name>_SDH field with a positive length", name, n))
		}
	}
	return maps.Clone(configured)
}

// salesOrderTypeWith is A_SalesOrderType with the extension fields appended, sorted by name; the shared table is
// left as SAP publishes it.
func salesOrderTypeWith(fields map[string]int) *entityType {
	if len(fields) == 0 {
		return etASalesOrderType
	}
	et := *etASalesOrderType
	et.Props = slices.Clip(slices.Clone(etASalesOrderType.Props))
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		et.Props = append(et.Props, prop{Name: name, Type: edmString, MaxLen: fields[name]})
	}
	et.index = make(map[string]int, len(et.Props))
	for i, p := range et.Props {
		et.index[p.Name] = i
	}
	return &et
}

// typeFor returns the server's own variant of a shared entity type (A_SalesOrderType with extension fields).
func (s *Server) typeFor(et *entityType) *entityType {
	if et.Name == etASalesOrderType.Name {
		return s.soType
	}
	return et
}

// normalizeExtensions applies what the landscape does to custom field values before they are stored.
func (s *Server) normalizeExtensions(r record) {
	if !s.opts.ExtensionUpperCase {
		return
	}
	for name := range s.extFields {
		if v, ok := r[name].(string); ok {
			r[name] = strings.ToUpper(v)
		}
	}
}

// injectExtensions adds the extension properties to SAP's own EDMX of API_SALES_ORDER_SRV, right after the key of
// A_SalesOrderType, where a live system's $metadata lists them too.
func injectExtensions(edmx []byte, fields map[string]int) []byte {
	if len(fields) == 0 {
		return edmx
	}
	doc := string(edmx)
	start := strings.Index(doc, `<EntityType Name="A_SalesOrderType"`)
	if start < 0 {
		return edmx
	}
	end := strings.Index(doc[start:], "</Key>")
	if end < 0 {
		return edmx
	}
	at := start + end + len("</Key>")
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		label := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(name, "YY1_"), "ZZ1_"), "_SDH")
		fmt.Fprintf(&b, `<Property Name="%s" Type="Edm.String" MaxLength="%d" sap:label="%s"/>`, name, fields[name], label)
	}
	return []byte(doc[:at] + b.String() + doc[at:])
}
