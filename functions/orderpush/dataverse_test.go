package orderpush_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
)

// dvOrder is a sales order as the Web API returns it with the push's $select and $expand.
func dvOrder(mutate func(o map[string]any)) dataverse.Record {
	o := map[string]any{
		"salesorderid": orderID, "ordernumber": "ORD-01001", "requestdeliveryby": "2026-12-15", "paymenttermscode": json.Number("2"),
		"customerid_account": map[string]any{"accountnumber": soldTo},
		"order_details": []any{
			map[string]any{"quantity": json.Number("2.50000"), "lineitemnumber": json.Number("1"), "productid": map[string]any{"productnumber": "TG11"}, "uomid": map[string]any{"name": "Kilogram"}},
			map[string]any{"quantity": json.Number("1"), "lineitemnumber": json.Number("2"), "productid": map[string]any{"productnumber": "TG12"}, "uomid": map[string]any{"name": "Each"}},
		},
	}
	if mutate != nil {
		mutate(o)
	}
	return o
}

func TestPushReadsTheOrderFromDataverse(t *testing.T) {
	h := newHarness(t)
	h.dv.RetrieveFn = func(_ context.Context, set string, _ dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error) {
		if set != "salesorders" || o == nil || len(o.Expand) == 0 {
			t.Errorf("read %s with %+v", set, o)
		}
		return dvOrder(nil), nil
	}
	h.sap.FindSalesOrdersFn = found()
	h.sap.CreateSalesOrderFn = createdAs("4711")
	res, err := h.svc.Push(context.Background(), orderpush.Request{SalesOrderID: orderID}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.SAPSalesOrder != "4711" {
		t.Errorf("result %+v", res)
	}
	so := h.sap.created[0]
	if so.PurchaseOrderByCustomer != "ORD-01001" || so.SoldToParty != soldTo || so.CustomerPaymentTerms != "0002" ||
		so.RequestedDeliveryDate.Format("2006-01-02") != "2026-12-15" || so.TransactionCurrency != "EUR" {
		t.Errorf("header %+v", so)
	}
	if len(so.Items) != 2 || so.Items[0].RequestedQuantity.String() != "2.50000" || so.Items[0].RequestedQuantityUnit != "KG" || so.Items[1].Material != "TG12" {
		t.Errorf("items %+v", so.Items)
	}
}

func TestPushNamesTheDataverseColumnsToFix(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(o map[string]any)
		fields []string
	}{
		{"no customer, a line without product and quantity", func(o map[string]any) {
			o["customerid_account"] = nil
			o["order_details"] = []any{map[string]any{"quantity": nil, "productid": nil}}
		}, []string{"salesorder/customerid/accountnumber", "salesorder/order_details/0/productid/productnumber", "salesorder/order_details/0/quantity"}},
		{"no lines", func(o map[string]any) { delete(o, "order_details") }, []string{"salesorder/order_details"}},
		{"a delivery date that is no date", func(o map[string]any) { o["requestdeliveryby"] = "next week" }, []string{"salesorder/requestdeliveryby"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.dv.RetrieveFn = func(context.Context, string, dataverse.Key, *dataverse.RetrieveOptions) (dataverse.Record, error) {
				return dvOrder(tt.mutate), nil
			}
			_, err := h.svc.Push(context.Background(), orderpush.Request{SalesOrderID: orderID}, false)
			if problem.KindOf(err) != problem.Invalid {
				t.Fatalf("err = %v", err)
			}
			if got := fieldNames(fieldsOf(t, err)); !slices.Equal(got, tt.fields) {
				t.Errorf("fields %q, want %q", got, tt.fields)
			}
			if h.hasRecord() || len(h.sap.Calls()) != 0 {
				t.Errorf("an invalid order left a record or reached SAP")
			}
		})
	}
}

func TestPushDataverseReadFailures(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind problem.Kind
	}{
		{"the order does not exist", &dataverse.Error{Status: 404, Kind: dataverse.KindNotFound}, problem.NotFound},
		{"throttled", &dataverse.Error{Status: 429, Kind: dataverse.KindThrottled}, problem.Throttled},
		{"credentials refused", &dataverse.Error{Status: 401, Kind: dataverse.KindAuth}, problem.Unavailable},
		{"server error", &dataverse.Error{Status: 500, Kind: dataverse.KindServer}, problem.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.dv.RetrieveFn = func(context.Context, string, dataverse.Key, *dataverse.RetrieveOptions) (dataverse.Record, error) {
				return nil, tt.err
			}
			_, err := h.svc.Push(context.Background(), orderpush.Request{SalesOrderID: orderID}, false)
			if problem.KindOf(err) != tt.kind {
				t.Fatalf("err = %v, want %s", err, tt.kind)
			}
			if h.hasRecord() || len(h.sap.Calls()) != 0 {
				t.Errorf("a failed read left a record or reached SAP")
			}
		})
	}
}
