package hostile

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// orderPushHeaderCases: media types the push does not read are 415s naming Content-Type; Prefer never makes a
// bad request good; no header moves the status URL off the public host name; huge headers are refused or read
// without harm.
func orderPushHeaderCases(w *world) []hcase {
	ct := func(name, value string, wt want) hcase {
		return hcase{class: headers, name: "Content-Type " + name, req: w.post(`{}`).set("Content-Type", value), want: wt}
	}
	ok := invalid("salesorderid") // the media type was accepted; the empty request was not
	replay := func(name string, r request) hcase {
		return hcase{class: headers, name: name, req: r, want: want{status: http.StatusOK, check: answerState(w.done, "written-back")}, allow: readsDV}
	}
	push := w.post(byID(w.done))
	many := w.post(`{}`)
	for i := range 500 {
		many = many.with(fmt.Sprintf("X-Junk-%d", i), "x")
	}
	forged := "00000000-0000-4000-8000-000000000bad"
	return []hcase{
		ct("application/jsonp", "application/jsonp", unsupported()),
		ct("application/json-patch+json", "application/json-patch+json", unsupported()),
		ct("application/merge-patch+json", "application/merge-patch+json", unsupported()),
		ct("text/json", "text/json", unsupported()),
		ct("text/plain", "text/plain", unsupported()),
		ct("application/x-www-form-urlencoded", "application/x-www-form-urlencoded", unsupported()),
		ct("multipart/form-data", "multipart/form-data; boundary=x", unsupported()),
		ct("application/octet-stream", "application/octet-stream", unsupported()),
		ct("application/*", "application/*", unsupported()),
		ct("*/*", "*/*", unsupported()),
		ct("charset=utf-16", "application/json; charset=utf-16", unsupported()),
		ct("charset=iso-8859-1", "application/json; charset=iso-8859-1", unsupported()),
		ct("a charset without a value", "application/json; charset", unsupported()),
		ct("empty", "", unsupported()),
		ct("a bare word", "json", unsupported()),
		ct("charset=UTF-8", "application/json; charset=UTF-8", ok),
		ct("a quoted charset", `application/json;charset="utf-8"`, ok),
		ct("in upper case", "APPLICATION/JSON", ok),
		ct("another parameter", "application/json; odata.metadata=minimal", ok),
		{class: headers, name: "Content-Type missing", req: w.post(`{}`).without("Content-Type"), want: unsupported()},
		{class: headers, name: "Content-Type twice, differing", req: w.post(`{}`).with("Content-Type", "text/plain"), want: unsupported()},
		{class: headers, name: "Content-Type twice, the same", req: w.post(`{}`).with("Content-Type", "application/json"), want: unsupported()},
		{class: headers, name: "Content-Type twice, the bad one first", req: w.post(`{}`).set("Content-Type", "text/plain").with("Content-Type", "application/json"), want: unsupported()},
		{class: headers, name: "Prefer respond-async for an order nobody has", req: w.post(byID(newID())).with("Prefer", "respond-async"), want: notFound(), allow: readsDV},
		{class: headers, name: "Prefer respond-async with a bad request", req: w.post(`{}`).with("Prefer", "respond-async"), want: ok},
		{class: headers, name: "Prefer garbage", req: w.post(`{}`).with("Prefer", ";;;,,,==respond-async=respond-async;"), want: ok},
		{class: headers, name: "Prefer with a bad wait", req: w.post(byID(newID())).with("Prefer", "respond-async, wait=-1e400"), want: notFound(), allow: readsDV},
		{class: headers, name: "Prefer 8 KB long", req: w.post(`{}`).with("Prefer", strings.Repeat("respond-async;", 600)), want: ok},
		replay("Prefer respond-async for a pushed order is a replay", push.with("Prefer", "respond-async")),
		replay("X-Forwarded-Host does not move the status URL", push.with("X-Forwarded-Host", "evil.example").with("X-Forwarded-Proto", "http")),
		replay("Host does not move the status URL", push.with("Host", "evil.example")),
		replay("Host with a port does not move the status URL", push.with("Host", "evil.example:8443")),
		replay("Forwarded does not move the status URL", push.with("Forwarded", "host=evil.example;proto=http;by=x")),
		replay("X-Original-Host and X-Forwarded-Prefix do not move it", push.with("X-Original-Host", "evil.example").
			with("X-Forwarded-Prefix", "/evil").with("X-Original-URL", "//evil.example/api/orders")),
		replay("X-Forwarded-Host of many hosts does not move it", push.with("X-Forwarded-Host", "evil.example, "+publicHost)),
		{class: headers, name: "no Host header", req: w.post(`{}`).bodiless().hostless(), want: byHost(http.StatusBadRequest)},
		{class: headers, name: "two Host headers", req: w.post(`{}`).with("Host", "a.example").with("Host", "b.example"), want: byHost(http.StatusBadRequest)},
		{class: headers, name: "a 16 KB header", req: w.post(`{}`).with("X-Junk", strings.Repeat("j", 16<<10)), want: ok},
		{class: headers, name: "a 64 KB header", req: w.post(`{}`).bodiless().with("X-Junk", strings.Repeat("j", 64<<10)), want: byHost(http.StatusRequestHeaderFieldsTooLarge)},
		{class: headers, name: "a 2 MB header", req: w.post(`{}`).with("X-Junk", strings.Repeat("j", 2<<20)), want: byHost(http.StatusRequestHeaderFieldsTooLarge)},
		{class: headers, name: "500 headers", req: many.bodiless(), want: byHost(http.StatusRequestHeaderFieldsTooLarge)},
		{class: headers, name: "a header name that is not a token", req: w.post(`{}`).bodiless().with("X Junk", "x"), want: byHost(http.StatusBadRequest)},
		// An obsolete line folding may be refused or unfolded (RFC 9112 5.2); the stand-in unfolds it, harmlessly.
		{class: headers, name: "a folded header line", req: w.post(`{}`).with("X-Junk", "a\r\n b"), want: ok},
		{class: headers, name: "Accept application/xml", req: w.post(`{}`).with("Accept", "application/xml"), want: ok},
		{class: headers, name: "X-HTTP-Method-Override", req: w.post(`{}`).with("X-HTTP-Method-Override", "DELETE"), want: ok},
		{class: headers, name: "a forged invocation id", req: w.post(`{}`).with("X-Azure-Functions-InvocationId", forged), want: want{
			status: http.StatusBadRequest, kind: "invalid", field: "salesorderid", check: func(t *testing.T, r response) {
				t.Helper()
				if r.problem != nil && r.problem.Instance == forged {
					t.Errorf("the problem's instance is the caller's forged invocation id")
				}
			}}},
	}
}
