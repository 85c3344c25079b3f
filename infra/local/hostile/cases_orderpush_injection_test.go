package hostile

import (
	"net/http"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// orderPushInjectionCases: values that end up in SAP's keys and filters, Dataverse's keys or the ledger's keys.
// An id that is not a GUID never leaves the function. Account, product and PO numbers of a valid length do reach
// SAP, quoted as data: SAP refuses the unknown sold-to party or material, and the push records that it did, which
// is all each of those cases may leave behind.
func orderPushInjectionCases(w *world) []hcase {
	id := func(name, value string) hcase {
		return hcase{class: injection, name: "salesorderid " + name, req: w.post(`{"salesorderid":"` + value + `"}`), want: invalid("salesorderid")}
	}
	inlineID := func(name, value string) hcase {
		return hcase{class: injection, name: "inline salesorderid " + name, req: w.post(w.inline(value, nil)), want: invalid("order/salesorderid")}
	}
	// refused reaches SAP with the edited order and SAP refuses it with code first.
	refused := func(name string, edit func(o, l map[string]any), code string) hcase {
		oid := newID()
		return hcase{class: injection, name: name, req: w.post(w.inline(oid, edit)), want: rejectedBySAP(code), allow: reachesSAP(oid)}
	}
	customer := func(name, value string) hcase {
		return refused("customer "+name, func(o, _ map[string]any) { o["customerAccountNumber"] = value }, "V1/320")
	}
	po := func(name, value string) hcase {
		return refused("PO "+name, func(o, _ map[string]any) { o["purchaseOrderNumber"] = value }, "V1/320")
	}
	// material reaches SAP's units of the material, by key, which SAP does not find: the order cannot be mapped.
	material := func(name, value string) hcase {
		oid := newID()
		edit := func(_, l map[string]any) { l["productNumber"] = value }
		return hcase{class: injection, name: "material " + name, req: w.post(w.inline(oid, edit)), want: unknownMaterial(), allow: reachesSAP(oid)}
	}
	// sapRefusing is an order SAP would take, with a PO of quotes, refused by a fault: what was sent is refused
	// as any order is, and nothing is created.
	sapRefusing := func(name, customer, value string) hcase {
		oid := newID()
		edit := func(o, _ map[string]any) { o["customerAccountNumber"], o["purchaseOrderNumber"] = customer, value }
		return hcase{class: injection, name: name, req: w.post(w.inline(oid, edit)), want: rejectedBySAP("V1/999"), allow: reachesSAP(oid),
			faults: &sapsim.Faults{RejectCreateNext: 1, RejectCode: "V1/999", RejectMessage: "refused by the suite"}}
	}
	g := w.done
	return []hcase{
		id("with a quote", g+"'"),
		id("or 1 eq 1", g+"' or 1 eq 1"),
		id("or 1 eq 1, GUID-long", "00000000' or 1 eq 1 or 'a' eq '0000"),
		id("an alternate key", "ordernumber='ORD-1'"),
		id("a navigation", g+")/order_details("+g),
		id("a query", g+"?$select=*"),
		id("$filter", "$filter=salesorderid ne null"),
		id("a path up", "../accounts("+g+")"),
		id("percent-encoded quote", "%27"+g[3:]),
		id("a closing parenthesis", g[:35]+")"),
		id("unicode quotes", "\u2018"+g[1:35]+"\u2019"),
		id("an OData table filter", "PartitionKey ne ''"),
		inlineID("with a quote", g[:35]+"'"),
		inlineID("or 1 eq 1", g+"' or 1 eq 1"),
		inlineID("a navigation", g+")/order_details"),
		{class: injection, name: "customer or 1 eq 1 too long for SAP", req: w.post(w.inline(newID(), func(o, _ map[string]any) {
			o["customerAccountNumber"] = "' or 1 eq 1"
		})), want: invalid("customerAccountNumber")},
		customer("a quote", "'"),
		customer("two quotes", "''"),
		customer("or 1 eq 1", "'or 1 eq 1"),
		customer("a closing parenthesis", "1')"),
		customer("percent-encoded quote", "%27"),
		customer("$filter", "$filter=1"),
		customer("unicode quotes", "\u2018x\u2019"),
		customer("a modifier letter apostrophe", "x\u02bcor\u02bc"),
		customer("a slash", "1/2"),
		customer("a NUL", "1\x00"),
		customer("an ampersand query", "&$top=1"),
		material("with a quote", w.product+"'"),
		material("or 1 eq 1", "x' or 1 eq 1"),
		material("a closing parenthesis and $batch", "')/$batch"),
		material("percent-encoded quote", "%27"+w.product),
		material("a path up", "../A_Product"),
		material("a slash", w.product+"/to_ProductUnitsOfMeasure"),
		// The simulator refuses this key as SAP Gateway refuses a key predicate it cannot parse: a 400 with a
		// message code, SAP's last word on that material, which ends the push rather than queueing it for ever.
		func() hcase {
			oid := newID()
			edit := func(_, l map[string]any) { l["productNumber"] = "?$filter=Product ne ''" }
			return hcase{class: injection, name: "material a query", req: w.post(w.inline(oid, edit)), want: rejectedBySAP("/IWBEP/CM_MGW_RT/020"),
				allow: reachesSAP(oid)}
		}(),
		material("a fragment", "#"+w.product),
		material("unicode quotes", "\u2019"+w.product+"\u2019"),
		po("with a quote", "PO'1"),
		po("or 1 eq 1", "' or 1 eq 1"),
		po("$filter", "$filter=PurchaseOrderByCustomer"),
		po("percent-encoded", "%27%20or%201%20eq%201"),
		po("a closing parenthesis", "')"),
		po("unicode quotes", "\u2018\u2019\u201c\u201d"),
		po("a batch boundary", "\r\n--batch_1\r\nContent-Type: x\r\n"),
		po("markup", "<script>alert(1)</script>"),
		sapRefusing("PO with quotes, SAP refusing the create", w.customer, "PO' or 1 eq 1"),
		{class: injection, name: "OData options in the push's query", req: w.post(`{}`).at("/api/orders?$filter=salesorderid%20ne%20null&$select=*&$top=1000"),
			want: invalid("salesorderid")},
	}
}

// unknownMaterial is the push ending "failed" because SAP has no such material: a 400 naming the line's unit
// (the conversion is what asks SAP for the material).
func unknownMaterial() want {
	return want{status: http.StatusBadRequest, kind: "invalid", field: "lines/0/unit", check: func(t *testing.T, r response) {
		t.Helper()
		if r.problem == nil || len(r.problem.Errors) == 0 || !strings.Contains(r.problem.Errors[0].Reason, "does not exist in SAP") {
			t.Errorf("the reason does not say SAP has no such material: %.600s", r.body)
		}
	}}
}
