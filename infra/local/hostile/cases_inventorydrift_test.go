package hostile

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// inventoryDriftCases: GET /api/inventory/drift reads SAP and Dataverse and writes nothing; only ?limit= is read,
// a whole number from 1 to 1000 given once. POST /api/inventory/drift/fix queues a sync run by design, so its
// cases are the ones that must not reach it: no key, a wrong key, other methods, other paths.
func inventoryDriftCases(w *world) []hcase {
	const path, fix = "/api/inventory/drift", "/api/inventory/drift/fix"
	get := func(cl class, name, target string, wt want) hcase {
		// The report reads SAP and Dataverse by design; what it must not do is write to either, or to storage.
		return hcase{class: cl, name: "inventory drift " + name, req: w.keyed(http.MethodGet, target), want: wt,
			allow: allowance{reachSAP: true, reachDV: true}}
	}
	ok := want{status: http.StatusOK, check: driftReport}
	cases := []hcase{
		get(ids, "plain", path, ok),
		get(ids, "limit 1", path+"?limit=1", ok),
		get(ids, "upper-case route", "/API/INVENTORY/DRIFT", ok),
		get(ids, "an extra segment", path+"/all", byHost(http.StatusNotFound)),
		get(ids, "an encoded slash", "/api/inventory%2Fdrift", byHost(http.StatusNotFound)),
		get(shapes, "limit 0", path+"?limit=0", invalid("limit")),
		get(shapes, "limit 1001", path+"?limit=1001", invalid("limit")),
		get(shapes, "limit negative", path+"?limit=-1", invalid("limit")),
		get(shapes, "limit with a plus", path+"?limit=%2B1", invalid("limit")),
		get(shapes, "limit twice", path+"?limit=1&limit=2", invalid("limit")),
		get(shapes, "limit in full-width digits", path+"?limit="+percentAll(strings.Map(fullWidth, "7")), invalid("limit")),
		get(injection, "limit an OData filter", path+"?limit=1%20or%201%20eq%201", invalid("limit")),
		get(injection, "a $filter and a material beside it", path+"?$filter=Product%20eq%20'x'&material=SIM0000001'%20or%20'1", ok),
		{class: auth, name: "inventory drift without a key", req: anon(http.MethodGet, path), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "inventory drift with a wrong key", req: anon(http.MethodGet, path).with("x-functions-key", "nope"), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "inventory drift fix without a key", req: anon(http.MethodPost, fix), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "inventory drift fix with a wrong key", req: anon(http.MethodPost, fix).with("x-functions-key", "nope"), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "inventory drift fix with a wrong ?code=", req: anon(http.MethodPost, fix+"?code=nope"), want: byHost(http.StatusUnauthorized)},
		{class: ids, name: "inventory drift fix with an extra segment", req: w.keyed(http.MethodPost, fix+"/now"), want: byHost(http.StatusNotFound)},
		{class: ids, name: "inventory drift fix with an encoded slash", req: w.keyed(http.MethodPost, "/api/inventory/drift%2Ffix"), want: byHost(http.StatusNotFound)},
	}
	cases = append(cases, w.methodCases(path, http.MethodGet)...)
	for _, c := range w.methodCases(fix, http.MethodPost) {
		if c.req.method == http.MethodGet {
			continue // GET fix is a path of the report's route? no: the report's route is exact; it is a host 404 too
		}
		cases = append(cases, c)
	}
	cases = append(cases, get(methods, "GET of the fix", fix, byHost(http.StatusNotFound)))
	return append(cases, inventoryDriftFixCases(w)...)
}

// inventoryDriftFixCases reach POST /api/inventory/drift/fix while SAP or Dataverse is down: the fix compares
// before it writes, so it answers the documented 503 (throttled with Dataverse's Retry-After) and has cleared
// no fingerprint, moved no checkpoint and queued no run. (A fix that succeeds queues a sync run by design.)
func inventoryDriftFixCases(w *world) []hcase {
	const fix = "/api/inventory/drift/fix"
	unavailable := want{status: http.StatusServiceUnavailable, kind: "unavailable", check: retryAfter}
	throttled := want{status: http.StatusServiceUnavailable, kind: "throttled", check: retryAfter}
	reads := allowance{reachSAP: true, reachDV: true}
	dvDown, dvThrottling, dvResetting := &dvsim.Faults{Error503: 1}, &dvsim.Faults{Error429: 1}, &dvsim.Faults{Reset: 1}
	sapDown := &sapsim.Faults{Down: true}
	post := w.keyed(http.MethodPost, fix)
	c := func(cl class, name string, r request, wt want, dv *dvsim.Faults, sf *sapsim.Faults) hcase {
		return hcase{class: cl, name: "inventory drift fix " + name, req: r, want: wt, allow: reads, dvFaults: dv, faults: sf}
	}
	return []hcase{
		c(ids, "with Dataverse answering 503", post, unavailable, dvDown, nil),
		c(ids, "with Dataverse throttling", post, throttled, dvThrottling, nil),
		c(ids, "with Dataverse resetting connections", post, unavailable, dvResetting, nil),
		c(ids, "with SAP down", post, unavailable, nil, sapDown),
		c(ids, "on an upper-case route, SAP down", w.keyed(http.MethodPost, "/API/INVENTORY/DRIFT/FIX"), unavailable, nil, sapDown),
		c(bodies, "with a body it does not read, SAP down", post.withBody(`{"materials":["*"]}`).with("Content-Type", "application/json"), unavailable, nil, sapDown),
		c(bodies, "with garbage for a body, Dataverse answering 503", post.withBody("garbage"), unavailable, dvDown, nil),
		c(injection, "with a query that means nothing to it, SAP down", w.keyed(http.MethodPost, fix+"?materials=SIM'%20or%20'1&all=true"), unavailable, nil, sapDown),
		c(headers, "with a forged Host, SAP down", post.with("Host", "evil.example"), unavailable, nil, sapDown),
		c(headers, "with X-HTTP-Method-Override: DELETE, Dataverse throttling", post.with("X-HTTP-Method-Override", "DELETE"), throttled, dvThrottling, nil),
	}
}

// driftReport checks the answer is a drift report.
func driftReport(t *testing.T, r response) {
	t.Helper()
	var a struct {
		Products    *struct{ Compared int64 } `json:"products"`
		Differences []json.RawMessage         `json:"differences"`
	}
	if err := json.Unmarshal(r.body, &a); err != nil || a.Products == nil || a.Differences == nil || a.Products.Compared == 0 {
		t.Errorf("not a drift report of SAP's products: %v %.300s", err, r.body)
	}
}
