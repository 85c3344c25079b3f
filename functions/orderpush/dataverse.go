package orderpush

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
)

// orderRead reads an order, its lines with product numbers and units, and the customer's account number in one
// request.
var orderRead = &dataverse.RetrieveOptions{
	Select: []string{"ordernumber", "name", "requestdeliveryby", "paymenttermscode"},
	Expand: []string{
		// Lines in D365 order: SAP numbers its items in the order they are sent.
		"order_details($select=quantity,lineitemnumber,sequencenumber;$orderby=lineitemnumber asc,sequencenumber asc;$expand=productid($select=productnumber),uomid($select=name))",
		"customerid_account($select=accountnumber)",
	},
}

// loadOrder reads an order from Dataverse into the push's own form, naming every missing value at once.
func (s *Service) loadOrder(ctx context.Context, id string) (*Order, error) {
	opts := *orderRead
	if c := s.Mapping.Read.PurchaseOrderColumn; c != "" {
		opts.Select = append(append([]string(nil), orderRead.Select...), c)
	}
	rec, err := s.Dataverse.Retrieve(ctx, "salesorders", dataverse.ID(id), &opts)
	if err != nil {
		return nil, classify.Dataverse(err, "reading sales order "+id)
	}
	o := &Order{
		SalesOrderID:          id,
		OrderNumber:           rec.String("ordernumber"),
		CustomerAccountNumber: rec.Record("customerid_account").String("accountnumber"),
		PaymentTerms:          string(rec.Number("paymenttermscode")),
	}
	if c := s.Mapping.Read.PurchaseOrderColumn; c != "" {
		o.PurchaseOrderNumber = rec.String(c)
	}
	if d := rec.String("requestdeliveryby"); d != "" {
		// Date-only columns come back as 2026-12-15, user-local and time-zone-independent ones as RFC 3339.
		t, err := time.Parse(time.RFC3339, d)
		if err != nil {
			t, err = time.Parse(time.DateOnly, d)
		}
		if err != nil {
			return nil, problem.InvalidFields("the sales order in Dynamics 365 has problems", []problem.FieldError{{Field: "salesorder/requestdeliveryby", Reason: fmt.Sprintf("%q is not a date and time", cutField(d))}})
		}
		o.RequestedDeliveryDate = t.UTC().Format(time.DateOnly)
	}
	for _, l := range rec.Records("order_details") {
		o.Lines = append(o.Lines, OrderLine{
			ProductNumber: l.Record("productid").String("productnumber"),
			Quantity:      l.Number("quantity"),
			Unit:          l.Record("uomid").String("name"),
			// Whole numbers in Dataverse; a value that is not one keeps the line in its place.
			LineItemNumber: intOf(l.Number("lineitemnumber")),
			SequenceNumber: intOf(l.Number("sequencenumber")),
		})
	}
	if f := o.check("salesorder/"); len(f) > 0 {
		for i := range f {
			// Name the Dataverse columns, which is where an operator fixes them.
			f[i].Field = strings.NewReplacer("customerAccountNumber", "customerid/accountnumber", "productNumber", "productid/productnumber", "salesorder/lines", "salesorder/order_details").Replace(f[i].Field)
		}
		return nil, problem.InvalidFields(fmt.Sprintf("sales order %s in Dynamics 365 cannot be pushed: %d problem(s)", id, len(f)), f)
	}
	return o, nil
}

func intOf(n json.Number) int {
	i, err := strconv.Atoi(string(n))
	if err != nil {
		return 0
	}
	return i
}
