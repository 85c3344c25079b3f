package hostile

import (
	"net/http"
	"strings"
)

// orderPushShapeCases: every member of the request with the wrong JSON type, numbers that are not decimals,
// and inline orders that break the shape. Each is a 400 naming the member; nothing is read or recorded. The few
// that are valid requests are replays of the pushed order or reads of an unknown one.
func orderPushShapeCases(w *world) []hcase {
	c := func(name, body string, wt want) hcase {
		return hcase{class: shapes, name: name, req: w.post(body), want: wt}
	}
	member := func(name, json, field string) hcase {
		return c(name, `{"salesorderid":`+json+`}`, invalid(field))
	}
	in := func(name string, edit func(o, l map[string]any), field string) hcase {
		return c("inline "+name, w.inline(newID(), edit), invalid(field))
	}
	lines := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"productNumber": w.product, "quantity": "1"}
		}
		return out
	}
	replay := want{status: http.StatusOK, check: answerState(w.done, "written-back")}
	cases := []hcase{
		member("salesorderid a number", "42", "salesorderid"),
		member("salesorderid a boolean", "true", "salesorderid"),
		member("salesorderid an array", `["`+w.done+`"]`, "salesorderid"),
		member("salesorderid an object", `{"id":"`+w.done+`"}`, "salesorderid"),
		member("salesorderid null", "null", "salesorderid"),
		member("salesorderid empty", `""`, "salesorderid"),
		member("salesorderid in braces", `"{`+w.done+`}"`, "salesorderid"),
		member("salesorderid without hyphens", `"`+strings.ReplaceAll(w.done, "-", "")+`"`, "salesorderid"),
		member("salesorderid as a URN", `"urn:uuid:`+w.done+`"`, "salesorderid"),
		member("salesorderid with spaces around", `" `+w.done+` "`, "salesorderid"),
		member("salesorderid with a newline", `"`+w.done+`\n"`, "salesorderid"),
		member("salesorderid one digit short", `"`+w.done[:35]+`"`, "salesorderid"),
		member("salesorderid with a non-hex digit", `"g`+w.done[1:]+`"`, "salesorderid"),
		member("salesorderid with full-width digits", `"`+strings.Map(fullWidth, w.done)+`"`, "salesorderid"),
		c("order a string", `{"order":"`+w.done+`"}`, invalid("order")),
		c("order a number", `{"order":1}`, invalid("order")),
		c("order an array", `{"order":[]}`, invalid("order")),
		c("order a boolean", `{"order":false}`, invalid("order")),
		c("order null and no id", `{"order":null}`, invalid("salesorderid")),
		c("both salesorderid and order", `{"salesorderid":"`+w.done+`",`+strings.TrimPrefix(w.inline(w.done, nil), "{"), invalid("order")),
		c("both, the id empty", `{"salesorderid":"",`+strings.TrimPrefix(w.inline(newID(), func(o, _ map[string]any) { o["salesorderid"] = "x" }), "{"), invalid("order/salesorderid")),
		{class: shapes, name: "salesorderid with order null is a replay", req: w.post(`{"salesorderid":"` + w.done + `","order":null}`), want: replay, allow: readsDV},
		{class: shapes, name: "salesorderid in upper case is a replay", req: w.post(byID(strings.ToUpper(w.done))), want: replay, allow: readsDV},
		{class: shapes, name: "salesorderid nobody has", req: w.post(byID(newID())), want: notFound(), allow: readsDV},

		in("salesorderid a number", func(o, _ map[string]any) { o["salesorderid"] = raw("1") }, "order/salesorderid"),
		in("salesorderid missing", func(o, _ map[string]any) { delete(o, "salesorderid") }, "order/salesorderid"),
		in("customer a number", func(o, _ map[string]any) { o["customerAccountNumber"] = raw("10100001") }, "order/customerAccountNumber"),
		in("customer an array", func(o, _ map[string]any) { o["customerAccountNumber"] = raw(`["10100001"]`) }, "order/customerAccountNumber"),
		in("customer blank", func(o, _ map[string]any) { o["customerAccountNumber"] = " \t" }, "order/customerAccountNumber"),
		in("customer missing", func(o, _ map[string]any) { delete(o, "customerAccountNumber") }, "order/customerAccountNumber"),
		in("PO an object", func(o, _ map[string]any) { o["purchaseOrderNumber"] = raw(`{}`) }, "order/purchaseOrderNumber"),
		in("PO a number", func(o, _ map[string]any) { o["purchaseOrderNumber"] = raw(`4711`) }, "order/purchaseOrderNumber"),
		in("date a number", func(o, _ map[string]any) { o["requestedDeliveryDate"] = raw("20261215") }, "order/requestedDeliveryDate"),
		in("date not a day", func(o, _ map[string]any) { o["requestedDeliveryDate"] = "2026-02-30" }, "order/requestedDeliveryDate"),
		in("date with a time", func(o, _ map[string]any) { o["requestedDeliveryDate"] = "2026-12-15T00:00:00Z" }, "order/requestedDeliveryDate"),
		in("date in German", func(o, _ map[string]any) { o["requestedDeliveryDate"] = "15.12.2026" }, "order/requestedDeliveryDate"),
		in("currency a boolean", func(o, _ map[string]any) { o["currency"] = raw("true") }, "order/currency"),
		in("currency in lower case", func(o, _ map[string]any) { o["currency"] = "eur" }, "order/currency"),
		in("currency two letters", func(o, _ map[string]any) { o["currency"] = "EU" }, "order/currency"),
		in("currency a symbol", func(o, _ map[string]any) { o["currency"] = "€" }, "order/currency"),
		in("payment terms a number", func(o, _ map[string]any) { o["paymentTerms"] = raw("1") }, "order/paymentTerms"),
		in("payment terms unmapped", func(o, _ map[string]any) { o["paymentTerms"] = "77" }, "paymentTerms"),
		in("order number a number", func(o, _ map[string]any) { o["ordernumber"] = raw("5") }, "order/ordernumber"),
		in("lines an object", func(o, _ map[string]any) { o["lines"] = raw(`{}`) }, "order/lines"),
		in("lines a string", func(o, _ map[string]any) { o["lines"] = "x" }, "order/lines"),
		in("lines null", func(o, _ map[string]any) { o["lines"] = nil }, "order/lines"),
		in("lines empty", func(o, _ map[string]any) { o["lines"] = []any{} }, "order/lines"),
		in("a line a number", func(o, _ map[string]any) { o["lines"] = raw(`[1]`) }, "order/lines/0"),
		in("a line null", func(o, _ map[string]any) { o["lines"] = raw(`[null]`) }, "order/lines/0/productNumber"),
		in("a second line a string", func(o, l map[string]any) { o["lines"] = []any{l, "x"} }, "order/lines/1"),
		in("product a number", func(_, l map[string]any) { l["productNumber"] = raw("1") }, "order/lines/0/productNumber"),
		in("product blank", func(_, l map[string]any) { l["productNumber"] = "  " }, "order/lines/0/productNumber"),
		in("quantity a boolean", func(_, l map[string]any) { l["quantity"] = raw("true") }, "order/lines/0/quantity"),
		in("quantity an array", func(_, l map[string]any) { l["quantity"] = raw("[1]") }, "order/lines/0/quantity"),
		in("quantity missing", func(_, l map[string]any) { delete(l, "quantity") }, "order/lines/0/quantity"),
		in("quantity 1e400", func(_, l map[string]any) { l["quantity"] = raw("1e400") }, "order/lines/0/quantity"),
		in("quantity \"1e400\"", func(_, l map[string]any) { l["quantity"] = "1e400" }, "order/lines/0/quantity"),
		in("quantity 1e3", func(_, l map[string]any) { l["quantity"] = raw("1e3") }, "order/lines/0/quantity"),
		in("quantity -0", func(_, l map[string]any) { l["quantity"] = raw("-0") }, "order/lines/0/quantity"),
		in("quantity \"-0\"", func(_, l map[string]any) { l["quantity"] = "-0" }, "order/lines/0/quantity"),
		in("quantity negative", func(_, l map[string]any) { l["quantity"] = raw("-1") }, "order/lines/0/quantity"),
		in("quantity \"0x10\"", func(_, l map[string]any) { l["quantity"] = "0x10" }, "order/lines/0/quantity"),
		in("quantity \"1_000\"", func(_, l map[string]any) { l["quantity"] = "1_000" }, "order/lines/0/quantity"),
		in("quantity \"1,5\"", func(_, l map[string]any) { l["quantity"] = "1,5" }, "order/lines/0/quantity"),
		in("quantity \"NaN\"", func(_, l map[string]any) { l["quantity"] = "NaN" }, "order/lines/0/quantity"),
		in("quantity \"Infinity\"", func(_, l map[string]any) { l["quantity"] = "Infinity" }, "order/lines/0/quantity"),
		in("quantity \"\"", func(_, l map[string]any) { l["quantity"] = "" }, "order/lines/0/quantity"),
		in("quantity with four decimals", func(_, l map[string]any) { l["quantity"] = "1.0001" }, "lines/0/quantity"),
		in("quantity of 13 digits", func(_, l map[string]any) { l["quantity"] = raw("1000000000000") }, "lines/0/quantity"),
		in("unit a number", func(_, l map[string]any) { l["unit"] = raw("1") }, "order/lines/0/unit"),
		in("unit unmapped", func(_, l map[string]any) { l["unit"] = "Barrel" }, "lines/0/unit"),
		in("line number a string", func(_, l map[string]any) { l["lineItemNumber"] = "1" }, "order/lines/0/lineItemNumber"),
		in("line number a fraction", func(_, l map[string]any) { l["lineItemNumber"] = raw("1.5") }, "order/lines/0/lineItemNumber"),
		in("line number 1e400", func(_, l map[string]any) { l["lineItemNumber"] = raw("1e400") }, "order/lines/0/lineItemNumber"),
		in("sequence number past int64", func(_, l map[string]any) { l["sequenceNumber"] = raw("99999999999999999999") }, "order/lines/0/sequenceNumber"),
		in("an unknown member", func(o, _ map[string]any) { o["priority"] = "high" }, "order/priority"),
		in("an unknown line member", func(_, l map[string]any) { l["price"] = "9.99" }, "order/lines/0/price"),
		in("a member twice in a line", func(o, l map[string]any) {
			o["lines"] = raw(`[{"productNumber":"` + w.product + `","quantity":"1","QUANTITY":"1000"}]`)
		}, "order/lines/0/QUANTITY"),
		in("1000 lines", func(o, _ map[string]any) { o["lines"] = lines(1000) }, "order/lines"),
	}
	// 999 lines are allowed: the one problem named is the currency.
	cases = append(cases, hcase{class: shapes, name: "inline 999 lines and a bad currency", req: w.post(w.inline(newID(), func(o, _ map[string]any) {
		o["lines"], o["currency"] = lines(999), "euro"
	})), want: want{status: http.StatusBadRequest, kind: "invalid", field: "order/currency", notField: "order/lines"}})
	return cases
}

// fullWidth maps ASCII digits and letters to their full-width forms.
func fullWidth(r rune) rune {
	if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' {
		return r - 0x21 + 0xff01
	}
	return r
}
