package orderpush

import (
	"bytes"
	_ "embed"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/valuemap"
)

//go:embed mapping.json
var defaultMapping []byte

// Mapping is the declarative D365 → SAP mapping (mapping.json): fixed header values with rules, the reference
// mode of the duplicate check, and the write-back columns. Value maps (units, payment terms) are shared with the
// other functions and come from the value-map file.
type Mapping struct {
	Comment   string        `json:"comment,omitempty"`
	Header    HeaderMapping `json:"header"`
	Read      ReadMapping   `json:"read,omitzero"`
	Reference Reference     `json:"reference"`
	WriteBack WriteBack     `json:"writeBack"`

	values *valuemap.Set
}

// HeaderMapping gives the SAP organisational data of every order, adjusted by the first matching rule.
type HeaderMapping struct {
	SalesOrderType       string `json:"salesOrderType"`
	SalesOrganization    string `json:"salesOrganization"`
	DistributionChannel  string `json:"distributionChannel"`
	OrganizationDivision string `json:"organizationDivision"`
	DefaultCurrency      string `json:"defaultCurrency"`
	Rules                []Rule `json:"rules,omitempty"`
}

// ReadMapping names salesorder columns read beyond the standard ones. Dynamics 365 has no standard column for
// the customer's purchase order number; orgs add one (e.g. new_customerpo) and name it here.
type ReadMapping struct {
	PurchaseOrderColumn string `json:"purchaseOrderColumn,omitempty"`
}

// Rule overrides header values for orders matching When (currency, customerAccountNumber, paymentTerms).
type Rule struct {
	Comment string            `json:"comment,omitempty"`
	When    map[string]string `json:"when"`
	Set     map[string]string `json:"set"`
}

// WriteBack names the salesorder columns written when the push ends. SAPNumberColumn is usually a custom column
// (e.g. "new_sapsalesorder"); StatusDescriptionColumn gets a readable status ("Created in SAP as sales order
// 4711", "Rejected by SAP: ..."); SAPMessageColumn, when set, SAP's first message of a rejection.
type WriteBack struct {
	SAPNumberColumn            string `json:"sapNumberColumn"`
	StatusDescriptionColumn    string `json:"statusDescriptionColumn"`
	SAPMessageColumn           string `json:"sapMessageColumn,omitempty"`
	SubmitDateColumn           string `json:"submitDateColumn"`
	LastBackOfficeSubmitColumn string `json:"lastBackOfficeSubmitColumn"`
}

// SAP field lengths (API_SALES_ORDER_SRV), in characters: checked when the mapping loads, so a bad mapping stops
// the app at start-up instead of failing orders one by one.
var sapLengths = map[string]int{
	"salesOrderType": 4, "salesOrganization": 4, "distributionChannel": 2, "organizationDivision": 2,
}

var ruleKeys = map[string]bool{"currency": true, "customerAccountNumber": true, "paymentTerms": true}

// LoadMapping reads the mapping file at path (the shipped defaults when empty) and validates it with the value
// maps it uses.
func LoadMapping(path string, values *valuemap.Set) (*Mapping, error) {
	b := defaultMapping
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("reading mapping file: %w", err)
		}
	}
	return ParseMapping(b, values)
}

// ParseMapping decodes and validates a mapping, reporting every problem at once.
func ParseMapping(b []byte, values *valuemap.Set) (*Mapping, error) {
	var m Mapping
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parsing mapping: %w", err)
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if values == nil {
		bad("no value maps were given")
	} else if err := values.Require(valuemap.Units, valuemap.PaymentTerms); err != nil {
		bad("value maps: %v", err)
	}
	m.values = values
	field := func(name, v string) {
		switch n := sap.Length(v); {
		case v == "":
			bad("header.%s is required", name)
		case n > sapLengths[name]:
			bad("header.%s %q is longer than SAP's %d characters", name, v, sapLengths[name])
		}
	}
	h := m.Header
	field("salesOrderType", h.SalesOrderType)
	field("salesOrganization", h.SalesOrganization)
	field("distributionChannel", h.DistributionChannel)
	field("organizationDivision", h.OrganizationDivision)
	if h.DefaultCurrency != "" && !currencyRe.MatchString(h.DefaultCurrency) {
		bad("header.defaultCurrency %q is not an ISO 4217 code", h.DefaultCurrency)
	}
	for i, r := range h.Rules {
		if len(r.When) == 0 || len(r.Set) == 0 {
			bad("header.rules[%d] needs when and set", i)
		}
		for k := range r.When {
			if !ruleKeys[k] {
				bad("header.rules[%d].when.%s: can match only currency, customerAccountNumber, paymentTerms", i, k)
			}
		}
		for k, v := range r.Set {
			max, ok := sapLengths[k]
			if !ok {
				bad("header.rules[%d].set.%s: can set only salesOrderType, salesOrganization, distributionChannel, organizationDivision", i, k)
				continue
			}
			if n := sap.Length(v); n == 0 || n > max {
				bad("header.rules[%d].set.%s %q must be 1-%d characters", i, k, v, max)
			}
		}
	}
	if c := m.Read.PurchaseOrderColumn; c != "" && !logicalName(c) {
		bad("read.purchaseOrderColumn %q is not a Dataverse column logical name (lower-case letters, digits, _)", c)
	}
	m.Reference.validate(bad)
	if m.WriteBack.StatusDescriptionColumn == "" && m.WriteBack.SAPNumberColumn == "" {
		bad("writeBack needs sapNumberColumn or statusDescriptionColumn, or the SAP number is never written back")
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("validating mapping: %s", strings.Join(errs, "; "))
	}
	return &m, nil
}

// header returns the header values for an order after applying the first matching rule.
func (m *Mapping) header(o *Order, currency string) HeaderMapping {
	h := m.Header
	for _, r := range h.Rules {
		match := true
		for k, v := range r.When {
			got := map[string]string{"currency": currency, "customerAccountNumber": o.CustomerAccountNumber, "paymentTerms": o.PaymentTerms}[k]
			if got != v {
				match = false
			}
		}
		if !match {
			continue
		}
		for k, v := range r.Set {
			switch k {
			case "salesOrderType":
				h.SalesOrderType = v
			case "salesOrganization":
				h.SalesOrganization = v
			case "distributionChannel":
				h.DistributionChannel = v
			case "organizationDivision":
				h.OrganizationDivision = v
			}
		}
		break
	}
	return h
}

// purchaseOrder is what travels in PurchaseOrderByCustomer: the reference itself in orderNumber mode; else the
// customer's PO number, the D365 order number, or a form of the order id, so that a headerText lookup always
// has a PO to search under.
func (m *Mapping) purchaseOrder(o *Order, ref string) string {
	if m.Reference.Mode == RefOrderNumber {
		return ref
	}
	if po := strings.TrimSpace(o.PurchaseOrderNumber); po != "" {
		return po
	}
	if n := strings.TrimSpace(o.OrderNumber); n != "" {
		return n
	}
	raw, _ := hex.DecodeString(strings.ReplaceAll(o.SalesOrderID, "-", ""))
	return "D365-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
}

// sendKey is the PO and sold-to party a create of o would be sent with.
func (m *Mapping) sendKey(o *Order, ref string) (string, string) {
	return m.purchaseOrder(o, ref), strings.TrimSpace(o.CustomerAccountNumber)
}

// ordered returns the lines in D365 order: by line item number, then sequence number; lines without a line
// item number come after those with one, in the order they were listed.
func ordered(lines []OrderLine) []OrderLine {
	out := append([]OrderLine(nil), lines...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.LineItemNumber == 0) != (b.LineItemNumber == 0) {
			return b.LineItemNumber == 0
		}
		if a.LineItemNumber != b.LineItemNumber {
			return a.LineItemNumber < b.LineItemNumber
		}
		return a.SequenceNumber < b.SequenceNumber
	})
	return out
}

// isUnavailable says whether a mapping error is SAP being unreachable (reading units), to be tried again, rather
// than bad data or SAP refusing the read for good (a material number it cannot take as a key), which ends it.
func isUnavailable(err error) bool {
	var pe *problem.Error
	return errors.As(err, &pe) && problem.Retryable(pe)
}

// logicalName: a Dataverse column's logical name (lower case letters, digits, underscores, starting with a letter).
func logicalName(s string) bool {
	if s == "" || len(s) > 100 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
