package hostile

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// inventoryRunsCases: GET /api/inventory/runs reads the sync's run log and writes nothing. Only ?last= is read:
// anything but a whole number from 1 to 100, given once, is a 400 naming it; other parameters are ignored, never
// passed on to the table query.
func inventoryRunsCases(w *world) []hcase {
	const path = "/api/inventory/runs"
	get := func(cl class, name, target string, wt want) hcase {
		return hcase{class: cl, name: "inventory runs " + name, req: w.keyed(http.MethodGet, target), want: wt}
	}
	ok := want{status: http.StatusOK, check: runList}
	cases := []hcase{
		get(ids, "plain", path, ok),
		get(ids, "last 1", path+"?last=1", ok),
		get(ids, "last 100", path+"?last=100", ok),
		get(ids, "upper-case route", "/API/INVENTORY/RUNS", ok),
		get(ids, "with a trailing slash", path+"/", ok),
		get(ids, "an extra segment", path+"/latest", byHost(http.StatusNotFound)),
		get(ids, "an encoded slash", "/api/inventory%2Fruns", byHost(http.StatusNotFound)),
		get(shapes, "last 0", path+"?last=0", invalid("last")),
		get(shapes, "last 101", path+"?last=101", invalid("last")),
		get(shapes, "last negative", path+"?last=-5", invalid("last")),
		get(shapes, "last a fraction", path+"?last=1.5", invalid("last")),
		get(shapes, "last past int64", path+"?last=9223372036854775808", invalid("last")),
		get(shapes, "last empty", path+"?last=", invalid("last")),
		get(shapes, "last with a plus", path+"?last=%2B5", invalid("last")),
		get(shapes, "last given twice", path+"?last=1&last=2", invalid("last")),
		get(shapes, "last in full-width digits", path+"?last="+percentAll(strings.Map(fullWidth, "5")), invalid("last")),
		get(injection, "last an OData filter", path+"?last=1%20or%20PartitionKey%20ne%20''", invalid("last")),
		get(injection, "a $filter beside it", path+"?$filter=PartitionKey%20ne%20''&$top=1000", ok),
		get(injection, "a table name beside it", path+"?table=integrationstate&partition=checkpoint", ok),
		{class: auth, name: "inventory runs without a key", req: anon(http.MethodGet, path), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "inventory runs with a wrong key", req: anon(http.MethodGet, path).with("x-functions-key", "nope"),
			want: byHost(http.StatusUnauthorized)},
		{class: headers, name: "inventory runs with a forged Host", req: w.keyed(http.MethodGet, path).with("Host", "evil.example"), want: ok},
	}
	return append(cases, w.methodCases(path, http.MethodGet)...)
}

// runList checks the answer is the run list (an empty one: the suite's world never runs the sync).
func runList(t *testing.T, r response) {
	t.Helper()
	var a struct {
		Runs []json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(r.body, &a); err != nil || a.Runs == nil {
		t.Errorf("not a run list: %v %.300s", err, r.body)
	}
}
