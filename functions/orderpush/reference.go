package orderpush

import (
	"context"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
)

// Reference says how an SAP order carries the D365 order it came from: the key of every duplicate check. A
// candidate SAP order is ours only when it carries our reference; an order with the same purchase order number
// and sold-to party, entered by hand or by EDI, is not.
//
//   - "extensionField": a custom header field (S/4HANA Custom Fields app, business context Sales: Sales
//     Document, enabled for API_SALES_ORDER_SRV), e.g. YY1_D365OrderID_SDH, holding the D365 order id. Filterable,
//     so a lookup is one query. The best choice wherever the field can be added.
//   - "headerText": a header text (to_Text, text ID configured in SAP) holding the D365 order id. Texts are not
//     filterable, so a lookup reads the orders with the push's purchase order number and sold-to party and checks
//     their texts: pick it when no custom field can be added.
//   - "orderNumber": the D365 order number travels as PurchaseOrderByCustomer and is the reference itself. Pick it
//     only when the business agrees that SAP's customer reference holds the D365 order number and nobody enters
//     orders with such numbers by hand; the customer's own PO number is then not sent.
type Reference struct {
	Comment string `json:"comment,omitempty"`
	Mode    string `json:"mode"`
	// Field and MaxLength: the extension field and its length in SAP (Custom Fields text length).
	Field     string `json:"field,omitempty"`
	MaxLength int    `json:"maxLength,omitempty"`
	// TextID and Language: the header text of headerText mode.
	TextID   string `json:"textId,omitempty"`
	Language string `json:"language,omitempty"`
}

// Reference modes.
const (
	RefExtensionField = "extensionField"
	RefHeaderText     = "headerText"
	RefOrderNumber    = "orderNumber"
)

// minRefLength is the shortest encoding of a 128-bit id we write (base32, no padding).
const minRefLength = 26

func (r Reference) validate(bad func(string, ...any)) {
	switch r.Mode {
	case RefExtensionField:
		if !extensionName(r.Field) {
			bad("reference.field %q is not a custom header field name (YY1_<Name>_SDH or ZZ1_<Name>_SDH)", r.Field)
		}
		if r.MaxLength < minRefLength {
			bad("reference.maxLength %d: the field must hold at least %d characters to carry the D365 order id", r.MaxLength, minRefLength)
		}
	case RefHeaderText:
		if n := utf8.RuneCountInString(r.TextID); n < 1 || n > 4 || strings.ToUpper(r.TextID) != r.TextID {
			bad("reference.textId %q must be an SAP text ID of 1-4 upper-case characters", r.TextID)
		}
		if utf8.RuneCountInString(r.Language) != 2 {
			bad("reference.language %q must be a two-letter SAP language key", r.Language)
		}
	case RefOrderNumber:
	default:
		bad("reference.mode %q must be %s, %s or %s", r.Mode, RefExtensionField, RefHeaderText, RefOrderNumber)
	}
}

func extensionName(s string) bool {
	rest, ok := strings.CutPrefix(s, "YY1_")
	if !ok {
		rest, ok = strings.CutPrefix(s, "ZZ1_")
	}
	name, ok2 := strings.CutSuffix(rest, "_SDH")
	if !ok || !ok2 || name == "" || len(s) > 30 {
		return false
	}
	for _, c := range name {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// For gives the reference of an order: derived from its id (fixed for the order's life) or, in orderNumber
// mode, its D365 order number. Upper case, since SAP may keep custom text fields in upper case.
func (r Reference) For(o *Order) (string, error) {
	id := strings.ToUpper(o.SalesOrderID)
	switch r.Mode {
	case RefOrderNumber:
		n := strings.TrimSpace(o.OrderNumber)
		if n == "" {
			return "", fmt.Errorf("the mapping's reference mode %s needs the D365 order number, and order %s has none", RefOrderNumber, o.SalesOrderID)
		}
		if sap.Length(n) > 35 {
			return "", fmt.Errorf("order number %q is longer than SAP's customer reference (35 characters)", n)
		}
		return n, nil
	case RefExtensionField:
		raw, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
		if err != nil || len(raw) != 16 {
			return "", fmt.Errorf("order id %q is not a GUID", o.SalesOrderID)
		}
		switch {
		case r.MaxLength >= len(id):
			return id, nil
		case r.MaxLength >= 32:
			return strings.ToUpper(hex.EncodeToString(raw)), nil
		default:
			return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw), nil
		}
	default:
		return id, nil
	}
}

// send is a purchase order number and sold-to party a create was sent with: what a headerText or orderNumber
// lookup searches under. Every send is recorded before it goes out, so a lookup covers a customer or PO that was
// corrected since.
type send struct {
	PO     string `json:"po"`
	SoldTo string `json:"soldTo"`
}

type pushData struct {
	Sends []send `json:"sends,omitempty"`
}

// maxSends bounds the history kept on the entry; beyond it the oldest keys are dropped (a push corrected that
// often is an operator's case, see the audit).
const maxSends = 20

func decodeData(s string) pushData {
	var d pushData
	_ = json.Unmarshal([]byte(s), &d)
	return d
}

func (d pushData) with(po, soldTo string) pushData {
	k := send{PO: po, SoldTo: soldTo}
	if k.PO == "" && k.SoldTo == "" || slices.Contains(d.Sends, k) {
		return d
	}
	d.Sends = append(d.Sends, k)
	if len(d.Sends) > maxSends {
		d.Sends = d.Sends[len(d.Sends)-maxSends:]
	}
	return d
}

func (d pushData) encode() string {
	b, _ := json.Marshal(d)
	return string(b)
}

// refText is the header text that carries the reference in headerText mode.
func refText(ref, orderNumber string) string {
	if orderNumber != "" {
		return "Dynamics 365 sales order " + orderNumber + " (" + ref + ")"
	}
	return "Dynamics 365 sales order " + ref
}

// find returns the SAP order carrying the entry's reference, "" when SAP has none. When SAP holds more than one
// (someone copied the reference by hand), the lowest number wins and the rest are logged for an operator.
func (s *Service) find(ctx context.Context, e ledger.Entry) (string, error) {
	r := s.Mapping.Reference
	var matches []string
	switch r.Mode {
	case RefExtensionField:
		found, err := s.SAP.FindSalesOrdersByField(ctx, r.Field, e.Ref)
		if err != nil {
			return "", err
		}
		for _, so := range found {
			if strings.EqualFold(so.Extensions[r.Field], e.Ref) {
				matches = append(matches, so.SalesOrder)
			}
		}
	default:
		for _, k := range decodeData(e.Data).Sends {
			var found []sap.SalesOrder
			var err error
			if r.Mode == RefOrderNumber {
				found, err = s.SAP.FindSalesOrders(ctx, e.Ref, k.SoldTo)
			} else {
				// Only orders created since the day before the push began can be ours (a day covers SAP's time
				// zone): a blanket PO with years of orders under it costs a page, not a read per old order.
				found, err = s.SAP.FindSalesOrdersWithTexts(ctx, k.PO, k.SoldTo, e.CreatedAt.Add(-24*time.Hour))
			}
			if err != nil {
				return "", err
			}
			for _, so := range found {
				ours := r.Mode == RefOrderNumber || slices.ContainsFunc(so.Texts.Results, func(t sap.SalesOrderText) bool {
					return t.LongTextID == r.TextID && strings.Contains(strings.ToUpper(t.LongText), strings.ToUpper(e.Ref))
				})
				if ours && !slices.Contains(matches, so.SalesOrder) {
					matches = append(matches, so.SalesOrder)
				}
			}
		}
	}
	if len(matches) == 0 {
		return "", nil
	}
	slices.SortFunc(matches, compareNumbers)
	if len(matches) > 1 {
		s.Log.ErrorContext(ctx, "SAP holds more than one order carrying this push's reference; using the first, the others need an operator",
			"reference", e.Ref, "orders", matches)
	}
	return matches[0], nil
}

// compareNumbers orders SAP document numbers numerically when both are numeric.
func compareNumbers(a, b string) int {
	a, b = sap.NormalizeDocumentNumber(a), sap.NormalizeDocumentNumber(b)
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
