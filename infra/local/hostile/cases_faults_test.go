package hostile

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// faultCases: hostile requests while SAP or Dataverse is down. These are the only cases that may answer 503, and
// only where the request needs the system that is down: the documented answer (README #problem-unavailable and
// #problem-throttled) with Retry-After, so a caller tries again later. What the request gets wrong is still its
// 400 before any call; what the ledger alone answers (a replay, a status) is still answered. Nothing is recorded
// on the way: a push that could not read its order has claimed nothing.
//
// No case lets an order past the checks while SAP is down: that push would be recorded and queued, and its retry
// would reach SAP behind the later cases' backs.
func faultCases(w *world) []hcase {
	dvDown := &dvsim.Faults{Error503: 1}
	dvThrottling := &dvsim.Faults{Error429: 1}
	dvResetting := &dvsim.Faults{Reset: 1}
	sapDown := &sapsim.Faults{Down: true}
	unavailable := want{status: http.StatusServiceUnavailable, kind: "unavailable", check: retryAfter}
	throttled := want{status: http.StatusServiceUnavailable, kind: "throttled", check: retryAfter}
	replay := want{status: http.StatusOK, check: answerState(w.done, "written-back")}
	done := want{status: http.StatusOK, check: statusOf(w.done, "written-back")}
	dv := func(cl class, name string, f *dvsim.Faults, r request, wt want, a allowance) hcase {
		return hcase{class: cl, name: name, req: r, want: wt, allow: a, dvFaults: f}
	}
	sap := func(cl class, name string, r request, wt want, a allowance) hcase {
		return hcase{class: cl, name: name, req: r, want: wt, allow: a, faults: sapDown}
	}
	return []hcase{
		dv(ids, "an id nobody has, Dataverse answering 503", dvDown, w.post(byID(newID())), unavailable, readsDV),
		dv(ids, "an id nobody has, Dataverse throttling", dvThrottling, w.post(byID(newID())), throttled, readsDV),
		dv(ids, "an id nobody has, Dataverse resetting connections", dvResetting, w.post(byID(newID())), unavailable, readsDV),
		dv(ids, "the fresh order, Dataverse answering 503", dvDown, w.post(byID(w.fresh)), unavailable, readsDV),
		dv(headers, "Prefer respond-async, Dataverse answering 503", dvDown, w.post(byID(newID())).with("Prefer", "respond-async"), unavailable, readsDV),
		// The ledger knows the pushed order: its replay needs no read of Dynamics.
		dv(shapes, "the pushed order in upper case, Dataverse answering 503", dvDown, w.post(byID(strings.ToUpper(w.done))), replay, readsDV),
		dv(injection, "an id with a quote, Dataverse answering 503", dvDown, w.post(byID(w.done+"'")), invalid("salesorderid"), allowance{}),
		dv(bodies, "an empty object, Dataverse answering 503", dvDown, w.post(`{}`), invalid("salesorderid"), allowance{}),
		dv(ids, "the status of the pushed order, Dataverse answering 503", dvDown, w.keyed(http.MethodGet, "/api/orders/"+w.done), done, allowance{}),
		sap(ids, "an inline order with an id one digit long, SAP down", w.post(w.inline(newID()+"0", nil)), invalid("order/salesorderid"), allowance{}),
		sap(shapes, "an inline order with a bad currency, SAP down", w.post(w.inline(newID(), func(o, _ map[string]any) { o["currency"] = "€" })),
			invalid("order/currency"), allowance{}),
		sap(shapes, "the pushed order, SAP down", w.post(byID(w.done)), replay, readsDV),
		sap(ids, "the status of the rejected order, SAP down", w.keyed(http.MethodGet, "/api/orders/"+w.rejected),
			want{status: http.StatusUnprocessableEntity, kind: "rejected"}, allowance{}),
		sap(headers, "health, SAP down", anon(http.MethodGet, "/api/health"), want{status: http.StatusOK, check: healthReport}, allowance{}),
	}
}

// retryAfter checks that a 503 says when to try again, in whole seconds.
func retryAfter(t *testing.T, r response) {
	t.Helper()
	if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After %q on a %d, want whole seconds", r.header.Get("Retry-After"), r.status)
	}
}
