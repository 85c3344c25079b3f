package hostile

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// orderStatusCases: GET /api/orders/{salesorderid} reads one ledger entry by a GUID and writes nothing. Whatever
// the path holds, an id that is not a GUID is a 400 naming it, never a lookup; a GUID nobody pushed is a 404.
func orderStatusCases(w *world) []hcase {
	get := func(cl class, name, path string, wt want) hcase {
		return hcase{class: cl, name: name, req: w.keyed(http.MethodGet, path), want: wt}
	}
	bad := func(cl class, name, id string) hcase {
		return get(cl, name, "/api/orders/"+id, invalid("salesorderid"))
	}
	done := want{status: http.StatusOK, check: statusOf(w.done, "written-back")}
	queued := want{status: http.StatusAccepted, check: statusOf(w.queued, "accepted")}
	g := w.done
	cases := []hcase{
		get(ids, "the pushed order", "/api/orders/"+g, done),
		get(ids, "the pushed order in upper case", "/api/orders/"+strings.ToUpper(g), done),
		get(ids, "the pushed order with a trailing slash", "/api/orders/"+g+"/", done),
		get(ids, "the pushed order on an upper-case route", "/API/ORDERS/"+g, done),
		get(ids, "the pushed order, percent-encoded", "/api/orders/"+percentAll(g), done),
		get(ids, "a GUID nobody pushed", "/api/orders/"+newID(), notFound()),
		get(ids, "a GUID nobody pushed, in upper case", "/api/orders/"+strings.ToUpper(newID()), notFound()),
		get(ids, "the nil GUID", "/api/orders/00000000-0000-0000-0000-000000000000", notFound()),
		get(ids, "the queued order", "/api/orders/"+w.queued, queued),
		get(ids, "the rejected order", "/api/orders/"+w.rejected, want{status: http.StatusUnprocessableEntity, kind: "rejected",
			check: func(t *testing.T, r response) {
				t.Helper()
				if r.problem == nil || r.problem.StatusURL != statusURL(w.rejected) || len(r.problem.SAPMessages) == 0 {
					t.Errorf("the rejection's status members: %.600s", r.body)
				}
			}}),
		bad(ids, "not a GUID", "not-a-guid"),
		bad(ids, "a number", "12345"),
		bad(ids, "in braces", "{"+g+"}"),
		bad(ids, "in encoded braces", "%7B"+g+"%7D"),
		bad(ids, "without hyphens", strings.ReplaceAll(g, "-", "")),
		bad(ids, "one digit short", g[:35]),
		bad(ids, "one digit long", g+"0"),
		bad(ids, "as a URN", "urn:uuid:"+g),
		bad(ids, "with a trailing space", g+"%20"),
		bad(ids, "with a tab", g+"%09"),
		bad(ids, "with a NUL", g+"%00"),
		bad(ids, "with full-width digits", percentAll(strings.Map(fullWidth, g))),
		bad(ids, "in raw UTF-8", "ü"+g[1:]),
		bad(ids, "with an encoded slash", g[:8]+"%2F"+g[9:]),
		bad(ids, "with an encoded slash after it", g+"%2F"),
		bad(ids, "with an encoded backslash", g+"%5C"),
		bad(ids, "with matrix parameters", g+";v=1"),
		bad(ids, "7 KB long", strings.Repeat("a", 7_000)),
		get(ids, "10 KB long, past the host's request line", "/api/orders/"+strings.Repeat("a", 10_000), byHost(http.StatusRequestURITooLong)),
		bad(ids, "a GUID repeated", g+g),
		get(ids, "dot dot", "/api/orders/..", byHost(http.StatusNotFound)),
		get(ids, "dot dot and back", "/api/orders/../orders/"+g, done),
		get(ids, "encoded dot dot", "/api/orders/%2E%2E/orders/"+g, done),
		get(ids, "a dot segment", "/api/orders/./"+g, done),
		get(ids, "an extra segment", "/api/orders/"+g+"/lines", byHost(http.StatusNotFound)),
		get(ids, "two extra segments", "/api/orders/"+g+"/a/b", byHost(http.StatusNotFound)),
		get(ids, "no id", "/api/orders/", byHost(http.StatusNotFound)),
		get(ids, "a double slash before the id", "/api/orders//"+g, byHost(http.StatusNotFound)),
		get(ids, "a double slash before orders", "/api//orders/"+g, byHost(http.StatusNotFound)),
		get(ids, "a double slash at the start", "//api/orders/"+g, byHost(http.StatusNotFound)),
		get(ids, "a query naming another order", "/api/orders/"+g+"?salesorderid="+w.rejected, done),
		get(ids, "an unknown route prefix", "/apix/orders/"+g, byHost(http.StatusNotFound)),
		bad(injection, "status id with a quote", g[:35]+"'"),
		bad(injection, "status id or 1 eq 1", "'%20or%201%20eq%201"),
		bad(injection, "status id closing the key", g+"'%20or%20PartitionKey%20ne%20'"),
		bad(injection, "status id percent-encoded quote", "%27"),
		bad(injection, "status id a table filter", "PartitionKey%20ne%20''"),
		bad(injection, "status id a closing parenthesis", g+")"),
		bad(injection, "status id unicode quotes", "%E2%80%98"+g[1:35]+"%E2%80%99"),
		bad(injection, "status id a ledger row key", "ledger-salesorder"),
		get(injection, "status with OData options in the query", "/api/orders/"+g+"?$filter=PartitionKey%20ne%20''&$top=1000&$select=*", done),
		{class: auth, name: "status without a key", req: anon(http.MethodGet, "/api/orders/"+g), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "status with a wrong key", req: anon(http.MethodGet, "/api/orders/"+g).with("x-functions-key", "nope"), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "status with ?code=", req: anon(http.MethodGet, "/api/orders/"+g+"?code="+w.app.FunctionKey), want: done},
		{class: auth, name: "status with the master key", req: anon(http.MethodGet, "/api/orders/"+g).with("x-functions-key", w.app.MasterKey), want: done},
		{class: headers, name: "status with a forged Host", req: w.keyed(http.MethodGet, "/api/orders/"+w.queued).with("Host", "evil.example"), want: queued},
		{class: headers, name: "status with X-Forwarded-Host", req: w.keyed(http.MethodGet, "/api/orders/"+g).with("X-Forwarded-Host", "evil.example"), want: done},
		{class: headers, name: "status with a body and a Content-Type", req: w.post(`{"salesorderid":"x"}`).as(http.MethodGet).at("/api/orders/" + g), want: done},
	}
	return append(cases, w.methodCases("/api/orders/"+g, http.MethodGet)...)
}

// statusOf checks a status answer: the order, its state, no-store, and Location (when there is one) and statusUrl
// on the public host.
func statusOf(id, state string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		var s struct {
			SalesOrderID string `json:"salesorderid"`
			State        string `json:"state"`
			StatusURL    string `json:"statusUrl"`
		}
		if err := json.Unmarshal(r.body, &s); err != nil {
			t.Fatalf("status: %v: %.300s", err, r.body)
		}
		if s.SalesOrderID != id || s.State != state || s.StatusURL != statusURL(id) {
			t.Errorf("status %+v, want %s %s at %s", s, id, state, statusURL(id))
		}
		if loc := r.header.Get("Location"); (r.status == http.StatusAccepted) != (loc != "") || loc != "" && loc != statusURL(id) {
			t.Errorf("Location %q on a %d", loc, r.status)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
		}
	}
}

// percentAll writes every byte of s as a %XX escape.
func percentAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("%")
		b.WriteString(strings.ToUpper(string("0123456789abcdef"[s[i]>>4]) + string("0123456789abcdef"[s[i]&15])))
	}
	return b.String()
}
