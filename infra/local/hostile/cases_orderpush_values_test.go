package hostile

import (
	"strings"
)

// orderPushValueCases: inline orders whose odd values pass every check of their own: numbers at the edges of
// their types, dates at the edges of SAP's calendar, members left empty or null, control characters and line
// breaks in free text. Each reaches SAP quoted as data (never as part of a key, filter or header) and SAP refuses
// the unknown sold-to party, which the push records; numbers past what SAP holds are 400s naming the member.
func orderPushValueCases(w *world) []hcase {
	reaches := func(name string, edit func(o, l map[string]any)) hcase {
		oid := newID()
		return hcase{class: shapes, name: "inline " + name + " reaches SAP as data", req: w.post(w.inline(oid, edit)),
			want: rejectedBySAP("V1/320"), allow: reachesSAP(oid)}
	}
	in := func(name string, edit func(o, l map[string]any), field string) hcase {
		return hcase{class: shapes, name: "inline " + name, req: w.post(w.inline(newID(), edit)), want: invalid(field)}
	}
	return []hcase{
		in("quantity 1e-400", func(_, l map[string]any) { l["quantity"] = raw("1e-400") }, "order/lines/0/quantity"),
		in("quantity \"0.000\"", func(_, l map[string]any) { l["quantity"] = "0.000" }, "order/lines/0/quantity"),
		in("quantity of 60,000 digits, unquoted", func(_, l map[string]any) { l["quantity"] = raw(strings.Repeat("9", 60_000)) }, "lines/0/quantity"),
		reaches("quantity 1.5 unquoted", func(_, l map[string]any) { l["quantity"] = raw("1.5") }),
		reaches("line number 0", func(_, l map[string]any) { l["lineItemNumber"] = raw("0") }),
		reaches("line number -1", func(_, l map[string]any) { l["lineItemNumber"] = raw("-1") }),
		reaches("line number 2^31", func(_, l map[string]any) { l["lineItemNumber"] = raw("2147483648") }),
		reaches("line number 2^63-1", func(_, l map[string]any) { l["lineItemNumber"] = raw("9223372036854775807") }),
		reaches("sequence number -1", func(_, l map[string]any) { l["sequenceNumber"] = raw("-1") }),
		reaches("two lines of the same number", func(o, l map[string]any) { l["lineItemNumber"] = raw("1"); o["lines"] = []any{l, l} }),
		reaches("date 9999-12-31", func(o, _ map[string]any) { o["requestedDeliveryDate"] = "9999-12-31" }),
		reaches("date 1900-01-01", func(o, _ map[string]any) { o["requestedDeliveryDate"] = "1900-01-01" }),
		reaches("date empty", func(o, _ map[string]any) { o["requestedDeliveryDate"] = "" }),
		reaches("currency null", func(o, _ map[string]any) { o["currency"] = nil }),
		reaches("order number empty", func(o, _ map[string]any) { o["ordernumber"] = "" }),
		reaches("PO null", func(o, _ map[string]any) { o["purchaseOrderNumber"] = nil }),
		reaches("PO empty", func(o, _ map[string]any) { o["purchaseOrderNumber"] = "" }),
		reaches("PO of control characters", func(o, _ map[string]any) { o["purchaseOrderNumber"] = "PO\x01\x02\x1b[31m" }),
		reaches("PO with a header line", func(o, _ map[string]any) { o["purchaseOrderNumber"] = "PO\r\nX-Injected: 1" }),
		reaches("customer 0000000000", func(o, _ map[string]any) { o["customerAccountNumber"] = "0000000000" }),
		reaches("unit empty", func(_, l map[string]any) { l["unit"] = "" }),
		reaches("unit null", func(_, l map[string]any) { l["unit"] = nil }),
	}
}
