package canary_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/canary"
)

// peeker peeks at the world's queues while the app runs, so messages the app consumes before the end are
// searched too; the final drain takes what is left.
type peeker struct {
	stop, done chan struct{}
	once       sync.Mutex
	halted     bool
	seen       map[string]bool // queue/message id, owned by the goroutine until halt
	lastErr    error
}

func startPeeker(t *testing.T, st canary.Storage) *peeker {
	p := &peeker{stop: make(chan struct{}), done: make(chan struct{}), seen: map[string]bool{}}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				if err := st.Peek(ctx, p.seen); err != nil {
					p.lastErr = err
				}
				cancel()
			}
		}
	}()
	t.Cleanup(p.halt)
	return p
}

// halt stops the peeking and waits for it; afterwards seen belongs to the caller.
func (p *peeker) halt() {
	p.once.Lock()
	defer p.once.Unlock()
	if !p.halted {
		p.halted = true
		close(p.stop)
		<-p.done
	}
}

func (w *world) storage() canary.Storage {
	return canary.Storage{Conn: w.app.Storage, Prefix: w.prefix, Scan: w.scan}
}

// searchEverything stops the app (so its log is complete and nothing consumes messages any more) and searches
// everything it left: every log line of the host and the handler, every answer the test got (status line,
// headers, body), every entity of its tables, every blob of its containers and every queue message, those
// peeked at while it ran and those still queued. The simulators' records are not searched: they received the
// credential by right.
func (w *world) searchEverything(t *testing.T) {
	t.Helper()
	w.peek.halt()
	if err := w.peek.lastErr; err != nil {
		t.Logf("a peek at the queues failed (the next one ran): %v", err)
	}
	w.gate.close() // the host takes no more messages; Close waits for those it holds
	if err := w.app.Host.Close(); err != nil {
		t.Logf("stopping the app: %v", err)
	}
	w.plantControls(t)
	for i, line := range strings.Split(w.app.Log.String(), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		where := fmt.Sprintf("log/line %d", i+1)
		if strings.Contains(line, controlMark) {
			where += " (" + controlMark + ")"
		}
		w.scan.Check("log line", where, []byte(line))
	}
	w.mu.Lock()
	calls := slices.Clone(w.calls)
	w.mu.Unlock()
	for i, c := range calls {
		w.scan.Check("answer", fmt.Sprintf("answers/%d %s %s → %d", i+1, c.method, c.path, c.resp.Status), answerText(c))
	}
	ctx := context.Background()
	st := w.storage()
	if err := st.Entities(ctx); err != nil {
		t.Error(err)
	}
	if err := st.Blobs(ctx); err != nil {
		t.Error(err)
	}
	// Long enough for the latest safety-net message (visible a lease after its push) and retry to show.
	if err := st.Drain(ctx, w.peek.seen, 20*time.Second); err != nil {
		t.Error(err)
	}

	t.Logf("%s searched (one planted control of each kind included): %s", w.name, w.scan.Summary())
	for _, kind := range []string{"entity", "blob", "queue message"} {
		t.Logf("  %s by %s: %s", kind, map[string]string{"entity": "table", "blob": "container", "queue message": "queue"}[kind],
			groups(w.scan.Groups(kind), w.prefix))
	}
	t.Logf("  answers: %s", tally(calls))
	for _, sys := range []struct {
		name string
		in   *inbound
	}{{"SAP", w.sapIn}, {"Dataverse", w.dvIn}} {
		t.Logf("  requests %s received: %d, searched for every secret but %v", sys.name, sys.in.requests.Load(), w.own(sys.name))
		if sys.in.requests.Load() == 0 && !w.storageRefuses {
			t.Errorf("%s received no request: the search of what it receives saw nothing", sys.name)
		}
		found := map[string]bool{}
		for _, f := range sys.in.scan.Load().Findings() {
			if strings.Contains(f.Where, controlMark) {
				found[f.Needle.Secret] = true
				continue
			}
			t.Errorf("LEAK to %s: %s", sys.name, f)
		}
		for _, name := range slices.Sorted(maps.Keys(w.canaries)) {
			if !slices.Contains(w.own(sys.name), name) && !found[name] {
				t.Errorf("the canary of %s sent to %s as a control was not found: the search of its requests cannot see it", name, sys.name)
			}
		}
	}
	t.Logf("  the handler wrote to: %s", w.watch)
	if !w.watch.seen() {
		t.Errorf("the handler wrote nothing through the storage watch: it is not between the handler and storage")
	}
	if out := w.watch.outside(w.prefix); len(out) > 0 {
		t.Errorf("the handler wrote where the scan does not read (names without the prefix %q): %v", w.prefix, out)
	}
	// Each kind holds one planted control: more than that is what the app left.
	counts, planted := w.scan.Counts(), map[string]int{"answer": 1, "log line": 1, "entity": 1, "blob": 1, "queue message": 1}
	for kind, n := range planted {
		if w.storageRefuses && (kind == "entity" || kind == "blob") {
			continue // the app could write nothing there
		}
		if counts[kind] <= n {
			t.Errorf("nothing the app left was searched in kind %q: the scan would pass by not looking", kind)
		}
	}
	controls := map[string]map[string]bool{} // kind → the secrets found in its control
	basic := false                           // the Basic header in the answer's control
	for _, f := range w.scan.Findings() {
		if w.isControl(f) {
			if controls[f.Kind] == nil {
				controls[f.Kind] = map[string]bool{}
			}
			controls[f.Kind][f.Needle.Secret] = true
			basic = basic || f.Kind == "answer" && strings.HasPrefix(f.Needle.Form, "Basic auth header")
			continue
		}
		t.Errorf("LEAK: %s", f)
	}
	for _, kind := range slices.Sorted(maps.Keys(planted)) {
		for _, name := range slices.Sorted(maps.Keys(w.canaries)) {
			if !controls[kind][name] {
				t.Errorf("the canary of %s planted in a %s was not found: the scan cannot see it there", name, kind)
			}
		}
	}
	if !basic {
		t.Errorf("the Basic auth header planted in an answer was not found as one")
	}
}

func answerText(c call) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", c.resp.Status)
	for _, k := range slices.Sorted(maps.Keys(c.resp.Header)) {
		for _, v := range c.resp.Header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	b.WriteString("\n")
	b.Write(c.resp.Body)
	return []byte(b.String())
}

// groups prints per-group counts with the world's prefix cut off: "-archive 12, -dead 1, state 40".
func groups(g map[string]int, prefix string) string {
	if len(g) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(g)) {
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(k, prefix), g[k]))
	}
	return strings.Join(parts, ", ")
}

// tally counts the answers by request and status, ids folded: "GET /api/orders/{id} 200×3, ...".
func tally(calls []call) string {
	n := map[string]int{}
	for _, c := range calls {
		path := c.path
		if rest, ok := strings.CutPrefix(path, "/api/orders/"); ok && rest != "" {
			path = "/api/orders/{id}"
		}
		n[fmt.Sprintf("%s %s %d", c.method, path, c.resp.Status)]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s×%d", k, n[k]))
	}
	return strings.Join(parts, ", ")
}
