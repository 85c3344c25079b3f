package hostile

import (
	"net/http"
	"slices"
)

// allMethods are the methods tried on every route: each route answers only those its function.json lists, and
// the host answers every other with 404 before the function runs.
var allMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace, "PROPFIND", "post", "get"}

// methodCases are the refused methods on one route, with the key (and a body, so a method that reads one could).
func (w *world) methodCases(route string, allowed ...string) []hcase {
	var out []hcase
	for _, m := range allMethods {
		if slices.Contains(allowed, m) {
			continue
		}
		r := w.keyed(m, route)
		if m != http.MethodGet && m != http.MethodHead && m != http.MethodTrace {
			r = w.post(byID(w.done)).as(m).at(route)
		}
		out = append(out, hcase{class: methods, name: m + " " + route, req: r, want: byHost(http.StatusNotFound)})
	}
	return out
}

// orderPushMethodCases: POST only on /api/orders; a method override header changes nothing.
func orderPushMethodCases(w *world) []hcase {
	cases := w.methodCases("/api/orders", http.MethodPost)
	return append(cases,
		hcase{class: methods, name: "GET /api/orders with X-HTTP-Method-Override: POST", req: w.keyed(http.MethodGet, "/api/orders").
			with("X-HTTP-Method-Override", "POST"), want: byHost(http.StatusNotFound)},
		hcase{class: methods, name: "POST /api/orders/", req: w.post(`{}`).at("/api/orders/"), want: invalid("salesorderid")},
	)
}
