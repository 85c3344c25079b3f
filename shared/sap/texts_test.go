package sap

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

func TestSalesOrderTexts(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, nil)
	ctx := context.Background()
	o := order("PO-TXT", sapsim.CustomerID(0))
	o.Texts = []SalesOrderTextCreate{{Language: "EN", LongTextID: "0001", LongText: "D365 " + d365ID},
		{Language: "DE", LongTextID: "Z001", LongText: "Lieferung über Tor 3"}}
	so, err := e.c.CreateSalesOrder(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.c.CreateSalesOrder(ctx, order("PO-NOTXT", sapsim.CustomerID(0)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, order string
		want        []SalesOrderText
		err         error
	}{
		{"an order with texts", so.SalesOrder, []SalesOrderText{{so.SalesOrder, "EN", "0001", "D365 " + d365ID},
			{so.SalesOrder, "DE", "Z001", "Lieferung über Tor 3"}}, nil},
		{"an order without texts", plain.SalesOrder, []SalesOrderText{}, nil},
		{"no such order", "999", nil, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.c.SalesOrderTexts(ctx, tc.order)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("%v: %+v", err, got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("text %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
	t.Run("a text ID the system lacks is SAP's business error", func(t *testing.T) {
		bad := order("PO-BADTXT", sapsim.CustomerID(0))
		bad.Texts = []SalesOrderTextCreate{{Language: "EN", LongTextID: "Z999", LongText: "x"}}
		_, err := e.c.CreateSalesOrder(ctx, bad)
		var se *Error
		if !errors.As(err, &se) || !se.BusinessError() {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("a text ID longer than SAP's 4 fails before sending", func(t *testing.T) {
		bad := order("PO-LONGID", sapsim.CustomerID(0))
		bad.Texts = []SalesOrderTextCreate{{Language: "EN", LongTextID: "Z0001"}}
		var ve *ValidationError
		if _, err := e.c.CreateSalesOrder(ctx, bad); !errors.As(err, &ve) {
			t.Fatalf("err %v", err)
		}
	})
}

// TestSearchLagHidesTexts: right after the create the order, and so its texts, are not yet readable.
func TestSearchLagHidesTexts(t *testing.T) {
	e := newEnv(t, sapsim.Options{Faults: sapsim.Faults{SearchLag: sapsim.Duration(time.Hour)}}, nil)
	o := order("PO-LAG", sapsim.CustomerID(0))
	o.Texts = []SalesOrderTextCreate{{Language: "EN", LongTextID: "0001", LongText: "x"}}
	so, err := e.c.CreateSalesOrder(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.SalesOrderTexts(context.Background(), so.SalesOrder); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err %v", err)
	}
	if found, err := e.c.FindSalesOrders(context.Background(), "PO-LAG", sapsim.CustomerID(0)); err != nil || len(found) != 0 {
		t.Fatalf("lookup during the lag: %v %d", err, len(found))
	}
}

// The text lookup reads an order's header texts with the order, in one query bounded by the creation date.
func TestFindSalesOrdersWithTexts(t *testing.T) {
	e := newEnv(t, sapsim.Options{}, nil)
	ctx := context.Background()
	with := order("PO-TXT-1", sapsim.CustomerID(1))
	with.Texts = []SalesOrderTextCreate{{Language: "EN", LongTextID: "Z001", LongText: "Dynamics 365 sales order 6F1C"}}
	if _, err := e.c.CreateSalesOrder(ctx, with); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.CreateSalesOrder(ctx, order("PO-TXT-1", sapsim.CustomerID(1))); err != nil {
		t.Fatal(err)
	}
	got, err := e.c.FindSalesOrdersWithTexts(ctx, "PO-TXT-1", sapsim.CustomerID(1), time.Now().Add(-24*time.Hour))
	if err != nil || len(got) != 2 {
		t.Fatalf("%d orders, %v", len(got), err)
	}
	texts := 0
	for _, so := range got {
		for _, x := range so.Texts.Results {
			if x.LongTextID == "Z001" && strings.Contains(x.LongText, "6F1C") {
				texts++
			}
		}
	}
	if texts != 1 {
		t.Fatalf("%d orders carry the text, want 1: %+v", texts, got)
	}
	if later, err := e.c.FindSalesOrdersWithTexts(ctx, "PO-TXT-1", sapsim.CustomerID(1), time.Now().Add(48*time.Hour)); err != nil || len(later) != 0 {
		t.Fatalf("orders created before the bound were returned: %d %v", len(later), err)
	}
}
