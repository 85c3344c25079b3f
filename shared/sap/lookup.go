package sap

import (
	"context"
	"fmt"
	"time"
)

// searchableSalesOrderFields are the standard A_SalesOrder properties FindSalesOrdersByField accepts: string
// references and organisational keys, all filterable in SAP's EDMX (checked by TestSearchableFieldsAreFilterable).
var searchableSalesOrderFields = map[string]bool{
	"SalesOrder": true, "SalesOrderType": true, "SalesOrganization": true, "DistributionChannel": true,
	"OrganizationDivision": true, "SoldToParty": true, "PurchaseOrderByCustomer": true,
	"PurchaseOrderByShipToParty": true, "CustomerPurchaseOrderType": true, "ExternalDocumentID": true,
	"SenderBusinessSystemName": true, "AssignmentReference": true, "AccountingDocExternalReference": true,
	"ReferenceSDDocument": true,
}

// FindSalesOrdersByField returns the orders (with items) whose field equals value: $filter=<field> eq '<value>'.
// field is a custom header field (YY1_<Name>_SDH, ZZ1_<Name>_SDH) or one of the filterable string properties of
// A_SalesOrder; anything else fails with ErrInvalidFilter before a request is made. SAP compares exactly: a
// field stored upper-cased matches only an upper-case value.
func (c *Client) FindSalesOrdersByField(ctx context.Context, field, value string) ([]SalesOrder, error) {
	if !IsExtensionField(field) && !searchableSalesOrderFields[field] {
		return nil, fmt.Errorf("finding SAP sales orders by %q: not a custom header field or a searchable property: %w", field, ErrInvalidFilter)
	}
	q := Query{Filter: Eq(field, value), Expand: []string{"to_Item"}}
	var out []SalesOrder
	for so, err := range newRows[SalesOrder](ctx, c, ServiceSalesOrder, "A_SalesOrder", q).All() {
		if err != nil {
			return nil, fmt.Errorf("finding SAP sales orders by %s: %w", field, err)
		}
		out = append(out, so)
	}
	return out, nil
}

// FindSalesOrdersWithTexts returns the orders of a sold-to party with a customer purchase order number created
// on or after the day of since, each with its header texts (to_Text) and without items: the lookup of an order
// that carries its reference in a text. The creation date bounds it, so a blanket PO with years of orders under
// it costs a page, not one request per old order.
func (c *Client) FindSalesOrdersWithTexts(ctx context.Context, purchaseOrderByCustomer, soldToParty string, since time.Time) ([]SalesOrder, error) {
	f := And(Eq("PurchaseOrderByCustomer", purchaseOrderByCustomer), Eq("SoldToParty", soldToParty))
	if !since.IsZero() {
		day := since.UTC().Truncate(24 * time.Hour)
		f = And(f, Ge("CreationDate", Date(day.Year(), day.Month(), day.Day())))
	}
	q := Query{Filter: f, Expand: []string{"to_Text"}}
	var out []SalesOrder
	for so, err := range newRows[SalesOrder](ctx, c, ServiceSalesOrder, "A_SalesOrder", q).All() {
		if err != nil {
			return nil, fmt.Errorf("finding SAP sales orders with texts by purchase order %q: %w", purchaseOrderByCustomer, err)
		}
		out = append(out, so)
	}
	return out, nil
}
