package hostile

import (
	"net/http"
	"strings"
)

// queueCases: hostile messages on ORDER_PUSH_QUEUE. A message that names no order, an order no push recorded, or
// an action there is none of, is kept in the dead letters and acknowledged; one about an order that needs nothing
// more is acknowledged; one the host cannot even decode goes to the poison queue without reaching the handler.
// None reaches SAP or Dataverse, none writes a ledger row. (No message names the queued fixture with action push:
// that is a real push, and it would reach SAP. Nor does one report the pushed order: a report of a completed push
// writes its SAP number to Dynamics again, by design, in case a stale report landed after it.)
func queueCases(w *world) []qcase {
	unknown := newID()
	dl := func(name, body string) qcase {
		return qcase{name: name, body: []byte(body), want: deadLettered, kind: "invalid"}
	}
	gone := func(name, body string) qcase {
		return qcase{name: name, body: []byte(body), want: deadLettered, kind: "not-found"}
	}
	ack := func(name, body string) qcase { return qcase{name: name, body: []byte(body), want: acknowledged} }
	return []qcase{
		dl("garbage", "garbage"),
		dl("a single brace", "{"),
		dl("truncated JSON", `{"salesorderid":"`+unknown[:10]),
		dl("null", "null"),
		dl("an array", "[]"),
		dl("a number", "1"),
		dl("a JSON string of an id", `"`+unknown+`"`),
		dl("the id a number", `{"salesorderid":1}`),
		dl("the id an array", `{"salesorderid":["`+unknown+`"]}`),
		dl("the id with a slash", `{"salesorderid":"a/b"}`),
		dl("the id a path up", `{"salesorderid":"../../`+unknown[6:]+`"}`),
		dl("a GUID and a slash", `{"salesorderid":"`+unknown+`/x"}`),
		dl("a GUID and an encoded slash", `{"salesorderid":"`+unknown+`%2F"}`),
		dl("the id an OData filter", `{"salesorderid":"' or PartitionKey ne '"}`),
		dl("retry a string", `{"salesorderid":"`+w.done+`","retry":"x"}`),
		dl("retry 1e400", `{"salesorderid":"`+w.done+`","retry":1e400}`),
		dl("due a date", `{"salesorderid":"`+w.done+`","due":"tomorrow"}`),
		dl("action an object", `{"salesorderid":"`+w.done+`","action":{"do":"push"}}`),
		dl("an escaped NUL id", `{"salesorderid":"\u0000"}`),
		dl("a byte order mark", "\xef\xbb\xbf"+`{"salesorderid":"`+unknown+`"}`),
		dl("a depth bomb", strings.Repeat("[", 40_000)),
		dl("invalid UTF-8", "\xff\xfe\x00\xc0\xaf"),
		dl("the id given twice, a bad one last", `{"salesorderid":"`+w.done+`","salesorderid":"x"}`),
		dl("a push request body", `{"order":{"salesorderid":"`+unknown+`"}}`),
		dl("47 KB of garbage", strings.Repeat("x", 47<<10)),
		gone("an order nobody pushed", `{"salesorderid":"`+unknown+`","action":"push"}`),
		dl("an unknown action", `{"salesorderid":"`+newID()+`","action":"rm -rf /"}`),
		gone("47 KB with an unknown member", `{"salesorderid":"`+newID()+`","action":"push","pad":"`+strings.Repeat("p", 47<<10-80)+`"}`),
		ack("a write-back of the pushed order", `{"salesorderid":"`+w.done+`","action":"writeback"}`),
		ack("a push of the pushed order, upper case, odd numbers", `{"salesorderid":"`+strings.ToUpper(w.done)+`","action":"push","retry":-5,"due":-1}`),
		ack("a push of the rejected order", `{"salesorderid":"`+w.rejected+`","action":"push"}`),
		ack("a report of the rejected order", `{"salesorderid":"`+w.rejected+`","action":"report"}`),
		ack("a write-back of the queued order", `{"salesorderid":"`+w.queued+`","action":"writeback"}`),
		dl("no action for the queued order", `{"salesorderid":"`+w.queued+`"}`),
		{name: "not base64", body: []byte("not base64 !!"), raw: true, want: poisoned},
		ack("a write-back of the rejected order", `{"salesorderid":"`+w.rejected+`","action":"writeback"}`),
		ack("a push of the pushed order due at the end of time", `{"salesorderid":"`+w.done+`","action":"push","due":9223372036854775807}`),
		ack("a report of the rejected order, retry past int64", `{"salesorderid":"`+w.rejected+`","action":"report","retry":9223372036854775807}`),
		// encoding/json matches member names in any case: the message still says the same thing.
		ack("member names in upper case", `{"SALESORDERID":"`+w.done+`","ACTION":"push"}`),
		gone("a write-back of an order nobody pushed", `{"salesorderid":"`+newID()+`","action":"writeback"}`),
		dl("an action in upper case for the pushed order", `{"salesorderid":"`+w.done+`","action":"WRITEBACK"}`),
		dl("an unknown action for the queued order", `{"salesorderid":"`+w.queued+`","action":"delete"}`),
		dl("an unknown action for the rejected order", `{"salesorderid":"`+w.rejected+`","action":"rm"}`),
		dl("no action for the pushed order", `{"salesorderid":"`+w.done+`"}`),
		dl("an action with a space for the queued order", `{"salesorderid":"`+w.queued+`","action":" push"}`),
		dl("the id in braces", `{"salesorderid":"{`+w.done+`}","action":"push"}`),
		dl("trailing garbage", `{"salesorderid":"`+w.done+`","action":"push"} x`),
		dl("two messages in one", `{"salesorderid":"`+w.done+`","action":"push"}{"salesorderid":"`+w.done+`","action":"push"}`),
		{name: "base64 of binary", body: []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}, want: deadLettered, kind: "invalid"},
		{name: "admin call: an unknown action for the pushed order", body: []byte(`{"salesorderid":"` + w.done + `","action":"bogus"}`), admin: true,
			want: deadLettered, kind: "invalid"},
		{name: "admin call: garbage", body: []byte("garbage"), admin: true, want: deadLettered, kind: "invalid"},
		{name: "admin call: empty", body: []byte(""), admin: true, want: deadLettered, kind: "invalid"},
		{name: "admin call: an order nobody pushed", body: []byte(`{"salesorderid":"` + newID() + `","action":"push"}`), admin: true, want: deadLettered, kind: "not-found"},
	}
}

// queueAdminCases: the admin call that runs the queue function now wants the master key.
func queueAdminCases(w *world) []hcase {
	admin := func(r request) request {
		r.method, r.target = http.MethodPost, "/admin/functions/orderpushqueue"
		r.body = []byte(`{"input":"garbage"}`)
		return r.set("Content-Type", "application/json")
	}
	return []hcase{
		{class: auth, name: "admin call without a key", req: admin(request{}), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "admin call with the function key", req: admin(request{}).with("x-functions-key", w.app.FunctionKey), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "admin call with the function key in ?code=", req: admin(request{}).at("/admin/functions/orderpushqueue?code=" + w.app.FunctionKey),
			want: byHost(http.StatusUnauthorized)},
		{class: methods, name: "admin call for an HTTP function", req: admin(request{}).with("x-functions-key", w.app.MasterKey).at("/admin/functions/orderpush"),
			want: byHost(http.StatusBadRequest)},
		{class: methods, name: "admin call for no function", req: admin(request{}).with("x-functions-key", w.app.MasterKey).at("/admin/functions/..%2Forderpush"),
			want: byHost(http.StatusNotFound)},
	}
}
