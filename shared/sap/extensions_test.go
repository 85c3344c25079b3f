package sap

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/sapsim/sapkit"
)

const d365ID = "6b1f0e6e-2f3a-4f7e-9d2c-2b7c9e1d4a55"

func TestExtensionFieldsOnTheWire(t *testing.T) {
	o := order("PO-1", "10100001")
	o.Extensions = map[string]string{"YY1_D365OrderID_SDH": d365ID, "ZZ1_Channel_SDH": `a"b`}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if string(top["YY1_D365OrderID_SDH"]) != `"`+d365ID+`"` || string(top["ZZ1_Channel_SDH"]) != `"a\"b"` || top["Extensions"] != nil {
		t.Fatalf("extensions not sent as header properties: %s", b)
	}
	if i, j := strings.Index(string(b), `"YY1_D365OrderID_SDH"`), strings.Index(string(b), `"ZZ1_Channel_SDH"`); i < 0 || j < i {
		t.Fatalf("extensions not in name order: %s", b)
	}
	plain, _ := json.Marshal(order("PO-1", "10100001"))
	if strings.Contains(string(plain), "YY1_") || strings.Contains(string(plain), "to_Text") {
		t.Fatalf("an order without extensions or texts carries them: %s", plain)
	}
}

func TestExtensionFieldsAreRead(t *testing.T) {
	var so SalesOrder
	body := `{"SalesOrder":"7","YY1_D365OrderID_SDH":"` + d365ID + `","ZZ1_Count_SDH":3,"YY1_Region_BUS":"EMEA","SoldToParty":"1",
"to_Text":{"results":[{"SalesOrder":"7","Language":"EN","LongTextID":"0001","LongText":"x"}]}}`
	if err := json.Unmarshal([]byte(body), &so); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"YY1_D365OrderID_SDH": d365ID, "YY1_Region_BUS": "EMEA"} // strings only
	if len(so.Extensions) != len(want) || so.Extensions["YY1_D365OrderID_SDH"] != d365ID || so.Extensions["YY1_Region_BUS"] != "EMEA" ||
		so.SalesOrder != "7" || len(so.Texts.Results) != 1 || so.Texts.Results[0].LongTextID != "0001" {
		t.Fatalf("read %+v", so)
	}
	var bare SalesOrder
	if err := json.Unmarshal([]byte(`{"SalesOrder":"8","to_Text":{"__deferred":{"uri":"x"}}}`), &bare); err != nil || bare.Extensions != nil || !bare.Texts.Deferred {
		t.Fatalf("%v %+v", err, bare)
	}
}

func TestCreateAndFindByExtensionField(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, nil)
	ctx := context.Background()
	o := order("PO-EXT", sapsim.CustomerID(0))
	o.Extensions = map[string]string{"YY1_D365OrderID_SDH": d365ID}
	o.Texts = []SalesOrderTextCreate{{Language: "EN", LongTextID: "0001", LongText: "D365 " + d365ID}}
	so, err := e.c.CreateSalesOrder(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if so.Extensions["YY1_D365OrderID_SDH"] != d365ID || len(so.Texts.Results) != 1 || so.Texts.Results[0].SalesOrder != so.SalesOrder {
		t.Fatalf("created %+v", so)
	}
	if _, err := e.c.CreateSalesOrder(ctx, order("PO-EXT", sapsim.CustomerID(0))); err != nil { // same PO, no id
		t.Fatal(err)
	}
	got, err := e.c.GetSalesOrder(ctx, so.SalesOrder)
	if err != nil || got.Extensions["YY1_D365OrderID_SDH"] != d365ID {
		t.Fatalf("read back: %v %+v", err, got.Extensions)
	}
	for _, tc := range []struct {
		name, field, value string
		want               int   // orders found
		err                error // refused before any request
		status             int   // SAP's answer when it refuses
	}{
		{"by our id", "YY1_D365OrderID_SDH", d365ID, 1, nil, 0},
		{"by our id, upper-cased", "YY1_D365OrderID_SDH", strings.ToUpper(d365ID), 0, nil, 0},
		{"by customer reference", "PurchaseOrderByCustomer", "PO-EXT", 2, nil, 0},
		{"by a value that tries to end the literal", "YY1_D365OrderID_SDH", "x' or SalesOrder ne '", 0, nil, 0},
		{"by a custom field the system lacks", "YY1_Nope_SDH", "x", 0, nil, 400},
		{"by a non-filterable text", "LongText", "x", 0, ErrInvalidFilter, 0},
		{"by an unknown property", "Nope", "x", 0, ErrInvalidFilter, 0},
		{"by an expression", "SalesOrder eq '1' or SoldToParty", "x", 0, ErrInvalidFilter, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.net.count("GET")
			found, err := e.c.FindSalesOrdersByField(ctx, tc.field, tc.value)
			var se *Error
			switch {
			case tc.err != nil:
				if !errors.Is(err, tc.err) || e.net.count("GET") != before {
					t.Fatalf("err %v; requests sent %d", err, e.net.count("GET")-before)
				}
			case tc.status != 0:
				if !errors.As(err, &se) || se.StatusCode != tc.status {
					t.Fatalf("err %v, want SAP's %d", err, tc.status)
				}
			default:
				if err != nil || len(found) != tc.want {
					t.Fatalf("%v: %d orders, want %d", err, len(found), tc.want)
				}
				for _, so := range found {
					if len(so.Items.Results) != 2 {
						t.Fatalf("order %s without its items", so.SalesOrder)
					}
				}
			}
		})
	}
	if found, err := e.c.FindSalesOrders(ctx, "PO-EXT", sapsim.CustomerID(0)); err != nil || len(found) != 2 {
		t.Fatalf("FindSalesOrders: %v %d", err, len(found))
	}
}

func TestExtensionFieldValidation(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, nil)
	ctx := context.Background()
	o := order("PO-V", sapsim.CustomerID(0))
	o.Extensions = map[string]string{"D365OrderID": "x", "YY1_Ok_SDH": "y", "YY1_Bad-Name_SDH": "z"}
	_, err := e.c.CreateSalesOrder(ctx, o)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 || !strings.Contains(ve.Problems[0], "D365OrderID") || e.net.count("POST") != 0 {
		t.Fatalf("err %v; %d POSTs", err, e.net.count("POST"))
	}
	// The length of a custom field is not in SAP's EDMX: the client sends any length, SAP decides.
	o.Extensions = map[string]string{"YY1_D365OrderID_SDH": strings.Repeat("x", 37)}
	_, err = e.c.CreateSalesOrder(ctx, o)
	var se *Error
	if !errors.As(err, &se) || se.StatusCode != 400 || e.net.count("POST") != 1 {
		t.Fatalf("err %v", err)
	}
}

// TestSearchableFieldsAreFilterable keeps FindSalesOrdersByField to properties SAP lets $filter name.
func TestSearchableFieldsAreFilterable(t *testing.T) {
	et := sapkit.LoadEDMX(t, sapkit.Dir(t), "API_SALES_ORDER_SRV")["A_SalesOrderType"]
	for name := range searchableSalesOrderFields {
		found := false
		for _, p := range et.Props {
			if p.Name == name {
				found = true
				if p.Type != "Edm.String" || p.Filterable == "false" {
					t.Errorf("%s is %s, filterable %q", name, p.Type, p.Filterable)
				}
			}
		}
		if !found {
			t.Errorf("%s is not in A_SalesOrderType", name)
		}
	}
	for _, p := range sapkit.LoadEDMX(t, sapkit.Dir(t), "API_SALES_ORDER_SRV")["A_SalesOrderTextType"].Props {
		if p.Name == "LongText" && p.Filterable != "false" {
			t.Errorf("the kit's EDMX no longer marks LongText as not filterable (%q): the sapkit attribute may be misread", p.Filterable)
		}
	}
}
