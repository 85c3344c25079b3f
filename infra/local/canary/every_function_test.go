package canary_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/pack"
)

// failureExempt are the functions nothing at run time can make fail, and why: for them a clean run is enough.
var failureExempt = map[string]string{
	"openapi": "it answers a document fixed at start-up whatever the request (the host routes only GET and HEAD to it); " +
		"its one failure, a WEBSITE_HOSTNAME that is no host name, refuses the start, as TestRefusedSettingsPrintNoSecret drives",
}

// runs are what one world's log says the functions did: which the host loaded, and per function how many
// invocations ran clean and how many met a failure.
type runs struct {
	loaded        []string
	clean, failed map[string]int
}

// runsIn reads a world's log. An invocation met a failure when the host says it failed, it answered 400 or
// more, or any line of it (the handler's or the host's) is a warning or an error: a retried SAP read, a
// refused credential, a dead letter. It ran clean when it ended without any of those.
func runsIn(log string) runs {
	type inv struct {
		function   string
		ended, bad bool
	}
	invs := map[string]*inv{}
	var order []string
	r := runs{clean: map[string]int{}, failed: map[string]int{}}
	for line := range strings.SplitSeq(log, "\n") {
		var l struct {
			Level, Msg, Function string
			InvocationID         string `json:"invocation_id"`
			Status               int
		}
		if json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		if l.Msg == "function loaded" && l.InvocationID == "" {
			r.loaded = append(r.loaded, l.Function)
			continue
		}
		if l.InvocationID == "" {
			continue
		}
		v := invs[l.InvocationID]
		if v == nil {
			v = &inv{}
			invs[l.InvocationID] = v
			order = append(order, l.InvocationID)
		}
		if v.function == "" {
			v.function = l.Function
		}
		switch l.Msg {
		case "executed":
			v.ended = true
			v.bad = v.bad || l.Status >= 400
		case "invocation failed":
			v.ended, v.bad = true, true
		}
		v.bad = v.bad || l.Level == "WARN" || l.Level == "ERROR"
	}
	for _, id := range order {
		switch v := invs[id]; {
		case v.function == "":
		case v.bad:
			r.failed[v.function]++
		case v.ended:
			r.clean[v.function]++
		}
	}
	slices.Sort(r.loaded)
	return r
}

func (r runs) String() string {
	var parts []string
	for _, fn := range r.loaded {
		parts = append(parts, fmt.Sprintf("%s %d clean, %d failing", fn, r.clean[fn], r.failed[fn]))
	}
	return strings.Join(parts, "; ")
}

// coverage gathers every world's runs, so that the test can require each function of the app to have run
// clean and met a failure somewhere.
type coverage struct {
	mu     sync.Mutex
	worlds map[string]runs
}

func (c *coverage) add(world string, r runs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.worlds == nil {
		c.worlds = map[string]runs{}
	}
	c.worlds[world] = r
}

// check fails for every function of the app (each folder functions/<name>/ with a function.json, as the host
// loads them and functions/main.go wires them) that no world loaded, or that did not both run clean and meet a
// failure in some world.
func (c *coverage) check(t *testing.T, worlds int) {
	t.Helper()
	root, err := e2e.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := pack.Functions(root)
	if err != nil {
		t.Fatalf("listing the app's functions: %v", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.worlds) != worlds {
		t.Errorf("%d of %d worlds got as far as counting their functions' runs", len(c.worlds), worlds)
	}
	clean, failed := map[string]int{}, map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(c.worlds)) {
		r := c.worlds[name]
		t.Logf("%s: %s", name, r)
		for _, fn := range fns {
			if !slices.Contains(r.loaded, fn.Name) {
				t.Errorf("world %q: the host did not load function %s (it loaded %v)", name, fn.Name, r.loaded)
			}
		}
		for fn, n := range r.clean {
			clean[fn] += n
		}
		for fn, n := range r.failed {
			failed[fn] += n
		}
	}
	if len(fns) == 0 {
		t.Fatal("the app has no functions to drive")
	}
	for _, fn := range fns {
		if clean[fn.Name] == 0 {
			t.Errorf("function %s never ran clean in any world: drive its success", fn.Name)
		}
		if failed[fn.Name] == 0 {
			if why, ok := failureExempt[fn.Name]; ok {
				t.Logf("function %s met no failure: none is reachable at run time, as %s", fn.Name, why)
				continue
			}
			t.Errorf("function %s never met a failure in any world: drive its failure", fn.Name)
		}
	}
	for fn := range failureExempt {
		if failed[fn] > 0 {
			t.Errorf("function %s met a failure after all: drop it from failureExempt", fn)
		}
		if !slices.ContainsFunc(fns, func(f pack.Function) bool { return f.Name == fn }) {
			t.Errorf("failureExempt names %s, which is no function of the app", fn)
		}
	}
}
