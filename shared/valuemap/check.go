package valuemap

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// limit is the SAP field a kind's codes go into, and how many characters it holds.
type limit struct {
	max   int
	field string
}

// limits are the kinds the file may hold. SAP's lengths are in characters, so codes are counted in runes: a
// three-letter code in any script fits a unit field, a two-character code of four bytes does not overflow it.
var limits = map[string]limit{
	// The unit code of A_SalesOrderItem.RequestedQuantityUnit and A_ProductUnitsOfMeasure.AlternativeUnit,
	// SAP's external (commercial) unit format, MaxLength 3.
	Units: {3, "unit of measure"},
	// A_SalesOrder.CustomerPaymentTerms (ZTERM), MaxLength 4.
	PaymentTerms: {4, "terms of payment key"},
}

func knownKinds() string { return strings.Join(sortedKeys(limits), ", ") }

// check returns every problem in one kind's map: bad text, over-long codes, and directions that disagree.
func check(m *Map) []string {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, m.Kind+": "+fmt.Sprintf(format, args...))
	}
	lim := limits[m.Kind]
	code := func(where, c string) {
		if p := textProblem(c); p != "" {
			bad("%s: SAP code %q %s", where, c, p)
		} else if n := utf8.RuneCountInString(c); n > lim.max {
			bad("%s: SAP code %q is %d characters; SAP's %s holds %d", where, c, n, lim.field, lim.max)
		}
	}
	value := func(where, v string) {
		if p := textProblem(v); p != "" {
			bad("%s: D365 value %q %s", where, v, p)
		}
	}

	// Every SAP code toSAP uses, with the D365 values that use it, to find codes whose reverse is unstated.
	users := map[string][]string{}
	for _, d := range sortedKeys(m.ToSAP) {
		c := m.ToSAP[d]
		value("toSAP", d)
		code(fmt.Sprintf("toSAP[%q]", d), c)
		users[c] = append(users[c], fmt.Sprintf("toSAP[%q]", d))
	}
	for _, c := range sortedKeys(m.FromSAP) {
		d := m.FromSAP[c]
		code("fromSAP", c)
		value(fmt.Sprintf("fromSAP[%q]", c), d)
		switch back, ok := m.ToSAP[d]; {
		case !ok:
			bad("fromSAP[%q] = %q, but toSAP has no %q, so that value would not map back to %q", c, d, d, c)
		case back != c:
			bad("fromSAP[%q] = %q, but toSAP[%q] = %q; the two directions must agree", c, d, d, back)
		}
	}
	for _, c := range sortedKeys(users) {
		if _, ok := m.FromSAP[c]; !ok {
			bad("SAP code %q (%s) has no fromSAP entry, so the D365 value it reads back as is unstated", c, strings.Join(users[c], ", "))
		}
	}
	return problems
}

// textProblem says what is wrong with a key or value, or "" when nothing is. Surrounding spaces and invisible
// characters are refused because they make an entry that looks right and never matches.
func textProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case strings.TrimSpace(s) != s:
		return "has leading or trailing spaces"
	case strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return "holds a control or invisible character"
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
