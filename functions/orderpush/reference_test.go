package orderpush_test

import (
	"context"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
)

var headerText = orderpush.Reference{Mode: orderpush.RefHeaderText, TextID: "Z001", Language: "EN"}

// The reference must carry the whole 128-bit id in whatever the SAP field holds, and read back as that id.
func TestReferenceEncodingsFitTheField(t *testing.T) {
	raw, _ := hex.DecodeString(strings.ReplaceAll(orderID, "-", ""))
	tests := []struct {
		maxLength int
		want      string
	}{
		{36, upperID},
		{40, upperID},
		{35, strings.ToUpper(hex.EncodeToString(raw))},
		{32, strings.ToUpper(hex.EncodeToString(raw))},
		{31, base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)},
		{26, base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)},
	}
	for _, tt := range tests {
		r := orderpush.Reference{Mode: orderpush.RefExtensionField, Field: refField, MaxLength: tt.maxLength}
		got, err := r.For(inlineOrder())
		if err != nil || got != tt.want || len(got) > tt.maxLength || strings.ToUpper(got) != got {
			t.Errorf("maxLength %d: %q %v, want %q", tt.maxLength, got, err, tt.want)
		}
		so, err := loadShipped(t).Map(t.Context(), inlineOrder(), got, nil)
		if err != nil {
			t.Errorf("maxLength %d: the mapping refuses its own reference: %v", tt.maxLength, err)
		} else if so.Extensions[refField] != tt.want {
			t.Errorf("maxLength %d: the create carries %v", tt.maxLength, so.Extensions)
		}
	}
	if _, err := orderpush.ParseMapping([]byte(withReference(`{"mode": "extensionField", "field": "YY1_D365OrderID_SDH", "maxLength": 25}`)), values(t)); err == nil {
		t.Error("a 25-character field was accepted: no encoding of a GUID fits it")
	}
}

func TestReferenceOfOrderNumberMode(t *testing.T) {
	r := orderpush.Reference{Mode: orderpush.RefOrderNumber}
	for _, tt := range []struct{ number, want, err string }{
		{" ORD-01001 ", "ORD-01001", ""},
		{"", "", "needs the D365 order number"},
		{strings.Repeat("9", 36), "", "longer than SAP's customer reference"},
	} {
		o := inlineOrder()
		o.OrderNumber = tt.number
		got, err := r.For(o)
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("order number %q: %q %v, want %q %q", tt.number, got, err, tt.want, tt.err)
		}
	}
}

// Texts are not filterable: a headerText lookup reads the orders with the push's PO and sold-to and takes only the
// one whose text carries our reference. An order a clerk entered with the same PO is not ours, lost answer or not.
func TestHeaderTextLookupNeverAdoptsAnotherOrder(t *testing.T) {
	tests := []struct {
		name      string
		committed bool // our lost create did commit
		code      int
		number    string
	}{
		{"ours never committed", false, 202, ""},
		{"ours committed beside the clerk's", true, 201, "4712"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.svc.Mapping.Reference = headerText
			h.sap.enter("PO-4711", soldTo,
				sap.SalesOrderTextCreate{Language: "EN", LongTextID: "Z001", LongText: "Dynamics 365 sales order ORD-09999 (0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D)"},
				sap.SalesOrderTextCreate{Language: "EN", LongTextID: "0001", LongText: "see " + upperID})
			if tt.committed {
				h.sap.CreateSalesOrderFn = h.sap.commitThen(reset)
			} else {
				h.sap.CreateSalesOrderFn = fails(reset)
			}
			code, _, body := h.post(t, inlineOrder(), "")
			if code != tt.code || (tt.number != "" && body["sapSalesOrder"] != tt.number) {
				t.Fatalf("push %d %v, want %d %s", code, body, tt.code, tt.number)
			}
			c := h.sap.creates()[0]
			if len(c.Texts) != 1 || c.Texts[0].LongTextID != "Z001" || c.Texts[0].Language != "EN" ||
				c.Texts[0].LongText != "Dynamics 365 sales order ORD-01001 ("+upperID+")" || c.PurchaseOrderByCustomer != "PO-4711" || c.Extensions != nil {
				t.Errorf("the create carries texts %+v, PO %q, extensions %v", c.Texts, c.PurchaseOrderByCustomer, c.Extensions)
			}
			if !contains(h.sap.Calls(), "findWithTexts PO-4711 "+soldTo) {
				t.Errorf("calls %v: the lookup reads the candidates with their texts", h.sap.Calls())
			}
			e := h.entry(t, orderID)
			if tt.committed {
				if e.State != ledger.Completed || e.Result != "4712" {
					t.Errorf("entry %+v", e)
				}
				return
			}
			if e.State != ledger.Accepted || !e.Unresolved() || e.Result != "" {
				t.Errorf("entry %+v: the clerk's order 4711 must not be adopted", e)
			}
		})
	}
}

func TestOrderNumberModeSendsTheOrderNumberAsPO(t *testing.T) {
	h := newHarness(t)
	h.svc.Mapping.Reference = orderpush.Reference{Mode: orderpush.RefOrderNumber}
	h.sap.CreateSalesOrderFn = h.sap.commitThen(gateway504)
	res, err := h.push(t, inlineOrder())
	if err != nil || !res.Created || res.SAPSalesOrder != "4711" {
		t.Fatalf("push %+v %v", res, err)
	}
	c := h.sap.creates()[0]
	if c.PurchaseOrderByCustomer != "ORD-01001" || c.Extensions != nil || c.Texts != nil {
		t.Errorf("the create carries PO %q, extensions %v, texts %v; want the order number as PO and nothing else", c.PurchaseOrderByCustomer, c.Extensions, c.Texts)
	}
	if !contains(h.sap.Calls(), "find ORD-01001 "+soldTo) {
		t.Errorf("calls %v", h.sap.Calls())
	}
	if e := h.entry(t, orderID); e.Ref != "ORD-01001" {
		t.Errorf("entry ref %q", e.Ref)
	}
}

// In headerText mode the lookup needs a PO to search under: without the customer's, the order number or a form of
// the order id travels instead.
func TestHeaderTextModeAlwaysSendsAPO(t *testing.T) {
	m := loadShipped(t)
	m.Reference = headerText
	raw, _ := hex.DecodeString(strings.ReplaceAll(orderID, "-", ""))
	fromID := "D365-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw)
	for _, tt := range []struct{ po, number, want string }{
		{"PO-4711", "ORD-01001", "PO-4711"},
		{"", "ORD-01001", "ORD-01001"},
		{" ", "", fromID},
	} {
		o := inlineOrder()
		o.PurchaseOrderNumber, o.OrderNumber = tt.po, tt.number
		so, err := m.Map(t.Context(), o, upperID, nil)
		if err != nil || so.PurchaseOrderByCustomer != tt.want {
			t.Errorf("PO %q, number %q: sent %q %v, want %q", tt.po, tt.number, so.PurchaseOrderByCustomer, err, tt.want)
		}
	}
}

// Someone copied the reference into a second SAP order by hand: the lowest number is ours, compared as numbers.
func TestTwoSAPOrdersCarryingTheReferenceTakeTheLowest(t *testing.T) {
	h := newHarness(t)
	h.sap.CreateSalesOrderFn = fails(reset)
	h.sap.FindSalesOrdersByFieldFn = func(_ context.Context, field, value string) ([]sap.SalesOrder, error) {
		return []sap.SalesOrder{
			{SalesOrder: "0000000010", Extensions: map[string]string{field: value}},
			{SalesOrder: "0000000008", Extensions: map[string]string{field: "SOMEONE ELSE"}},
			{SalesOrder: "0000000009", Extensions: map[string]string{field: strings.ToLower(value)}},
		}, nil
	}
	res, err := h.push(t, inlineOrder())
	if err != nil || res.SAPSalesOrder != "9" {
		t.Errorf("push %+v %v, want 9: 8 does not carry the reference, 10 is higher", res, err)
	}
}
