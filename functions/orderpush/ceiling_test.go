package orderpush_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
)

// directPush is the ceiling of one push: the work a push cannot avoid, done directly and nothing else — the same
// Dataverse read as the function, the mapping, the SAP create, the write-back of the SAP number, and the push's
// five storage operations bare against Azurite.
func directPush(ctx context.Context, sc *sap.Client, dc *dataverse.Client, m *orderpush.Mapping, st *bareStorage, id string) error {
	rec, err := dc.Retrieve(ctx, "salesorders", dataverse.ID(id), &dataverse.RetrieveOptions{
		Select: []string{"ordernumber", "name", "requestdeliveryby", "paymenttermscode", poColumn},
		Expand: []string{
			"order_details($select=quantity,lineitemnumber,sequencenumber;$orderby=lineitemnumber asc,sequencenumber asc;$expand=productid($select=productnumber),uomid($select=name))",
			"customerid_account($select=accountnumber)",
		},
	})
	if err != nil {
		return fmt.Errorf("reading order %s: %w", id, err)
	}
	o := &orderpush.Order{SalesOrderID: id, OrderNumber: rec.String("ordernumber"), PurchaseOrderNumber: rec.String(poColumn),
		CustomerAccountNumber: rec.Record("customerid_account").String("accountnumber"),
		PaymentTerms:          string(rec.Number("paymenttermscode")), RequestedDeliveryDate: rec.String("requestdeliveryby")}
	if t, err := time.Parse(time.RFC3339, o.RequestedDeliveryDate); err == nil {
		o.RequestedDeliveryDate = t.UTC().Format(time.DateOnly)
	}
	for _, l := range rec.Records("order_details") {
		o.Lines = append(o.Lines, orderpush.OrderLine{ProductNumber: l.Record("productid").String("productnumber"),
			Quantity: l.Number("quantity"), Unit: l.Record("uomid").String("name")})
	}
	ref, err := m.Reference.For(o)
	if err != nil {
		return err
	}
	payload, err := m.Map(ctx, o, ref, nil)
	if err != nil {
		return fmt.Errorf("mapping order %s: %w", id, err)
	}
	order, _ := json.Marshal(o)
	entry, _ := json.Marshal(map[string]any{"state": "in-progress", "ref": ref, "payload": string(order)})
	so, err := sc.CreateSalesOrder(ctx, payload)
	if err != nil {
		return fmt.Errorf("creating order %s: %w", id, err)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	wb := m.WriteBack
	up := dataverse.Record{}
	for col, v := range map[string]string{wb.SAPNumberColumn: so.SalesOrder, wb.StatusDescriptionColumn: "Created in SAP as sales order " + so.SalesOrder,
		wb.SubmitDateColumn: now, wb.LastBackOfficeSubmitColumn: now} {
		if col != "" {
			up[col] = v
		}
	}
	if _, err := dc.Update(ctx, "salesorders", dataverse.ID(id), up, nil); err != nil {
		return fmt.Errorf("writing back order %s: %w", id, err)
	}
	audit, _ := json.Marshal(map[string]any{"outcome": "created", "remoteId": so.SalesOrder, "at": now})
	return st.push(ctx, id, so.SalesOrder, entry, audit)
}
