package sapevent_test

import (
	"testing"

	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sapevent"
)

// FuzzRefOf: any data of any type gives a Ref with a usable number or an invalid problem.
func FuzzRefOf(f *testing.F) {
	f.Add("sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", `{"SalesOrder":"164","EventRaisedDateTime":"2019-03-18T07:59:57.855Z"}`)
	f.Add("sap.s4.beh.outbounddelivery.v1.OutboundDelivery.Created.v1", `{"OutboundDelivery":"0080000000"}`)
	f.Add("sap.s4.beh.billingdocument.v1.BillingDocument.Created.v1", `{"BillingDocument":null}`)
	f.Fuzz(func(t *testing.T, typ, data string) {
		ref, err := sapevent.RefOf(cloudevent.Event{ID: "1", Source: "/s", SpecVersion: "1.0", Type: typ, Data: []byte(data)})
		if err != nil {
			if problem.KindOf(err) != problem.Invalid {
				t.Fatalf("refused as %v: %v", problem.KindOf(err), err)
			}
			return
		}
		if ref.Number == "" || len(ref.Number) > 10 || ref.Object == "" || ref.Operation == "" {
			t.Fatalf("ref %+v from %s %s", ref, typ, data)
		}
	})
}
