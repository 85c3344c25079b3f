package hostile

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// healthCases: GET /api/health (anonymous) reports the version and storage, reads storage and writes nothing,
// and echoes nothing of the request.
func healthCases(w *world) []hcase {
	const path = "/api/health"
	ok := want{status: http.StatusOK, check: healthReport}
	get := func(cl class, name string, r request, wt want) hcase {
		return hcase{class: cl, name: "health " + name, req: r, want: wt}
	}
	plain := anon(http.MethodGet, path)
	cases := []hcase{
		get(headers, "plain", plain, ok),
		get(headers, "with a forged Host", plain.with("Host", "evil.example"), ok),
		get(headers, "with a 16 KB header", plain.with("X-Junk", strings.Repeat("j", 16<<10)), ok),
		get(headers, "with a 64 KB header", plain.with("X-Junk", strings.Repeat("j", 64<<10)), byHost(http.StatusRequestHeaderFieldsTooLarge)),
		get(headers, "with Accept application/xml", plain.with("Accept", "application/xml"), ok),
		get(headers, "with a body", plain.with("Content-Type", "application/json").withBody(`{"verbose":true}`), ok),
		get(auth, "with the master key", plain.with("x-functions-key", w.app.MasterKey), ok),
		get(auth, "with the function key", plain.with("x-functions-key", w.app.FunctionKey), ok),
		get(auth, "with a wrong key", plain.with("x-functions-key", "nope"), ok),
		get(ids, "with a query", anon(http.MethodGet, path+"?verbose=true&$expand=*&code=nope"), ok),
		get(ids, "in upper case", anon(http.MethodGet, "/API/HEALTH"), ok),
		get(ids, "with a trailing slash", anon(http.MethodGet, path+"/"), ok),
		get(ids, "percent-encoded", anon(http.MethodGet, "/%61pi/%68ealth"), ok),
		get(ids, "with an extra segment", anon(http.MethodGet, path+"/storage"), byHost(http.StatusNotFound)),
		get(ids, "with an encoded slash", anon(http.MethodGet, "/api%2Fhealth"), byHost(http.StatusNotFound)),
		get(ids, "a path up out of the app", anon(http.MethodGet, "/api/../../health"), byHost(http.StatusNotFound)),
	}
	return append(cases, w.methodCases(path, http.MethodGet)...)
}

// healthReport checks the answer: status ok, storage answering, and nothing more than the report.
func healthReport(t *testing.T, r response) {
	t.Helper()
	var rep struct {
		Status string `json:"status"`
		Checks map[string]struct {
			OK bool `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(r.body, &rep); err != nil {
		t.Fatalf("the report: %v: %.300s", err, r.body)
	}
	if rep.Status != "ok" || !rep.Checks["storage"].OK {
		t.Errorf("report %s", r.body)
	}
	if strings.Contains(string(r.body), "evil") || strings.Contains(string(r.body), "nope") {
		t.Errorf("the report echoes the request: %s", r.body)
	}
}
