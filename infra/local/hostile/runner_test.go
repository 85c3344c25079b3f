package hostile

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/problem"
)

// class groups cases by what they attack; the suite prints a count per class.
type class string

const (
	auth      class = "auth"
	bodies    class = "bodies"
	shapes    class = "shapes and types"
	ids       class = "ids and paths"
	injection class = "injection"
	headers   class = "headers"
	methods   class = "methods"
	sizes     class = "sizes"
	encodings class = "encodings"
	queue     class = "queue"
)

// whole names the request body itself in errors[] (a problem with the body, not with one of its members).
const whole = "<body>"

// hcase is one hostile HTTP request and everything its answer must be.
type hcase struct {
	class class
	name  string
	req   request
	want  want
	allow allowance
	// faults and dvFaults are set on the SAP and Dataverse simulators for this case alone. Only a case with a
	// fault may answer ≥ 500, and then only 503 (its want says so): the documented answer to a system that is down.
	faults   *sapsim.Faults
	dvFaults *dvsim.Faults
}

// injected says the case injects a fault into a simulator.
func (c hcase) injected() bool { return c.faults != nil || c.dvFaults != nil }

// want is the answer a case must get. Every answer is also under 500, and a problem answer is one problem+json
// document whose status member is the answer's.
type want struct {
	status int
	// kind is the problem type's last part (README #problem-<kind>); empty when the answer is not a problem.
	kind string
	// field must be named in errors[] (whole for the body); notField must not be.
	field, notField string
	// host says the host answered and the function never ran.
	host bool
	// check asserts what else the answer must hold.
	check func(t *testing.T, r response)
}

// tally counts cases per class and their outcomes.
type tally struct {
	mu     sync.Mutex
	cases  map[class]int
	failed map[class]int
	// over500 counts answers ≥ 500 no fault explains, faults503 the 503s of cases that inject a fault.
	over500, faults503 int
	maxStatus          int // the highest status no fault explains
	// reached counts, per function, the cases that ran it (rather than being answered by the host).
	reached map[string]int
}

func newTally() *tally {
	return &tally{cases: map[class]int{}, failed: map[class]int{}, reached: map[string]int{}}
}

// ran counts a case for each function it ran.
func (t *tally) ran(functions []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, f := range functions {
		t.reached[f]++
	}
}

func (t *tally) add(c class, ok bool, status int, injected bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cases[c]++
	if !ok {
		t.failed[c]++
	}
	switch {
	case injected && status == http.StatusServiceUnavailable:
		t.faults503++
	case status >= 500:
		t.over500++
		fallthrough
	default:
		t.maxStatus = max(t.maxStatus, status)
	}
}

func (t *tally) total() (cases, failed int) {
	for c, n := range t.cases {
		cases, failed = cases+n, failed+t.failed[c]
	}
	return cases, failed
}

func (t *tally) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-18s %6s %6s %6s\n", "class", "cases", "passed", "failed")
	for _, c := range slices.Sorted(maps.Keys(t.cases)) {
		fmt.Fprintf(&b, "%-18s %6d %6d %6d\n", c, t.cases[c], t.cases[c]-t.failed[c], t.failed[c])
	}
	n, f := t.total()
	fmt.Fprintf(&b, "%-18s %6d %6d %6d\n", "total", n, n-f, f)
	fmt.Fprintf(&b, "answers ≥ 500: %d (besides %d documented 503s of injected faults); highest other status %d\n",
		t.over500, t.faults503, t.maxStatus)
	b.WriteString("cases that ran each function:")
	for _, f := range slices.Sorted(maps.Keys(t.reached)) {
		fmt.Fprintf(&b, " %s %d", f, t.reached[f])
	}
	b.WriteString("\n")
	return b.String()
}

// runHTTP runs cases one after another, each between two snapshots of everything it could have written. A case's
// snapshot after is the next one's before (nothing else runs between them), which halves the reads and holds a
// write that lands after its case has been answered against the next case rather than letting it pass.
func runHTTP(t *testing.T, w *world, tl *tally, cases []hcase) {
	t.Helper()
	seen := map[string]bool{}
	var last *snapshot
	for _, c := range cases {
		name := string(c.class) + "/" + c.name
		if seen[name] {
			t.Fatalf("two cases are named %q", name)
		}
		seen[name] = true
		status, sent := 0, false
		var ran []string
		before := last
		last = nil
		ok := t.Run(name, func(t *testing.T) {
			sent = true
			ran, last = runOne(t, w, c, before, &status)
		})
		if sent { // not left out by -run
			tl.add(c.class, ok, status, c.injected())
			tl.ran(ran)
		}
	}
}

// runOne sends one case and checks everything about it; status is the answer's, even when a check stops it. It
// returns the functions the case ran and the snapshot after it. before is the snapshot before it, nil to take one.
func runOne(t *testing.T, w *world, c hcase, before *snapshot, status *int) (ran []string, after *snapshot) {
	w.sap.SetFaults(sapsim.Faults{})
	w.dv.SetFaults(dvsim.Faults{})
	if c.faults != nil {
		w.sap.SetFaults(*c.faults)
		defer w.sap.SetFaults(sapsim.Faults{})
	}
	if c.dvFaults != nil {
		w.dv.SetFaults(*c.dvFaults)
		defer w.dv.SetFaults(dvsim.Faults{})
	}
	logFrom := len(w.app.Log.String())
	if before == nil {
		s := w.st.snapshot(t)
		before = &s
	}
	r := send(t, w.app.Host.Addr(), c.req)
	*status = r.status
	snap := w.st.snapshot(t)
	after = &snap
	delta := w.app.Log.String()[logFrom:]
	ran = executed(delta)
	if strings.Contains(delta, "handler process exited") || strings.Contains(delta, "panic:") {
		t.Errorf("the handler crashed")
	}
	for _, d := range c.allow.diff(w, *before, *after) {
		t.Errorf("not allowed: %s", d)
	}
	if r.reset && !c.want.host {
		t.Errorf("the connection was reset after the head of a %d", r.status)
	}
	if r.status >= 500 && !(c.injected() && r.status == http.StatusServiceUnavailable) {
		t.Errorf("answer %d (≥ 500): %.600s", r.status, r.body)
	}
	if r.status != c.want.status {
		t.Errorf("status %d, want %d: %.600s", r.status, c.want.status, r.body)
	}
	switch {
	case c.want.host && len(ran) > 0:
		t.Errorf("the function ran (%s); the host should have answered", strings.Join(ran, ", "))
	case !c.want.host && len(ran) == 0:
		t.Errorf("no function ran; the answer should be the handler's")
	}
	if len(r.body) > 1<<20 {
		t.Errorf("a %d-byte answer", len(r.body))
	}
	checkProblem(t, c.want, r)
	if c.want.check != nil {
		c.want.check(t, r)
	}
	return ran, after
}

// executing is the host's log line as it starts an invocation.
var executing = regexp.MustCompile(`"msg":"executing","function":"([^"]+)"`)

// executed lists the functions the host started, once per invocation, in a stretch of its log.
func executed(log string) []string {
	var out []string
	for _, m := range executing.FindAllStringSubmatch(log, -1) {
		out = append(out, m[1])
	}
	return out
}

// checkProblem holds a problem answer to its kind and fields, and any other answer to not being one.
func checkProblem(t *testing.T, wt want, r response) {
	t.Helper()
	if wt.kind == "" {
		if r.problem != nil {
			t.Errorf("a problem answer (%s), want none", r.problem.Type)
		}
		return
	}
	doc := r.problem
	if doc == nil {
		t.Errorf("Content-Type %q, want application/problem+json: %.300s", r.header.Get("Content-Type"), r.body)
		return
	}
	if doc.Type != problem.TypeBase+wt.kind {
		t.Errorf("type %q, want …#problem-%s", doc.Type, wt.kind)
	}
	if doc.Status != r.status || doc.Title == "" || doc.Instance == "" {
		t.Errorf("problem members: status %d (answer %d), title %q, instance %q", doc.Status, r.status, doc.Title, doc.Instance)
	}
	names := func(f string) bool {
		for _, e := range doc.Errors {
			if e.Field == f || f == whole && e.Field == "" {
				return true
			}
		}
		return false
	}
	if wt.field != "" && !names(wt.field) {
		t.Errorf("errors[] does not name %q: %.600s", wt.field, r.body)
	}
	if wt.notField != "" && names(wt.notField) {
		t.Errorf("errors[] names %q: %.600s", wt.notField, r.body)
	}
}
