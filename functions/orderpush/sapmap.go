package orderpush

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/uom"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// Map turns an order into SAP's deep-insert payload carrying ref, the order's reference. Lines go in D365 order
// with item numbers 10, 20, ...; a line in a unit other than the material's base unit is converted with that
// material's own factors from SAP. Every missing or unmapped value is reported at once (problem.Invalid, one
// field error each); SAP being unreachable while reading units is problem.Unavailable. With nil units nothing
// is asked of SAP: the check of everything the order itself can get wrong, made before anything is recorded.
func (m *Mapping) Map(ctx context.Context, o *Order, ref string, units Units) (sap.SalesOrderCreate, error) {
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
	po, soldTo := m.sendKey(o, ref)
	so := sap.SalesOrderCreate{
		SalesOrderType:          h.SalesOrderType,
		SalesOrganization:       h.SalesOrganization,
		DistributionChannel:     h.DistributionChannel,
		OrganizationDivision:    h.OrganizationDivision,
		SoldToParty:             soldTo,
		PurchaseOrderByCustomer: po,
		TransactionCurrency:     currency,
	}
	switch r := m.Reference; r.Mode {
	case RefExtensionField:
		if sap.Length(ref) > r.MaxLength {
			add("salesorderid", fmt.Sprintf("reference %q is longer than %s (%d characters)", ref, r.Field, r.MaxLength))
		}
		so.Extensions = map[string]string{r.Field: ref}
	case RefHeaderText:
		so.Texts = []sap.SalesOrderTextCreate{{Language: r.Language, LongTextID: r.TextID, LongText: refText(ref, strings.TrimSpace(o.OrderNumber))}}
	}
	if sap.Length(so.SoldToParty) > 10 {
		add("customerAccountNumber", fmt.Sprintf("%q is longer than SAP's sold-to party (10 characters)", cutField(so.SoldToParty)))
	}
	if sap.Length(po) > 35 {
		add("purchaseOrderNumber", fmt.Sprintf("%q is longer than SAP's customer reference (35 characters)", cutField(po)))
	}
	if o.RequestedDeliveryDate != "" {
		if d, err := time.Parse(time.DateOnly, o.RequestedDeliveryDate); err == nil {
			so.RequestedDeliveryDate = sap.Date(d.Year(), d.Month(), d.Day())
		}
	}
	if o.PaymentTerms != "" {
		t, ok := m.values.Must(valuemap.PaymentTerms).SAP(o.PaymentTerms)
		if !ok {
			add("paymentTerms", fmt.Sprintf("%q has no SAP payment terms in the value maps", cutField(o.PaymentTerms)))
		}
		so.CustomerPaymentTerms = t
	}
	var unavailable error
	for i, l := range ordered(o.Lines) {
		p := fmt.Sprintf("lines/%d/", i)
		item := sap.SalesOrderItemCreate{SalesOrderItem: fmt.Sprint((i + 1) * 10), Material: strings.TrimSpace(l.ProductNumber)}
		if sap.Length(item.Material) > 40 {
			add(p+"productNumber", fmt.Sprintf("%q is longer than SAP's material (40 characters)", cutField(item.Material)))
		}
		qty := string(l.Quantity)
		if l.Unit != "" {
			u, ok := m.values.Must(valuemap.Units).SAP(l.Unit)
			if !ok {
				add(p+"unit", fmt.Sprintf("%q has no SAP unit in the value maps", cutField(l.Unit)))
			} else if units != nil && unavailable == nil {
				conv, err := units.ToBase(ctx, item.Material, u, qty)
				switch reason := unitProblem(err, item.Material, u); {
				case err == nil:
					qty, item.RequestedQuantityUnit = conv.Quantity, conv.Unit
				case reason != "":
					add(p+"unit", reason)
				default:
					unavailable = classify.SAP(err, "reading the units of material "+item.Material+" in SAP")
				}
			}
		}
		q, err := sap.ParseDecimal(qty)
		if err != nil {
			add(p+"quantity", "is not a decimal number")
		} else if !q.FitsEDM(15, 3) {
			add(p+"quantity", fmt.Sprintf("%s does not fit SAP's quantity (15 digits, 3 decimals)", cutField(q.String())))
		}
		item.RequestedQuantity = q
		so.Items = append(so.Items, item)
	}
	if len(f) > 0 {
		return sap.SalesOrderCreate{}, problem.InvalidFields(fmt.Sprintf("the order cannot be mapped to SAP: %d problem(s)", len(f)), f)
	}
	if unavailable != nil {
		return sap.SalesOrderCreate{}, unavailable
	}
	return so, nil
}

// unitProblem explains a conversion error that is the order's or SAP's data; "" when SAP could not be read.
func unitProblem(err error, material, unit string) string {
	var unknown *uom.UnknownUnitError
	var inexact *uom.NotExactError
	var badData *uom.BadDataError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &unknown):
		return fmt.Sprintf("material %s has no unit %s in SAP (it has %s)", material, unit, strings.Join(unknown.Units, ", "))
	case errors.As(err, &inexact):
		return fmt.Sprintf("%s %s of material %s is %s %s, which SAP's 3 decimals cannot hold exactly", inexact.Quantity, unit, material, inexact.Exact, inexact.BaseUnit)
	case errors.As(err, &badData):
		return fmt.Sprintf("SAP's units of material %s are unusable: %s", material, badData.Reason)
	case errors.Is(err, sap.ErrNotFound):
		return fmt.Sprintf("material %s does not exist in SAP", material)
	case errors.Is(err, uom.ErrInvalidQuantity):
		return "the quantity is not a decimal number"
	}
	return ""
}

// cutField keeps echoed input short: a reason names the problem, it does not repeat a 3 MB value. 64 characters
// show which value it was; the caller has the rest.
func cutField(s string) string {
	const max = 64
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}
