package hostile

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"unicode/utf16"
)

// orderPushSizeCases: bodies at and over HTTP_MAX_BODY_BYTES (the handler's 413 problem) and over the host's
// own limit (the host's bare 413, the function never run); lengths counted in characters where SAP counts them;
// long strings everywhere, answered briefly.
func orderPushSizeCases(w *world) []hcase {
	tooLarge := want{status: http.StatusRequestEntityTooLarge, kind: "payload-too-large"}
	long := strings.Repeat("L", 60_000)
	longField := func(name, field string, edit func(o, l map[string]any)) hcase {
		return hcase{class: sizes, name: "a 60 KB " + name, req: w.post(w.inline(newID(), edit)),
			want: want{status: http.StatusBadRequest, kind: "invalid", field: field, check: shortAnswer(4000)}}
	}
	refused := func(name string, edit func(o, l map[string]any)) hcase {
		oid := newID()
		return hcase{class: sizes, name: name, req: w.post(w.inline(oid, edit)), want: rejectedBySAP("V1/320"), allow: reachesSAP(oid)}
	}
	overHost := w.post(pad(`{}`, hostLimit+1))
	overHost.expect = true
	declared := w.post(`{}`)
	declared.length, declared.expect = 10<<30, true
	umlauts := strings.Repeat("Ä", 35)
	return []hcase{
		{class: sizes, name: "body at HTTP_MAX_BODY_BYTES", req: w.post(pad(`{}`, maxBody)), want: invalid("salesorderid")},
		{class: sizes, name: "body one byte over HTTP_MAX_BODY_BYTES", req: w.post(pad(`{}`, maxBody+1)), want: tooLarge},
		{class: sizes, name: "body over HTTP_MAX_BODY_BYTES in characters of two bytes", req: w.post(`{"salesorderid":"` + strings.Repeat("é", maxBody/2) + `"}`), want: tooLarge},
		{class: sizes, name: "body within the limit that grows sixfold in the invocation", req: w.post(`{"salesorderid":"` + strings.Repeat("\x01", maxBody-20) + `"}`), want: invalid(whole)},
		{class: sizes, name: "body at the host's limit", req: w.post(pad(`{}`, hostLimit)), want: tooLarge},
		{class: sizes, name: "body one byte over the host's limit", req: w.post(pad(`{}`, hostLimit+1)), want: byHost(http.StatusRequestEntityTooLarge)},
		{class: sizes, name: "body over the host's limit, sent after 100-continue", req: overHost, want: byHost(http.StatusRequestEntityTooLarge)},
		{class: sizes, name: "10 GB declared, sent after 100-continue", req: declared, want: byHost(http.StatusRequestEntityTooLarge)},
		refused("PO of 35 characters of two bytes", func(o, _ map[string]any) { o["purchaseOrderNumber"] = umlauts }),
		// SAP counts UTF-16 code units: a character outside the BMP takes two of the PO's 35 positions.
		refused("PO of 17 characters of four bytes and one, 35 positions", func(o, _ map[string]any) {
			o["purchaseOrderNumber"] = strings.Repeat("\U0001F600", 17) + "P"
		}),
		{class: sizes, name: "PO of 18 characters of four bytes, 36 positions", req: w.post(w.inline(newID(), func(o, _ map[string]any) {
			o["purchaseOrderNumber"] = strings.Repeat("\U0001F600", 18)
		})), want: invalid("purchaseOrderNumber")},
		refused("customer of 10 characters of two bytes", func(o, _ map[string]any) { o["customerAccountNumber"] = strings.Repeat("Ö", 10) }),
		{class: sizes, name: "PO of 36 characters", req: w.post(w.inline(newID(), func(o, _ map[string]any) { o["purchaseOrderNumber"] = strings.Repeat("P", 36) })),
			want: invalid("purchaseOrderNumber")},
		{class: sizes, name: "PO of 36 characters of two bytes", req: w.post(w.inline(newID(), func(o, _ map[string]any) { o["purchaseOrderNumber"] = umlauts + "Ä" })),
			want: invalid("purchaseOrderNumber")},
		{class: sizes, name: "customer of 11 characters", req: w.post(w.inline(newID(), func(o, _ map[string]any) { o["customerAccountNumber"] = "12345678901" })),
			want: invalid("customerAccountNumber")},
		{class: sizes, name: "material of 41 characters", req: w.post(w.inline(newID(), func(_, l map[string]any) { l["productNumber"] = strings.Repeat("M", 41) })),
			want: invalid("lines/0/productNumber")},
		func() hcase {
			oid := newID()
			return hcase{class: sizes, name: "material of 40 characters of two bytes", req: w.post(w.inline(oid, func(_, l map[string]any) {
				l["productNumber"] = strings.Repeat("Ü", 40)
			})), want: unknownMaterial(), allow: reachesSAP(oid)}
		}(),
		longField("salesorderid", "order/salesorderid", func(o, _ map[string]any) { o["salesorderid"] = long }),
		longField("customer", "customerAccountNumber", func(o, _ map[string]any) { o["customerAccountNumber"] = long }),
		longField("PO", "purchaseOrderNumber", func(o, _ map[string]any) { o["purchaseOrderNumber"] = long }),
		longField("date", "order/requestedDeliveryDate", func(o, _ map[string]any) { o["requestedDeliveryDate"] = long }),
		longField("currency", "order/currency", func(o, _ map[string]any) { o["currency"] = long }),
		longField("payment terms", "paymentTerms", func(o, _ map[string]any) { o["paymentTerms"] = long }),
		longField("material", "lines/0/productNumber", func(_, l map[string]any) { l["productNumber"] = long }),
		longField("unit", "lines/0/unit", func(_, l map[string]any) { l["unit"] = long }),
		longField("quantity", "lines/0/quantity", func(_, l map[string]any) { l["quantity"] = strings.Repeat("9", 60_000) }),
		{class: sizes, name: "60 KB in every member at once", req: w.post(w.inline(newID(), func(o, l map[string]any) {
			for _, k := range []string{"customerAccountNumber", "purchaseOrderNumber", "paymentTerms"} {
				o[k] = long[:9000]
			}
			l["productNumber"], l["unit"] = long[:9000], long[:9000]
		})), want: want{status: http.StatusBadRequest, kind: "invalid", field: "purchaseOrderNumber", check: shortAnswer(4000)}},
		refused("a 60 KB order number", func(o, _ map[string]any) { o["ordernumber"] = long }),
	}
}

// orderPushEncodingCases: framing and encodings the push cannot read are named for what they are (411 for a
// chunked body the host drops, 415 for a compressed one); escapes that decode to the same text are that text;
// broken ones are the caller's 400.
func orderPushEncodingCases(w *world) []hcase {
	chunked := w.post(byID(w.done))
	chunked.chunked = true
	emptyChunked := w.post("")
	emptyChunked.chunked = true
	overChunked := w.post(pad(`{}`, hostLimit+10_000))
	overChunked.chunked = true
	cut := w.post(byID(w.done))
	cut.length = len(cut.body) + 100
	lengthRequired := want{status: http.StatusLengthRequired, kind: "length-required"}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(byID(w.done)))
	zw.Close()
	compressed := want{status: http.StatusUnsupportedMediaType, kind: "unsupported-media-type", field: "Content-Encoding"}
	replay := want{status: http.StatusOK, check: answerState(w.done, "written-back")}
	utf16le := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(byID(w.done))) {
		utf16le = append(utf16le, byte(u), byte(u>>8))
	}
	enc := func(name string, r request, wt want) hcase {
		return hcase{class: encodings, name: name, req: r, want: wt}
	}
	return []hcase{
		enc("chunked", chunked, lengthRequired),
		enc("chunked and empty", emptyChunked, lengthRequired),
		enc("chunked over the host's limit", overChunked, byHost(http.StatusRequestEntityTooLarge)),
		// Transfer-Encoding wins over Content-Length (RFC 9112 6.3): it is a chunked body, which the host drops.
		enc("chunked with a Content-Length too", chunked.with("Content-Length", "5"), lengthRequired),
		// The invocation starts as the body streams in, so it runs; the answer is the host's.
		enc("a body cut short of its Content-Length", cut, want{status: http.StatusBadRequest}),
		enc("two Content-Lengths", w.post(`{}`).with("Content-Length", "3"), byHost(http.StatusBadRequest)),
		enc("gzip", w.post(gz.String()).with("Content-Encoding", "gzip"), compressed),
		enc("gzip declared, plain sent", w.post(byID(w.done)).with("Content-Encoding", "gzip"), compressed),
		enc("br", w.post(`{}`).with("Content-Encoding", "br"), compressed),
		enc("gzip, identity", w.post(`{}`).with("Content-Encoding", "gzip, identity"), compressed),
		enc("identity", w.post(`{}`).with("Content-Encoding", "identity"), invalid("salesorderid")),
		{class: encodings, name: "an escaped member name", req: w.post(`{"\u0073ales\u006Frderid":"` + w.done + `"}`), want: replay, allow: readsDV},
		{class: encodings, name: "an escaped id", req: w.post(`{"salesorderid":"` + escapeAll(w.done) + `"}`), want: replay, allow: readsDV},
		enc("a lone high surrogate", w.post(`{"salesorderid":"\ud800`+w.done[1:]+`"}`), invalid("salesorderid")),
		enc("a lone low surrogate", w.post(w.inline(newID(), func(o, _ map[string]any) { o["currency"] = raw(`"\udc00UR"`) })), invalid("order/currency")),
		enc("surrogates reversed", w.post(`{"salesorderid":"\udc00\ud800`+w.done[2:]+`"}`), invalid("salesorderid")),
		enc("overlong UTF-8", w.post("{\"salesorderid\":\"\xc0\xaf"+w.done[2:]+"\"}"), invalid("salesorderid")),
		enc("UTF-8 of a surrogate", w.post("{\"salesorderid\":\"\xed\xa0\x80"+w.done[1:]+"\"}"), invalid("salesorderid")),
		enc("an escaped NUL", w.post(`{"salesorderid":"`+w.done[:35]+`\u0000"}`), invalid("salesorderid")),
		enc("a zero-width space", w.post(`{"salesorderid":"`+w.done+"\u200b"+`"}`), invalid("salesorderid")),
		enc("UTF-16 with a byte order mark", w.post(string(utf16le)), invalid(whole)),
		enc("UTF-16 declared", w.post(string(utf16le)).set("Content-Type", "application/json; charset=utf-16"), unsupported()),
		enc("a percent-encoded route", w.post(`{}`).at("/api/%6Frders"), invalid("salesorderid")),
		enc("an encoded slash in the route", w.post(`{}`).at("/api%2Forders"), byHost(http.StatusNotFound)),
		enc("raw UTF-8 in the query", w.post(`{}`).at("/api/orders?x=ü"), invalid("salesorderid")),
		enc("invalid UTF-8 in the query", w.post(`{}`).at("/api/orders?x=%FF%FE&y=%C0%AF"), invalid("salesorderid")),
		enc("a broken escape in the query", w.post(`{}`).at("/api/orders?x=%G1%"), invalid("salesorderid")),
	}
}

// escapeAll writes every character of s as a \u escape.
func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(`\u00`)
		b.WriteString(strings.ToLower(string("0123456789ABCDEF"[r>>4])))
		b.WriteString(strings.ToLower(string("0123456789ABCDEF"[r&15])))
	}
	return b.String()
}
