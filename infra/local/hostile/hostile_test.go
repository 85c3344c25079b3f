package hostile

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// minCases is the floor the suite holds itself to: shrinking a table below it is a visible decision.
const minCases = 200

// minPerClass is the floor of each class the issue names, so that no class is covered by a token case or two.
var minPerClass = map[class]int{auth: 20, bodies: 20, shapes: 20, ids: 20, injection: 20, headers: 20, methods: 20,
	sizes: 15, encodings: 15, queue: 20}

// minPerFunction is how many cases must run each HTTP- or queue-triggered function of the app: a function added
// to functions/ without cases of its own here fails the suite. Timer functions take no input from outside.
const minPerFunction = 10

// ReportEnv names a file the suite writes its summary to (make test and make hostile print it: go test shows the
// output of a passing package only with -v).
const ReportEnv = "D365SAP_HOSTILE_REPORT"

// tables are the cases, one table per function and class; a later function adds its tables here.
var tables = []func(*world) []hcase{
	orderPushAuthCases, orderPushBodyCases, orderPushShapeCases, orderPushInjectionCases, orderPushHeaderCases,
	orderPushSizeCases, orderPushEncodingCases, orderPushMethodCases, orderPushValueCases, dynamicsCases,
	orderStatusCases, openAPICases, healthCases, queueAdminCases, headCases, protocolCases, faultCases,
	inventoryRunsCases, inventoryDriftCases, eventsCases,
}

// TestHostile runs every table against one world: the HTTP cases one after another, each between snapshots,
// then the queue messages together.
func TestHostile(t *testing.T) {
	start := time.Now()
	w := newWorld(t)
	t.Logf("world ready in %s", time.Since(start).Round(time.Millisecond))
	tl := newTally()
	var cases []hcase
	for _, table := range tables {
		cases = append(cases, table(w)...)
	}
	runHTTP(t, w, tl, cases)
	runQueue(t, w, tl, qtarget{w.queue, "orderpushqueue"}, queueCases(w))
	runQueue(t, w, tl, qtarget{w.inventory, "inventorysyncqueue"}, inventoryQueueCases(w))
	runQueue(t, w, tl, qtarget{w.events, "statusupdates"}, statusQueueCases(w))
	summary := "hostile: " + time.Since(start).Round(time.Millisecond).String() + "\n" + tl.String()
	var problems []string
	n, failed := tl.total()
	if failed > 0 || tl.over500 > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d cases failed; %d answers ≥ 500 besides injected faults' 503s", failed, n, tl.over500))
	}
	if pattern := flag.Lookup("test.run").Value.String(); strings.Contains(pattern, "/") {
		t.Logf("-run %s picks cases: the floors hold for the whole suite only", pattern)
	} else {
		problems = append(problems, floors(t, w, tl)...)
	}
	result := "result: ok"
	if len(problems) > 0 {
		result = "result: FAILED: " + strings.Join(problems, "; ")
	}
	summary += result + "\n"
	t.Log(summary)
	if path := os.Getenv(ReportEnv); path != "" {
		if err := os.WriteFile(path, []byte(summary), 0o644); err != nil {
			t.Errorf("writing the summary: %v", err)
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// floors lists where the suite falls short of its floors: in all, per class, per function.
func floors(t *testing.T, w *world, tl *tally) []string {
	t.Helper()
	var out []string
	if n, _ := tl.total(); n < minCases {
		out = append(out, fmt.Sprintf("%d cases, want at least %d", n, minCases))
	}
	for _, c := range slices.Sorted(maps.Keys(minPerClass)) {
		if tl.cases[c] < minPerClass[c] {
			out = append(out, fmt.Sprintf("class %s: %d cases, want at least %d", c, tl.cases[c], minPerClass[c]))
		}
	}
	for _, f := range triggered(t, w.app.Dist) {
		if tl.reached[f] < minPerFunction {
			out = append(out, fmt.Sprintf("function %s: %d cases ran it, want at least %d; add its table to tables", f, tl.reached[f], minPerFunction))
		}
	}
	return out
}

type binding struct {
	Type string `json:"type"`
}

// triggered lists the app's functions that take input from outside: an HTTP request or a queue message.
func triggered(t *testing.T, dist string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dist, "*", "function.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("finding the app's functions in %s: %v", dist, err)
	}
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var def struct {
			Bindings []binding `json:"bindings"`
		}
		if err := json.Unmarshal(b, &def); err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		if slices.ContainsFunc(def.Bindings, func(b binding) bool { return b.Type == "httpTrigger" || b.Type == "queueTrigger" }) {
			out = append(out, filepath.Base(filepath.Dir(p)))
		}
	}
	return out
}
