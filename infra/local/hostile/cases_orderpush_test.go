package hostile

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// orderPushAuthCases: POST /api/orders wants the function (or master) key, in x-functions-key or ?code=, and
// nothing else. An accepted key reaches the function, which refuses the empty request: no key is ever enough to
// write anything by itself.
func orderPushAuthCases(w *world) []hcase {
	fk, mk := w.app.FunctionKey, w.app.MasterKey
	body := `{}`
	keyless := w.post(body).without("x-functions-key")
	accepted := invalid("salesorderid")
	denied := byHost(http.StatusUnauthorized)
	return []hcase{
		{class: auth, name: "no key", req: keyless, want: denied},
		{class: auth, name: "wrong key", req: keyless.with("x-functions-key", "not-the-key"), want: denied},
		{class: auth, name: "empty key header", req: keyless.with("x-functions-key", ""), want: denied},
		{class: auth, name: "key as a bearer token", req: keyless.with("Authorization", "Bearer "+fk), want: denied},
		{class: auth, name: "key as basic password", req: keyless.with("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("user:"+fk))), want: denied},
		{class: auth, name: "key in a cookie", req: keyless.with("Cookie", "x-functions-key="+fk+"; code="+fk), want: denied},
		{class: auth, name: "key in another header", req: keyless.with("x-functions-code", fk).with("x-api-key", fk), want: denied},
		{class: auth, name: "key in the body", req: w.post(`{"code":"` + fk + `"}`).without("x-functions-key"), want: denied},
		{class: auth, name: "key header in upper case", req: keyless.with("X-FUNCTIONS-KEY", fk), want: accepted},
		{class: auth, name: "key in ?code=", req: keyless.at("/api/orders?code=" + fk), want: accepted},
		{class: auth, name: "wrong ?code=", req: keyless.at("/api/orders?code=nope"), want: denied},
		{class: auth, name: "empty ?code=", req: keyless.at("/api/orders?code="), want: denied},
		{class: auth, name: "?code= without a value", req: keyless.at("/api/orders?code"), want: denied},
		{class: auth, name: "wrong ?code= then the key", req: keyless.at("/api/orders?code=nope&code=" + fk), want: denied},
		{class: auth, name: "?code= percent-encoded", req: keyless.at("/api/orders?code=" + strings.ReplaceAll(fk, "-", "%2D")), want: accepted},
		{class: auth, name: "?code= with a trailing space", req: keyless.at("/api/orders?code=" + fk + "%20"), want: denied},
		{class: auth, name: "the header wins over a good ?code=", req: keyless.with("x-functions-key", "nope").at("/api/orders?code=" + fk), want: denied},
		{class: auth, name: "empty header falls back to ?code=", req: keyless.with("x-functions-key", "").at("/api/orders?code=" + fk), want: accepted},
		{class: auth, name: "master key", req: keyless.with("x-functions-key", mk), want: accepted},
		{class: auth, name: "master key in ?code=", req: keyless.at("/api/orders?code=" + mk), want: accepted},
		{class: auth, name: "key with spaces around it", req: keyless.with("x-functions-key", "   "+fk+"  "), want: accepted},
		{class: auth, name: "key with a tab inside", req: keyless.with("x-functions-key", fk[:3]+"\t"+fk[3:]), want: denied},
		{class: auth, name: "key with a no-break space", req: keyless.with("x-functions-key", fk+"\u00a0"), want: denied},
		{class: auth, name: "key with a Cyrillic look-alike", req: keyless.with("x-functions-key", strings.Replace(fk, "e", "\u0435", 1)), want: denied},
		{class: auth, name: "key in full-width letters", req: keyless.with("x-functions-key", "\uff4c"+fk[1:]), want: denied},
		{class: auth, name: "key with a NUL byte", req: keyless.bodiless().with("x-functions-key", fk+"\x00"), want: byHost(http.StatusBadRequest)},
		{class: auth, name: "key cut short", req: keyless.with("x-functions-key", fk[:len(fk)-1]), want: denied},
		{class: auth, name: "key with a suffix", req: keyless.with("x-functions-key", fk+"x"), want: denied},
		{class: auth, name: "two key headers, the wrong one first", req: keyless.with("x-functions-key", "nope").with("x-functions-key", fk), want: denied},
	}
}

// orderPushBodyCases: bodies that are not one JSON object of the request's shape are 400s naming the body, and
// nothing is read, recorded or sent.
func orderPushBodyCases(w *world) []hcase {
	c := func(name, body string, wt want) hcase {
		return hcase{class: bodies, name: name, req: w.post(body), want: wt}
	}
	// Past the decoder's depth limit (10,000) and within HTTP_MAX_BODY_BYTES.
	deep := strings.Repeat("[", 30_000) + strings.Repeat("]", 30_000)
	deepObject := strings.Repeat(`{"":`, 12_000) + "{}" + strings.Repeat("}", 12_000)
	return []hcase{
		c("empty", "", invalid(whole)),
		c("whitespace", " \t\r\n ", invalid(whole)),
		c("null", "null", invalid("salesorderid")),
		c("true", "true", invalid(whole)),
		c("a number", "42", invalid(whole)),
		c("a string", `"`+w.done+`"`, invalid(whole)),
		c("an empty array", "[]", invalid(whole)),
		c("an array of a request", "["+byID(w.done)+"]", invalid(whole)),
		c("an empty object", "{}", invalid("salesorderid")),
		c("array depth bomb", deep, invalid(whole)),
		c("object depth bomb", deepObject, invalid(whole)),
		c("trailing garbage", byID(w.done)+" x", invalid(whole)),
		c("trailing brace", byID(w.done)+"}", invalid(whole)),
		c("two objects", byID(w.done)+byID(w.fresh), invalid(whole)),
		c("two objects on two lines", byID(w.done)+"\n"+byID(w.fresh)+"\n", invalid(whole)),
		c("a comment", `{/* push */"salesorderid":"`+w.done+`"}`, invalid(whole)),
		c("a line comment", "// push\n"+byID(w.done), invalid(whole)),
		c("single quotes", `{'salesorderid':'`+w.done+`'}`, invalid(whole)),
		c("unquoted member", `{salesorderid:"`+w.done+`"}`, invalid(whole)),
		c("trailing comma", `{"salesorderid":"`+w.done+`",}`, invalid(whole)),
		c("duplicate member", `{"salesorderid":"`+w.done+`","salesorderid":"`+w.fresh+`"}`, invalid("salesorderid")),
		c("duplicate member in other case", `{"salesorderid":"`+w.done+`","SalesOrderId":"`+w.fresh+`"}`, invalid("SalesOrderId")),
		c("duplicate inline member", strings.TrimSuffix(w.inline(newID(), nil), "}")+`,"order":{}}`, invalid("order")),
		// The host drops a leading UTF-8 byte order mark as it reads the body as text.
		{class: bodies, name: "a byte order mark", req: w.post("\xef\xbb\xbf" + byID(w.done)),
			want: want{status: http.StatusOK, check: answerState(w.done, "written-back")}, allow: readsDV},
		c("a byte order mark twice", "\xef\xbb\xbf\xef\xbb\xbf"+byID(w.done), invalid(whole)),
		c("invalid UTF-8 in the id", "{\"salesorderid\":\"\xff\xfe"+w.done[2:]+"\"}", invalid("salesorderid")),
		c("invalid UTF-8 outside strings", "{\xff\"salesorderid\":\""+w.done+"\"}", invalid(whole)),
		c("NUL in the id", "{\"salesorderid\":\""+w.done+"\x00\"}", invalid(whole)),
		c("NUL after the object", byID(w.done)+"\x00", invalid(whole)),
		c("NUL before the object", "\x00"+byID(w.done), invalid(whole)),
		c("unterminated string", `{"salesorderid":"`+w.done, invalid(whole)),
		c("unterminated object", `{"salesorderid":"`+w.done+`"`, invalid(whole)),
		c("an escape cut short", `{"salesorderid":"\u00`, invalid(whole)),
		c("a huge unknown member name", `{"`+strings.Repeat("n", 60_000)+`":1}`, want{status: http.StatusBadRequest, kind: "invalid",
			field: strings.Repeat("n", 64) + "…", check: shortAnswer(2000)}),
		c("an unknown member", `{"salesorderid":"`+w.done+`","force":true}`, invalid("force")),
		c("a NaN", `{"salesorderid":NaN}`, invalid(whole)),
		c("JSON in a string", `"{\"salesorderid\":\"`+w.done+`\"}"`, invalid(whole)),
		c("form-encoded", "salesorderid="+w.done, invalid(whole)),
		c("XML", "<salesorderid>"+w.done+"</salesorderid>", invalid(whole)),
	}
}

// shortAnswer checks that an answer echoing hostile input stays small.
func shortAnswer(n int) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		if len(r.body) > n {
			t.Errorf("a %d-byte answer echoes the input; want at most %d", len(r.body), n)
		}
	}
}
