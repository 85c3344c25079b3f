package orderpush

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/guid"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// Order is a D365 sales order as the push needs it, whether it was read from Dataverse or given inline.
type Order struct {
	SalesOrderID          string      `json:"salesorderid"`
	OrderNumber           string      `json:"ordernumber,omitempty"`
	CustomerAccountNumber string      `json:"customerAccountNumber"`
	PurchaseOrderNumber   string      `json:"purchaseOrderNumber,omitempty"`
	RequestedDeliveryDate string      `json:"requestedDeliveryDate,omitempty"`
	Currency              string      `json:"currency,omitempty"`
	PaymentTerms          string      `json:"paymentTerms,omitempty"`
	Lines                 []OrderLine `json:"lines"`
}

// OrderLine is one line: product number (the SAP material), exact quantity, D365 unit name, and its place in
// the D365 order (lineitemnumber, then sequencenumber; lines without them keep their place in the list).
type OrderLine struct {
	ProductNumber  string      `json:"productNumber"`
	Quantity       json.Number `json:"quantity"`
	Unit           string      `json:"unit,omitempty"`
	LineItemNumber int         `json:"lineItemNumber,omitempty"`
	SequenceNumber int         `json:"sequenceNumber,omitempty"`
}

// Request is the body of POST /api/orders: the id of an order to read from Dataverse, or the order inline.
type Request struct {
	SalesOrderID string `json:"salesorderid,omitempty"`
	Order        *Order `json:"order,omitempty"`
}

var (
	guidRe     = matcher(guid.Valid)
	currencyRe = matcher(isCurrencyCode)
)

// IsOrderID says whether s is a D365 order id (a GUID).
func IsOrderID(s string) bool { return guid.Valid(s) }

// matcher lets a check read like the regular expressions it replaced (those were compiled in every cold start).
type matcher func(string) bool

func (m matcher) MatchString(s string) bool { return m(s) }

// isCurrencyCode: three upper-case letters, the shape of an ISO 4217 code.
func isCurrencyCode(s string) bool {
	return len(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' && s[2] <= 'Z'
}

// MaxLines bounds an order: SAP numbers items in steps of 10 within six digits.
const MaxLines = 999

// ParseRequest decodes and checks a request body, naming every problem.
func ParseRequest(body []byte) (Request, error) {
	var r Request
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if len(strings.TrimSpace(string(body))) == 0 {
		return r, problem.InvalidFields("the request has no body", []problem.FieldError{{Field: "", Reason: `send {"salesorderid":"<guid>"} or {"order":{...}}`}})
	}
	if err := dec.Decode(&r); err != nil {
		// A member of the wrong type is named, as every other invalid member is.
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return r, problem.InvalidFields("the request body is not the expected JSON", []problem.FieldError{{Field: memberPath(body, te.Offset), Reason: typeReason(te)}})
		}
		// encoding/json gives these two as plain errors, without an offset: their member is found by type.
		field := ""
		switch msg := err.Error(); {
		case strings.HasPrefix(msg, "json: unknown field "):
			field = cutField(unknownMember(body, reflect.TypeFor[Request]())) // the name is the caller's, of any length
		case strings.HasPrefix(msg, "json: invalid number literal"):
			field = badNumber(body, reflect.TypeFor[Request]())
		}
		return r, problem.InvalidFields("the request body is not the expected JSON", []problem.FieldError{{Field: field, Reason: jsonReason(err)}})
	}
	// More() misses a stray '}' or ']', so look at what is left of the body.
	if rest := strings.TrimSpace(string(body[dec.InputOffset():])); rest != "" {
		return r, problem.InvalidFields("the request body has data after the JSON object", []problem.FieldError{{Field: "", Reason: "trailing data"}})
	}
	if dup := duplicateMember(body); dup != "" {
		return r, problem.InvalidFields("the request body gives a member twice", []problem.FieldError{{Field: dup, Reason: "is given twice (names compare case-insensitively); give it once"}})
	}
	var fields []problem.FieldError
	switch {
	case r.SalesOrderID == "" && r.Order == nil:
		fields = append(fields, problem.FieldError{Field: "salesorderid", Reason: "give salesorderid, or the order inline as order"})
	case r.SalesOrderID != "" && r.Order != nil:
		fields = append(fields, problem.FieldError{Field: "order", Reason: "give either salesorderid or order, not both"})
	case r.Order == nil:
		if !guidRe.MatchString(r.SalesOrderID) {
			fields = append(fields, problem.FieldError{Field: "salesorderid", Reason: "is not a GUID"})
		}
	default:
		fields = append(fields, r.Order.check("order/")...)
	}
	if len(fields) > 0 {
		return r, problem.InvalidFields(fmt.Sprintf("the request has %d problem(s)", len(fields)), fields)
	}
	if r.Order != nil {
		r.SalesOrderID = strings.ToLower(r.Order.SalesOrderID)
		r.Order.SalesOrderID = r.SalesOrderID
	} else {
		r.SalesOrderID = strings.ToLower(r.SalesOrderID)
	}
	return r, nil
}

func jsonReason(err error) string {
	msg := err.Error()
	// encoding/json names unknown fields as `json: unknown field "x"`; keep its words, drop the prefix, and keep
	// the answer short however long the offending name or value was.
	msg = strings.TrimPrefix(msg, "json: ")
	if r := []rune(msg); len(r) > 240 {
		msg = string(r[:240]) + "…"
	}
	return msg
}

// check validates the shape of an order (not its mapping), naming each problem with a path under prefix.
func (o *Order) check(prefix string) []problem.FieldError {
	var f []problem.FieldError
	add := func(field, reason string) { f = append(f, problem.FieldError{Field: prefix + field, Reason: reason}) }
	if !guidRe.MatchString(o.SalesOrderID) {
		add("salesorderid", "is not a GUID")
	}
	if strings.TrimSpace(o.CustomerAccountNumber) == "" {
		add("customerAccountNumber", "is required: the account number is the SAP sold-to party")
	}
	if o.RequestedDeliveryDate != "" {
		if _, err := time.Parse(time.DateOnly, o.RequestedDeliveryDate); err != nil {
			add("requestedDeliveryDate", "is not a date (YYYY-MM-DD)")
		}
	}
	if o.Currency != "" && !currencyRe.MatchString(o.Currency) {
		add("currency", "is not an ISO 4217 code such as EUR")
	}
	if len(o.Lines) == 0 {
		add("lines", "an order needs at least one line")
	}
	if len(o.Lines) > MaxLines {
		add("lines", fmt.Sprintf("has %d lines; at most %d", len(o.Lines), MaxLines))
	}
	for i, l := range o.Lines {
		p := fmt.Sprintf("lines/%d/", i)
		if strings.TrimSpace(l.ProductNumber) == "" {
			add(p+"productNumber", "is required: the product number is the SAP material")
		}
		q, err := sap.ParseDecimal(string(l.Quantity))
		switch {
		case l.Quantity == "":
			add(p+"quantity", "is required")
		case err != nil:
			add(p+"quantity", "is not a decimal number")
		case q.Rat().Sign() <= 0:
			add(p+"quantity", "must be greater than zero")
		}
	}
	return f
}
