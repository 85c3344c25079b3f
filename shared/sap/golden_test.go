package sap

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim/sapkit"
)

// TestDecodeSAPSamples decodes the payloads SAP recorded (kit samples) with the client's own types.
func TestDecodeSAPSamples(t *testing.T) {
	kit := sapkit.Dir(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(kit, "sap", "samples", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("sales orders with items", func(t *testing.T) {
		var orders []SalesOrder
		pg, err := decodePage(bytes.NewReader(read("GET_A_SalesOrder_expand_to_Item.response.json")), func(so SalesOrder) bool {
			orders = append(orders, so)
			return true
		})
		if err != nil || pg.next != "" || len(orders) != 3 {
			t.Fatalf("%d orders, next %q, err %v", len(orders), pg.next, err)
		}
		so := orders[0]
		if so.SalesOrder != "164" || so.SoldToParty != "10100001" || so.TotalNetAmount.String() != "24.25" ||
			so.OverallSDProcessStatus != "A" || so.Metadata.ETag != `W/"datetimeoffset'2019-03-18T07%3A59%3A57.8555850Z'"` {
			t.Fatalf("header %+v", so)
		}
		if !so.LastChangeDateTime.Equal(time.Date(2019, 3, 18, 7, 59, 57, 855e6, time.UTC)) ||
			!so.CreationDate.Equal(time.Date(2019, 3, 18, 0, 0, 0, 0, time.UTC)) || !so.LastChangeDate.IsZero() {
			t.Fatalf("dates %v %v %v", so.LastChangeDateTime, so.CreationDate, so.LastChangeDate)
		}
		if len(so.Items.Results) == 0 || so.Items.Deferred {
			t.Fatalf("items %+v", so.Items)
		}
		it := so.Items.Results[0]
		if it.SalesOrderItem != "10" || it.Material != "FGME01" || it.RequestedQuantity.String() != "1" ||
			it.NetAmount.Cmp(MustDecimal("24.25")) != 0 || it.ProductionPlant != "1010" {
			t.Fatalf("item %+v", it)
		}
	})
	t.Run("outbound delivery", func(t *testing.T) {
		var d OutboundDelivery
		if err := decodeEntity(&http.Response{Body: io.NopCloser(bytes.NewReader(read("GET_A_OutbDeliveryHeader_readOne.response.json")))}, &d); err != nil {
			t.Fatal(err)
		}
		if d.DeliveryDocument != "80000000" || d.DeliveryDocumentType != "LF" || d.Metadata.ETag != `W/"'0002'"` ||
			!d.ActualGoodsMovementDate.Equal(time.UnixMilli(1523232000000)) || len(d.Items.Results) != 0 {
			t.Fatalf("delivery %+v", d)
		}
	})
	t.Run("error body", func(t *testing.T) {
		e := parseError(&http.Response{StatusCode: 400, Header: http.Header{}}, read("error_odata_v2.sap-community-blog.json"))
		if e.Code != "XX/123" || !strings.HasPrefix(e.Message, "Account 12345678") || e.TransactionID != "XXXXXXXXXXXXXXXX" ||
			e.ComponentID != "MM-PUR-REQ" || e.ServiceID != "API_PURCHASEREQ_PROCESS_SRV" || len(e.Details) != 1 ||
			e.Details[0].Severity != "error" || !strings.Contains(e.SAPNote, "1797736") {
			t.Fatalf("%+v", e)
		}
	})
}

// TestClientPropertiesExistInEDMX checks that every property the client sends exists in SAP's EDMX with a
// compatible type and the same MaxLength/Precision/Scale, that every struct field it sends has a spec, and that the
// properties it reads exist with a compatible type.
func TestClientPropertiesExistInEDMX(t *testing.T) {
	kit := sapkit.Dir(t)
	services := map[string]string{
		"A_SalesOrderType": "API_SALES_ORDER_SRV", "A_SalesOrderItemType": "API_SALES_ORDER_SRV", "A_SalesOrderTextType": "API_SALES_ORDER_SRV",
		"A_ProductUnitsOfMeasureType": "API_PRODUCT_SRV",
		"A_BusinessPartnerType":       "API_BUSINESS_PARTNER", "A_CustomerSalesAreaType": "API_BUSINESS_PARTNER",
		"A_CustomerType": "API_BUSINESS_PARTNER", "A_MatlStkInAcctModType": "API_MATERIAL_STOCK_SRV",
		"A_ProductType": "API_PRODUCT_SRV", "A_ProductDescriptionType": "API_PRODUCT_SRV",
		"A_SlsPrcgCndnRecdValidityType": "API_SLSPRICINGCONDITIONRECORD_SRV", "A_SlsPrcgConditionRecordType": "API_SLSPRICINGCONDITIONRECORD_SRV",
		"A_OutbDeliveryHeaderType": "API_OUTBOUND_DELIVERY_SRV", "A_OutbDeliveryItemType": "API_OUTBOUND_DELIVERY_SRV",
		"A_BillingDocumentType": "API_BILLING_DOCUMENT_SRV", "A_BillingDocumentItemType": "API_BILLING_DOCUMENT_SRV",
		"AvailabilityRecord": "API_PRODUCT_AVAILY_INFO_BASIC",
	}
	docs := map[string]map[string]sapkit.EntityType{}
	edmx := func(t *testing.T, typ string) sapkit.EntityType {
		svc := services[typ]
		if docs[svc] == nil {
			docs[svc] = sapkit.LoadEDMX(t, kit, svc)
		}
		et, ok := docs[svc][typ]
		if !ok {
			t.Fatalf("%s not in %s", typ, svc)
		}
		return et
	}
	propOf := func(et sapkit.EntityType, name string) (typ, maxLen, prec, scale string, ok bool) {
		for _, p := range et.Props {
			if p.Name == name {
				return p.Type, p.MaxLength, p.Precision, p.Scale, true
			}
		}
		return "", "", "", "", false
	}
	t.Run("writable specs", func(t *testing.T) {
		for typ, fields := range writableFields {
			et := edmx(t, typ)
			for name, spec := range fields {
				etyp, ml, p, s, ok := propOf(et, name)
				if !ok {
					t.Errorf("%s.%s is not in the EDMX", typ, name)
					continue
				}
				if etyp != spec.Type || ml != itoa0(spec.MaxLength) || (spec.Type == "Edm.Decimal" && (p != strconv.Itoa(spec.Precision) || s != strconv.Itoa(spec.Scale))) {
					t.Errorf("%s.%s: spec %+v, EDMX %s(%s) %s,%s", typ, name, spec, etyp, ml, p, s)
				}
			}
		}
	})
	t.Run("sent structs", func(t *testing.T) {
		for _, c := range []struct {
			typ    string
			v      any
			nested map[string]string
		}{
			{"A_SalesOrderType", SalesOrderCreate{}, salesOrderNested},
			{"A_SalesOrderItemType", SalesOrderItemCreate{}, nil},
			{"A_SalesOrderTextType", SalesOrderTextCreate{}, nil},
			{"A_SalesOrderType", SalesOrderUpdate{}, nil},
			{"A_BusinessPartnerType", BusinessPartnerUpdate{}, nil},
		} {
			rt := reflect.TypeOf(c.v)
			for i := range rt.NumField() {
				name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
				if _, nested := c.nested[name]; nested || name == "-" { // "-": extension fields, checked apart
					continue
				}
				spec, ok := writableFields[c.typ][name]
				if !ok {
					t.Errorf("%s sends %s, which has no spec", rt.Name(), name)
					continue
				}
				if !compatible(rt.Field(i).Type, spec.Type) {
					t.Errorf("%s.%s is %s, EDMX %s", rt.Name(), name, rt.Field(i).Type, spec.Type)
				}
			}
		}
	})
	t.Run("read structs", func(t *testing.T) {
		for _, c := range []struct {
			typ string
			v   any
		}{
			{"A_SalesOrderType", SalesOrder{}}, {"A_SalesOrderItemType", SalesOrderItem{}}, {"A_SalesOrderTextType", SalesOrderText{}},
			{"A_ProductUnitsOfMeasureType", UnitOfMeasure{}},
			{"A_MatlStkInAcctModType", StockRow{}}, {"A_ProductType", Product{}}, {"A_ProductDescriptionType", ProductDescription{}},
			{"A_SlsPrcgCndnRecdValidityType", PriceCondition{}}, {"A_SlsPrcgConditionRecordType", ConditionRecord{}},
			{"A_BusinessPartnerType", BusinessPartner{}}, {"A_CustomerType", Customer{}}, {"A_CustomerSalesAreaType", CustomerSalesArea{}},
			{"A_OutbDeliveryHeaderType", OutboundDelivery{}}, {"A_OutbDeliveryItemType", OutboundDeliveryItem{}},
			{"A_BillingDocumentType", BillingDocument{}}, {"A_BillingDocumentItemType", BillingDocumentItem{}},
			{"AvailabilityRecord", AvailabilityRecord{}},
		} {
			et := edmx(t, c.typ)
			navs := map[string]bool{}
			for _, n := range et.Navs {
				navs[n.Name] = true
			}
			rt := reflect.TypeOf(c.v)
			for i := range rt.NumField() {
				name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
				if name == "__metadata" || name == "-" {
					continue
				}
				if strings.HasPrefix(name, "to_") {
					if !navs[name] {
						t.Errorf("%s reads navigation %s, not in the EDMX", rt.Name(), name)
					}
					continue
				}
				etyp, _, _, _, ok := propOf(et, name)
				if !ok {
					t.Errorf("%s reads %s, not in the EDMX of %s", rt.Name(), name, c.typ)
					continue
				}
				if !compatible(rt.Field(i).Type, etyp) {
					t.Errorf("%s.%s is %s, EDMX %s", rt.Name(), name, rt.Field(i).Type, etyp)
				}
			}
		}
	})
}

func itoa0(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func compatible(t reflect.Type, edm string) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch edm {
	case "Edm.String":
		return t.Kind() == reflect.String
	case "Edm.Boolean":
		return t.Kind() == reflect.Bool
	case "Edm.Decimal":
		return t == reflect.TypeOf(Decimal{})
	case "Edm.DateTime":
		return t == reflect.TypeOf(DateTime{})
	case "Edm.DateTimeOffset":
		return t == reflect.TypeOf(DateTimeOffset{})
	case "Edm.Time":
		return t == reflect.TypeOf(TimeOfDay{})
	}
	return false
}
