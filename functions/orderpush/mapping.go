package orderpush

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

//go:embed mapping.json
var defaultMapping []byte

// Mapping is the declarative D365 → SAP mapping (mapping.json): fixed header values with rules, value maps for
// payment terms and units, and the write-back columns.
type Mapping struct {
	Comment      string            `json:"comment,omitempty"`
	Header       HeaderMapping     `json:"header"`
	PaymentTerms map[string]string `json:"paymentTerms"`
	Units        map[string]string `json:"units"`
	WriteBack    WriteBack         `json:"writeBack"`
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

// Rule overrides header values for orders matching When (currency, customerAccountNumber, paymentTerms).
type Rule struct {
	Comment string            `json:"comment,omitempty"`
	When    map[string]string `json:"when"`
	Set     map[string]string `json:"set"`
}

// WriteBack names the salesorder columns written after the SAP order exists. SAPNumberColumn is usually a custom
// column (e.g. "new_sapsalesorder"); empty leaves it out and the number goes into the status description.
type WriteBack struct {
	SAPNumberColumn            string `json:"sapNumberColumn"`
	StatusDescriptionColumn    string `json:"statusDescriptionColumn"`
	SubmitDateColumn           string `json:"submitDateColumn"`
	LastBackOfficeSubmitColumn string `json:"lastBackOfficeSubmitColumn"`
}

// SAP field lengths (API_SALES_ORDER_SRV): checked when the mapping loads, so a bad mapping stops the app at
// start-up instead of failing orders one by one.
var sapLengths = map[string]int{
	"salesOrderType": 4, "salesOrganization": 4, "distributionChannel": 2, "organizationDivision": 2,
	"currency": 5, "paymentTerms": 4, "unit": 3,
}

var ruleKeys = map[string]bool{"currency": true, "customerAccountNumber": true, "paymentTerms": true}

// LoadMapping reads the mapping file at path, or the shipped defaults when path is empty, and validates it.
func LoadMapping(path string) (*Mapping, error) {
	b := defaultMapping
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("reading mapping file: %w", err)
		}
	}
	return ParseMapping(b)
}

// ParseMapping decodes and validates a mapping, reporting every problem at once.
func ParseMapping(b []byte) (*Mapping, error) {
	var m Mapping
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parsing mapping: %w", err)
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	field := func(name, v string, required bool) {
		switch {
		case v == "" && required:
			bad("header.%s is required", name)
		case len(v) > sapLengths[name]:
			bad("header.%s %q is longer than SAP's %d characters", name, v, sapLengths[name])
		}
	}
	h := m.Header
	field("salesOrderType", h.SalesOrderType, true)
	field("salesOrganization", h.SalesOrganization, true)
	field("distributionChannel", h.DistributionChannel, true)
	field("organizationDivision", h.OrganizationDivision, true)
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
			if !ok || k == "currency" || k == "paymentTerms" || k == "unit" {
				bad("header.rules[%d].set.%s: can set only salesOrderType, salesOrganization, distributionChannel, organizationDivision", i, k)
				continue
			}
			if v == "" || len(v) > max {
				bad("header.rules[%d].set.%s %q must be 1-%d characters", i, k, v, max)
			}
		}
	}
	for k, v := range m.PaymentTerms {
		if v == "" || len(v) > sapLengths["paymentTerms"] {
			bad("paymentTerms[%q] %q must be 1-4 characters", k, v)
		}
	}
	for k, v := range m.Units {
		if v == "" || len(v) > sapLengths["unit"] {
			bad("units[%q] %q must be 1-3 characters", k, v)
		}
	}
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
			var got string
			switch k {
			case "currency":
				got = currency
			case "customerAccountNumber":
				got = o.CustomerAccountNumber
			case "paymentTerms":
				got = o.PaymentTerms
			}
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

// Map turns an order into SAP's deep-insert payload. Every missing or unmapped value is reported at once, as
// problem.Invalid with one field error each. purchaseOrder is the reference SAP stores in PurchaseOrderByCustomer
// and the key of the duplicate check, so it is decided once per order by the caller.
func (m *Mapping) Map(o *Order, purchaseOrder string) (sap.SalesOrderCreate, error) {
	var f []problem.FieldError
	add := func(field, reason string) { f = append(f, problem.FieldError{Field: field, Reason: reason}) }
	currency := o.Currency
	if currency == "" {
		currency = m.Header.DefaultCurrency
	}
	if currency == "" {
		add("currency", "the order has no currency and the mapping has no defaultCurrency")
	}
	h := m.header(o, currency)
	so := sap.SalesOrderCreate{
		SalesOrderType:          h.SalesOrderType,
		SalesOrganization:       h.SalesOrganization,
		DistributionChannel:     h.DistributionChannel,
		OrganizationDivision:    h.OrganizationDivision,
		SoldToParty:             strings.TrimSpace(o.CustomerAccountNumber),
		PurchaseOrderByCustomer: purchaseOrder,
		TransactionCurrency:     currency,
	}
	if len(so.SoldToParty) > 10 {
		add("customerAccountNumber", fmt.Sprintf("%q is longer than SAP's sold-to party (10 characters)", so.SoldToParty))
	}
	if len(purchaseOrder) > 35 {
		add("purchaseOrderNumber", fmt.Sprintf("%q is longer than SAP's customer reference (35 characters)", purchaseOrder))
	}
	if o.RequestedDeliveryDate != "" {
		if d, err := time.Parse(time.DateOnly, o.RequestedDeliveryDate); err == nil {
			so.RequestedDeliveryDate = sap.Date(d.Year(), d.Month(), d.Day())
		}
	}
	if o.PaymentTerms != "" {
		t, ok := m.PaymentTerms[o.PaymentTerms]
		if !ok {
			add("paymentTerms", fmt.Sprintf("%q has no SAP payment terms in the mapping", o.PaymentTerms))
		}
		so.CustomerPaymentTerms = t
	}
	for i, l := range o.Lines {
		p := fmt.Sprintf("lines/%d/", i)
		item := sap.SalesOrderItemCreate{
			SalesOrderItem: fmt.Sprint((i + 1) * 10),
			Material:       strings.TrimSpace(l.ProductNumber),
		}
		if len(item.Material) > 40 {
			add(p+"productNumber", fmt.Sprintf("%q is longer than SAP's material (40 characters)", item.Material))
		}
		q, err := sap.ParseDecimal(string(l.Quantity))
		if err != nil {
			add(p+"quantity", "is not a decimal number")
		} else if !q.FitsEDM(15, 3) {
			add(p+"quantity", fmt.Sprintf("%s does not fit SAP's quantity (15 digits, 3 decimals)", q))
		}
		item.RequestedQuantity = q
		if l.Unit != "" {
			u, ok := m.Units[l.Unit]
			if !ok {
				add(p+"unit", fmt.Sprintf("%q has no SAP unit in the mapping", l.Unit))
			}
			item.RequestedQuantityUnit = u
		}
		so.Items = append(so.Items, item)
	}
	if len(f) > 0 {
		return sap.SalesOrderCreate{}, problem.InvalidFields(fmt.Sprintf("the order cannot be mapped to SAP: %d problem(s)", len(f)), f)
	}
	return so, nil
}
