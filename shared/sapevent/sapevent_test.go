package sapevent_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/kit"
	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sapevent"
)

func TestRefOfTheKitSamples(t *testing.T) {
	k := kit.Dir(t, "sap/samples")
	tests := []struct {
		file     string
		consumed bool
		want     sapevent.Ref
	}{
		{"event_SalesOrder_Changed.constructed.cloudevent.json", true,
			sapevent.Ref{Object: sapevent.SalesOrder, Number: "164", Operation: "Changed", Raised: time.Date(2019, 3, 18, 7, 59, 57, 855e6, time.UTC)}},
		{"event_SalesOrder_OvrlDelivStsChgd.constructed.cloudevent.json", true,
			sapevent.Ref{Object: sapevent.SalesOrder, Number: "164", Operation: "OvrlDelivStsChgd", Raised: time.Date(2019, 3, 20, 10, 12, 3, 412e6, time.UTC)}},
		// The delivery event has no EventRaisedDateTime: the envelope's time stands in.
		{"event_OutboundDelivery_Created.constructed.cloudevent.json", true,
			sapevent.Ref{Object: sapevent.OutboundDelivery, Number: "80000000", Operation: "Created", Raised: time.Date(2018, 4, 9, 7, 57, 57, 0, time.UTC)}},
		{"event_BillingDocument_Created.constructed.cloudevent.json", true,
			sapevent.Ref{Object: sapevent.BillingDocument, Number: "90000000", Operation: "Created", Raised: time.Date(2019, 3, 21, 8, 30, 15, 0, time.UTC)}},
		{"event_BusinessPartner_Created.cloudevent.json", false, sapevent.Ref{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(k, "sap/samples", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			evs, err := cloudevent.ReadHTTP(http.Header{"Content-Type": {"application/cloudevents+json"}}, b)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, ok := sapevent.Consumed(evs[0].Type); ok != tt.consumed {
				t.Fatalf("Consumed(%s) = %v", evs[0].Type, ok)
			}
			ref, err := sapevent.RefOf(evs[0])
			if !tt.consumed {
				if problem.KindOf(err) != problem.Invalid {
					t.Fatalf("RefOf = %+v, %v; want invalid", ref, err)
				}
				return
			}
			if err != nil || ref.Object != tt.want.Object || ref.Number != tt.want.Number || ref.Operation != tt.want.Operation || !ref.Raised.Equal(tt.want.Raised) {
				t.Fatalf("RefOf = %+v, %v; want %+v", ref, err, tt.want)
			}
		})
	}
}

func TestConsumedMatchesWholeTypes(t *testing.T) {
	for typ, want := range map[string]bool{
		"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1":                      true,
		"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v2":                      false,
		"sap.s4.beh.salesorder.v2.SalesOrder.Changed.v1":                      false,
		"sap.s4.beh.salesorder.v1.SalesOrder.ItemChanged.v1":                  false,
		"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1.extra":                false,
		"x.sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1":                    false,
		"sap.s4.beh.outbounddelivery.v1.OutboundDelivery.GIStatusChanged.v1":  true,
		"sap.s4.beh.outbounddelivery.v1.OutboundDelivery.GoodsIssuePosted.v1": false,
		"sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1":            false,
		"": false,
	} {
		if _, _, ok := sapevent.Consumed(typ); ok != want {
			t.Errorf("Consumed(%q) = %v, want %v", typ, ok, want)
		}
	}
}

func TestRefOfRefusesDataWithoutAUsableNumber(t *testing.T) {
	for name, data := range map[string]string{
		"no number":                 `{"SalesOrderType":"OR"}`,
		"a number that is a number": `{"SalesOrder":164}`,
		"an empty number":           `{"SalesOrder":"  "}`,
		"a number too long":         `{"SalesOrder":"12345678901"}`,
		"a number with a quote":     `{"SalesOrder":"16'4"}`,
		"a number with a slash":     `{"SalesOrder":"1/2"}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := cloudevent.Event{ID: "1", Source: "/s", SpecVersion: "1.0", Type: "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", Data: []byte(data)}
			if ref, err := sapevent.RefOf(e); problem.KindOf(err) != problem.Invalid {
				t.Fatalf("RefOf = %+v, %v; want invalid", ref, err)
			}
		})
	}
	e := cloudevent.Event{ID: "1", Source: "/s", SpecVersion: "1.0", Type: "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", Data: []byte(`{"SalesOrder":"0000000164"}`)}
	if ref, err := sapevent.RefOf(e); err != nil || ref.Number != "164" {
		t.Fatalf("RefOf = %+v, %v; want number 164 without its zeros", ref, err)
	}
}
