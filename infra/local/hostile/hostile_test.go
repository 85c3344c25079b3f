package hostile

import (
	"testing"
	"time"
)

// minCases is the floor the suite holds itself to: shrinking a table below it is a visible decision.
const minCases = 200

// TestHostile runs every table against one world: the HTTP cases one after another, each between snapshots,
// then the queue messages together. Run it with -v for the count per class.
func TestHostile(t *testing.T) {
	start := time.Now()
	w := newWorld(t)
	t.Logf("world ready in %s", time.Since(start).Round(time.Millisecond))
	tl := newTally()
	var cases []hcase
	for _, table := range []func(*world) []hcase{
		orderPushAuthCases, orderPushBodyCases, orderPushShapeCases, orderPushInjectionCases, orderPushHeaderCases,
		orderPushSizeCases, orderPushEncodingCases, orderPushMethodCases,
		orderStatusCases, openAPICases, healthCases, queueAdminCases,
	} {
		cases = append(cases, table(w)...)
	}
	runHTTP(t, w, tl, cases)
	runQueue(t, w, tl, queueCases(w))
	n, failed := tl.total()
	t.Logf("hostile cases, %s in all:\n%s", time.Since(start).Round(time.Millisecond), tl)
	if n < minCases {
		t.Errorf("%d cases, want at least %d", n, minCases)
	}
	if failed > 0 || tl.maxStatus >= 500 {
		t.Errorf("%d of %d cases failed; highest status %d", failed, n, tl.maxStatus)
	}
}
