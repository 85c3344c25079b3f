package hostile

import "strings"

// statusQueueCases: hostile messages for statusupdates, the consumer of STATUS_EVENTS_QUEUE. A message that is
// no CloudEvent of a consumed type, or names no usable SAP number, is kept in the dead letters as invalid and
// acknowledged: never retried, never a read of SAP or a write to Dataverse. The function is switched off in the
// suite's world (the events cases put well-formed events on its queue), so these run through the host's admin
// call, the way an operator replays a message.
func statusQueueCases(w *world) []qcase {
	dl := func(name, body string) qcase {
		return qcase{name: name, body: []byte(body), admin: true, want: deadLettered, kind: "invalid"}
	}
	ev := func(typ, data string) string {
		return `{"specversion":"1.0","id":"h-1","source":"/default/sap.s4.beh/1","type":"` + typ + `","data":` + data + `}`
	}
	const so = "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1"
	const bd = "sap.s4.beh.billingdocument.v1.BillingDocument.Created.v1"
	return []qcase{
		dl("garbage", "garbage"),
		dl("an empty object", "{}"),
		dl("null", "null"),
		dl("a batch on the queue", "["+ev(so, `{"SalesOrder":"1"}`)+"]"),
		dl("spec 0.3", strings.Replace(ev(so, `{"SalesOrder":"1"}`), `"1.0"`, `"0.3"`, 1)),
		dl("no id", strings.Replace(ev(so, `{"SalesOrder":"1"}`), `"id":"h-1",`, "", 1)),
		dl("a business partner event", ev("sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1", `{"BusinessPartner":"1000746"}`)),
		dl("a type with a version nobody reads", ev("sap.s4.beh.salesorder.v1.SalesOrder.Changed.v2", `{"SalesOrder":"1"}`)),
		dl("no sales order number", ev(so, `{"SalesOrderType":"OR"}`)),
		dl("a number that is a number", ev(so, `{"SalesOrder":164}`)),
		dl("a number with an OData quote", ev(so, `{"SalesOrder":"1' or '1' eq '1"}`)),
		dl("a number with a path", ev(so, `{"SalesOrder":"../A_Customer"}`)),
		dl("a number too long", ev(so, `{"SalesOrder":"12345678901"}`)),
		dl("a delivery event without its number", ev("sap.s4.beh.outbounddelivery.v1.OutboundDelivery.Created.v1", `{"DeliveryDocumentType":"LF"}`)),
		dl("data a string", ev(so, `"164"`)),
		// Billing documents (they become invoices): the number is the only field read from the event.
		dl("a billing event without its number", ev(bd, `{"BillingDocumentType":"F2","SalesOrganization":"1010"}`)),
		dl("a billing event whose number is empty", ev(bd, `{"BillingDocument":""}`)),
		dl("a billing event whose number is a number", ev(bd, `{"BillingDocument":90000001}`)),
		dl("a billing event whose number is an object", ev(bd, `{"BillingDocument":{"$ne":""}}`)),
		dl("a billing event with an OData quote in its number", ev(bd, `{"BillingDocument":"9' or BillingDocument ne '"}`)),
		dl("a billing event with a path in its number", ev(bd, `{"BillingDocument":"../A_BillingDocument"}`)),
		dl("a billing event whose number is too long", ev(bd, `{"BillingDocument":"90000000012"}`)),
		dl("a billing event with a control character in its number", ev(bd, `{"BillingDocument":"9000\u00000001"}`)),
		dl("a billing event carrying a sales order number instead", ev(bd, `{"SalesOrder":"164"}`)),
		dl("a billing event of a version nobody reads", ev("sap.s4.beh.billingdocument.v1.BillingDocument.Created.v2", `{"BillingDocument":"90000001"}`)),
		dl("a foreign billing event type", ev("sap.s4.beh.billingdocument.v1.BillingDocument.Posted.v1", `{"BillingDocument":"90000001"}`)),
		dl("base64 of garbage", "Z2FyYmFnZQ=="),
		dl("a depth bomb", strings.Repeat("[", 40_000)),
		dl("47 KB of garbage", strings.Repeat("x", 47<<10)),
	}
}
