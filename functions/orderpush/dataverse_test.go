package orderpush_test

import (
	"context"
	"encoding/json"
	"reflect"
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
			map[string]any{"quantity": json.Number("2.50000"), "lineitemnumber": json.Number("2"), "productid": map[string]any{"productnumber": "TG11"}, "uomid": map[string]any{"name": "Kilogram"}},
			map[string]any{"quantity": json.Number("1"), "lineitemnumber": json.Number("1"), "sequencenumber": json.Number("1"), "productid": map[string]any{"productnumber": "TG12"}, "uomid": map[string]any{"name": "Each"}},
			map[string]any{"quantity": json.Number("0.5"), "lineitemnumber": json.Number("1"), "sequencenumber": json.Number("2"), "productid": map[string]any{"productnumber": "TG13"}, "uomid": map[string]any{"name": "Primary Unit"}},
		},
	}
	if mutate != nil {
		mutate(o)
	}
	return o
}

func TestPushReadsTheOrderFromDataverse(t *testing.T) {
	tests := []struct {
		name     string
		poColumn string
		wantPO   string
	}{
		// Without a PO column the D365 order number stands in for the customer's PO.
		{"no purchase order column", "", "ORD-01001"},
		{"a purchase order column", "new_customerpo", "PO-77"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.svc.Mapping.Read.PurchaseOrderColumn = tt.poColumn
			h.dv.RetrieveFn = func(_ context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error) {
				if set != "salesorders" || !reflect.DeepEqual(key, dataverse.ID(orderID)) {
					t.Errorf("read %s %v", set, key)
				}
				return dvOrder(func(o map[string]any) { o["new_customerpo"] = "PO-77" }), nil
			}
			res, err := h.svc.Push(h.ctx(t), orderpush.Request{SalesOrderID: orderID}, false)
			if err != nil || !res.Created || res.SAPSalesOrder != "4711" {
				t.Fatalf("push %+v %v", res, err)
			}
			opts := h.dv.reads[0]
			if got := slices.Contains(opts.Select, "new_customerpo"); got != (tt.poColumn != "") {
				t.Errorf("select %v", opts.Select)
			}
			if !contains(opts.Expand, "$orderby=lineitemnumber asc,sequencenumber asc") || !contains(opts.Expand, "lineitemnumber,sequencenumber") {
				t.Errorf("the lines are not read in D365 order: %v", opts.Expand)
			}
			so := h.sap.creates()[0]
			if so.PurchaseOrderByCustomer != tt.wantPO || so.SoldToParty != soldTo || so.CustomerPaymentTerms != "0002" ||
				so.RequestedDeliveryDate.Format("2006-01-02") != "2026-12-15" || so.TransactionCurrency != "EUR" {
				t.Errorf("header %+v", so)
			}
			var items []string
			for _, it := range so.Items {
				items = append(items, it.SalesOrderItem+" "+it.Material+" "+it.RequestedQuantity.String()+" "+it.RequestedQuantityUnit)
			}
			if want := []string{"10 TG12 1 EA", "20 TG13 0.5 EA", "30 TG11 2.50000 KG"}; !slices.Equal(items, want) {
				t.Errorf("items %q, want %q", items, want)
			}
		})
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
			_, err := h.svc.Push(h.ctx(t), orderpush.Request{SalesOrderID: orderID}, false)
			if problem.KindOf(err) != problem.Invalid {
				t.Fatalf("err = %v", err)
			}
			if got := fieldNames(fieldsOf(t, err)); !slices.Equal(got, tt.fields) {
				t.Errorf("fields %q, want %q", got, tt.fields)
			}
			if h.hasEntry(t, orderID) || len(h.sap.Calls()) != 0 {
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
			_, err := h.svc.Push(h.ctx(t), orderpush.Request{SalesOrderID: orderID}, false)
			if problem.KindOf(err) != tt.kind {
				t.Fatalf("err = %v, want %s", err, tt.kind)
			}
			if h.hasEntry(t, orderID) || len(h.sap.Calls()) != 0 {
				t.Errorf("a failed read left a record or reached SAP")
			}
		})
	}
}
