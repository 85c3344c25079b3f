package orderpush_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// SoakEnv turns the fault soak on (make soak). It is not part of make test: it runs for minutes.
const SoakEnv = "D365SAP_SOAK"

// soakPushes reads D365SAP_SOAK_PUSHES (default 10,000), for shorter runs while working on the soak itself.
func soakPushes(t *testing.T) int {
	n := 10000
	if v := os.Getenv("D365SAP_SOAK_PUSHES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 10 {
			t.Fatalf("D365SAP_SOAK_PUSHES=%q: want a number of at least 10", v)
		}
	}
	return n
}

// soakJob is one logical push, as a flow run makes it. copies > 1 sends identical pushes at the same moment;
// replay waits until the order's first push has finished (the flow's retry after a lost answer on its side).
type soakJob struct {
	order  int
	copies int
	replay bool
}

// soakPlan makes pushes pushes of which dupShare are duplicates, half of them concurrent identical pushes and half
// sequential replays placed a little later in the stream. It returns the jobs and the number of distinct orders.
func soakPlan(pushes int, dupShare float64, rng *rand.Rand) ([]soakJob, int) {
	dups := int(float64(pushes) * dupShare)
	distinct := pushes - dups
	concurrent := dups / 2
	replays := dups - concurrent
	type keyed struct {
		key float64
		job soakJob
	}
	var all []keyed
	pairs := rng.Perm(distinct)[:concurrent]
	twice := map[int]bool{}
	for _, i := range pairs {
		twice[i] = true
	}
	for i := range distinct {
		j := soakJob{order: i, copies: 1}
		if twice[i] {
			j.copies = 2
		}
		all = append(all, keyed{float64(i), j})
	}
	for _, i := range rng.Perm(distinct)[:replays] {
		all = append(all, keyed{float64(i) + 20 + rng.Float64()*400, soakJob{order: i, copies: 1, replay: true}})
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].key < all[b].key })
	jobs := make([]soakJob, len(all))
	for i, k := range all {
		jobs[i] = k.job
	}
	return jobs, distinct
}

func TestSoakPlanShape(t *testing.T) {
	tests := []struct{ pushes, distinct, sent int }{{10000, 8000, 10000}, {1000, 800, 1000}, {15, 12, 15}}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.pushes), func(t *testing.T) {
			jobs, distinct := soakPlan(tt.pushes, 0.2, rand.New(rand.NewPCG(1, 2)))
			sent, firsts := 0, map[int]int{}
			for pos, j := range jobs {
				sent += j.copies
				if !j.replay {
					if _, dup := firsts[j.order]; dup {
						t.Fatalf("order %d has two first pushes", j.order)
					}
					firsts[j.order] = pos
				} else if p, ok := firsts[j.order]; !ok || p > pos {
					t.Fatalf("replay of order %d at %d comes before its first push", j.order, pos)
				}
			}
			if distinct != tt.distinct || len(firsts) != tt.distinct || sent != tt.sent {
				t.Fatalf("distinct %d (%d first pushes), sent %d; want %d and %d", distinct, len(firsts), sent, tt.distinct, tt.sent)
			}
		})
	}
}

// soakSettings shrink the ledger's times so commit windows and holds pass in seconds: a create that outlives
// its 2 s client timeout (a slow commit of 2.5 s) is still inside the 3 s commit window.
var soakSettings = map[string]string{
	"SAP_TIMEOUT": "2s", "SAP_READ_RETRIES": "2", "ORDER_PUSH_SYNC_TIMEOUT": "3s", "LEDGER_LEASE": "5s",
	"SAP_COMMIT_WINDOW": "3s", "CLOCK_SKEW_TOLERANCE": "200ms", "QUEUE_RETRY_BASE": "100ms", "QUEUE_RETRY_MAX": "1s",
	"ORDER_PUSH_SWEEP_GRACE": "7s", "ORDER_PUSH_SWEEP_SCHEDULE": "*/5 * * * * *",
}

// soakFaults are about one SAP request in ten failing, every ugly way included: answers lost after a commit
// (reset, or a gateway's 504 page), commits that land after the client gave up, a search that lags, clerks
// entering orders with the same PO right after ours.
var soakFaults = sapsim.Faults{Error503Rate: 0.03, Error429Rate: 0.02, RetryAfterSeconds: 1, ResetRate: 0.02,
	DropCreateRate: 0.03, CommitThenGatewayRate: 0.03, GatewayStatus: 504,
	SlowCommitRate: 0.02, SlowCommitDelay: sapsim.Duration(2500 * time.Millisecond),
	SearchLag: sapsim.Duration(300 * time.Millisecond), HandEnteredSamePORate: 0.05}

// TestSoak: 10,000 pushes, 20 % of them duplicates, 10 % of orders reusing another's PO and sold-to, while SAP
// fails about 10 % of its requests the ugly ways: exactly one SAP order per D365 order. Run it with make soak.
func TestSoak(t *testing.T) {
	if os.Getenv(SoakEnv) == "" {
		t.Skipf("the fault soak runs for minutes: run it with make soak (or %s=1 under infra/local/with-azurite)", SoakEnv)
	}
	runSoak(t, soakPushes(t), 24, nil)
}

// TestSoakShort is the soak's mix at 300 pushes, in make test, for both reference modes a landscape can have.
func TestSoakShort(t *testing.T) {
	t.Run("extensionField", func(t *testing.T) { runSoak(t, 300, 12, nil) })
	t.Run("headerText", func(t *testing.T) {
		runSoak(t, 300, 12, map[string]any{"mode": "headerText", "textId": "Z001", "language": "EN"})
	})
}

func runSoak(t *testing.T, pushes, workers int, reference map[string]any) {
	rng := rand.New(rand.NewPCG(20261203, uint64(pushes)))
	jobs, distinct := soakPlan(pushes, 0.2, rng)
	w := newLoadWorld(t, soakSettings, reference)
	t0 := time.Now()
	ids, seeded := w.seedOrdersWithPOs(t, "SOAK", distinct, 0.1)
	reused := 0
	for i := range seeded {
		for j := range i {
			if seeded[j] == seeded[i] {
				reused++
				break
			}
		}
	}
	// Clerks entered orders with the POs and customers of 5 % of ours before the run.
	for i := 0; i < distinct; i += 20 {
		if _, err := w.sap.EnterOrder(sapsim.ManualOrder{PurchaseOrderByCustomer: seeded[i].po, SoldToParty: seeded[i].customer,
			Items: []sapsim.ManualItem{{Material: sapsim.ProductID(i % loadProducts), Quantity: "1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seeded %d Dynamics orders (%d reuse another's PO and sold-to) in %s", distinct, reused, time.Since(t0).Round(time.Millisecond))

	w.sap.SetFaults(soakFaults)
	w.dv.SetFaults(dvsim.Faults{Error503: 0.015, Error429: 0.01, Reset: 0.01, CommitDrop: 0.01})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	expired := 0
	csrfDone := make(chan struct{})
	go func() {
		defer close(csrfDone)
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				w.sap.ExpireCSRFTokens()
				expired++
			}
		}
	}()

	tl := newTally()
	c := &caller{w: w, tally: tl, maxWait: 2 * time.Second, repushAfter: 60 * time.Second, deadline: 5 * time.Minute}
	done := make([]chan struct{}, distinct)
	for i := range done {
		done[i] = make(chan struct{})
	}
	var (
		mu        sync.Mutex
		numbers   = make([]map[string]int, distinct) // SAP numbers answered per order
		failures  []string
		latencies []time.Duration // of logical pushes, first POST to final answer
	)
	record := func(order int, a pushAnswer, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		latencies = append(latencies, took)
		if err != nil {
			failures = append(failures, err.Error())
			tl.outcome("error")
			return
		}
		if numbers[order] == nil {
			numbers[order] = map[string]int{}
		}
		numbers[order][a.sapNumber]++
		tl.outcome(fmt.Sprintf("%d %s", a.status, a.state))
	}
	queue := make(chan soakJob)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for j := range queue {
				if j.replay {
					<-done[j.order]
				}
				var inner sync.WaitGroup
				for range j.copies {
					inner.Go(func() {
						t0 := time.Now()
						a, err := c.push(ctx, ids[j.order])
						record(j.order, a, time.Since(t0), err)
					})
				}
				inner.Wait()
				if !j.replay {
					close(done[j.order])
				}
			}
		})
	}
	progress := time.NewTicker(15 * time.Second)
	defer progress.Stop()
	for i, j := range jobs {
		select {
		case queue <- j:
		case <-progress.C:
			t.Logf("%d of %d jobs started after %s; SAP stats %+v", i, len(jobs), time.Since(start).Round(time.Second), w.sap.Stats())
			queue <- j
		}
	}
	close(queue)
	wg.Wait()
	elapsed := time.Since(start)
	cancel()
	<-csrfDone
	sapStats := w.sap.Stats()
	dvFaults := w.dv.Injected()
	w.sap.SetFaults(sapsim.Faults{})
	w.dv.SetFaults(dvsim.Faults{})
	w.sap.Quiesce()

	// Every order must end written back: a "created" one has its write-back still queued, so wait for it.
	states := map[string]int{}
	unfinished := 0
	settle := time.Now().Add(2 * time.Minute)
	check := &caller{w: w, tally: newTally()} // not counted with the callers' requests
	for _, id := range ids {
		for {
			st, err := check.do(context.Background(), "GET", c.w.app.URL("/api/orders/"+id), nil)
			if err == nil && st.state == "written-back" || time.Now().After(settle) {
				states[st.state]++
				if st.state != "written-back" {
					unfinished++
				}
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	r := countSoak(t, w, ids, numbers, reference != nil)
	c2, c4, c5 := tl.classes()
	slices.Sort(latencies)
	t.Logf("SOAK RESULT (%s)", t.Name())
	t.Logf("  pushes sent            %d (%d distinct orders, %d duplicates: concurrent pairs and sequential replays)", pushes, distinct, pushes-distinct)
	t.Logf("  POs reused             %d orders share another order's PO and sold-to; %d hand-entered orders with our POs", reused, sapStats.HandEntered)
	t.Logf("  workers                %d", workers)
	t.Logf("  elapsed                %s (%.1f pushes/s)", elapsed.Round(time.Millisecond), float64(pushes)/elapsed.Seconds())
	t.Logf("  SAP orders per order   %v (must be 1 for every order)", r.perOrder)
	t.Logf("  merged                 %d (SAP orders answered for more than one D365 order)", r.merged)
	t.Logf("  duplicates             %d (D365 orders with more than one SAP order)", r.duplicates)
	t.Logf("  missing                %d (D365 orders with no SAP order)", r.missing)
	t.Logf("  hand-entered adopted   %d", r.adopted)
	t.Logf("  answers ≠ SAP          %d; write-backs not naming the SAP order: %d", r.inconsistent, r.wrongWriteBack)
	t.Logf("  final states           %v (unfinished %d)", states, unfinished)
	t.Logf("  caller outcomes        %v", tl.final)
	t.Logf("  push to final answer   p50 %s, p99 %s, max %s", percentile(latencies, 0.5).Round(time.Millisecond),
		percentile(latencies, 0.99).Round(time.Millisecond), percentile(latencies, 1).Round(time.Millisecond))
	t.Logf("  HTTP requests          %v (POSTs include the callers' retries, GETs are status polls)", tl.requests)
	t.Logf("  HTTP answers           2xx %d, 4xx %d, 5xx %d, transport errors %d; by status %v", c2, c4, c5, tl.transErr, tl.statuses)
	faulty := sapStats.FaultsInjected + sapStats.DroppedCreates + sapStats.CommitThenGateway + sapStats.SlowCommits
	t.Logf("  SAP faults injected    %d of %d requests (%.1f %%): 503/429/resets %d, answers dropped after commit %d, commit then gateway 504 %d, commits after the client left %d of %d slow; reads a lag hid %d; CSRF rejections %d after %d token expiries",
		faulty, sapStats.Requests, 100*float64(faulty)/float64(max(1, sapStats.Requests)),
		sapStats.FaultsInjected, sapStats.DroppedCreates, sapStats.CommitThenGateway, sapStats.CommitsAfterDisconnect, sapStats.SlowCommits,
		sapStats.ReadsMissingLagged, sapStats.CSRFRejections, expired)
	t.Logf("  Dataverse faults       %v", dvFaults)
	if len(failures) > 0 {
		t.Errorf("%d pushes did not finish; first: %s", len(failures), failures[0])
	}
	if r.duplicates != 0 || r.missing != 0 || r.merged != 0 || r.adopted != 0 {
		t.Errorf("duplicates %d, missing %d, merged %d, hand-entered adopted %d: want 0", r.duplicates, r.missing, r.merged, r.adopted)
	}
	if r.inconsistent != 0 || unfinished != 0 || r.wrongWriteBack != 0 {
		t.Errorf("inconsistent answers %d, unfinished %d, wrong write-backs %d: want 0", r.inconsistent, unfinished, r.wrongWriteBack)
	}
	if sapStats.FaultsInjected == 0 || sapStats.DroppedCreates+sapStats.CommitThenGateway == 0 || sapStats.HandEnteredSamePO == 0 {
		t.Errorf("the faults did not fire: %+v", sapStats)
	}
}

type soakCounts struct {
	perOrder                                                           map[int]int // SAP orders per D365 order → how many D365 orders
	merged, duplicates, missing, adopted, inconsistent, wrongWriteBack int
}

// countSoak counts from SAP's side: the orders carrying each D365 order's reference (the extension field, or in
// headerText mode a header text naming it), and what the callers and Dynamics were told.
func countSoak(t *testing.T, w *loadWorld, ids []string, numbers []map[string]int, byText bool) soakCounts {
	r := soakCounts{perOrder: map[int]int{}}
	orders := w.sap.Orders()
	hand := map[string]bool{}
	for _, o := range orders {
		if o.HandEntered {
			hand[o.SalesOrder] = true
		}
	}
	told := map[string][]string{} // SAP number → D365 orders answered or written back with it
	for i, id := range ids {
		ref := strings.ToUpper(id)
		var ours []string
		for _, o := range orders {
			if o.HandEntered {
				continue
			}
			carries := o.Extensions["YY1_D365OrderID_SDH"] == ref
			if byText {
				carries = slices.ContainsFunc(o.Texts, func(x sapsim.OrderText) bool { return strings.Contains(strings.ToUpper(x.LongText), ref) })
			}
			if carries {
				ours = append(ours, o.SalesOrder)
			}
		}
		r.perOrder[len(ours)]++
		switch {
		case len(ours) == 0:
			r.missing++
		case len(ours) > 1:
			r.duplicates++
			t.Errorf("order %s has %d SAP orders: %v", id, len(ours), ours)
		}
		row, _ := w.dv.Get("salesorders", id)
		desc, _ := row["submitstatusdescription"].(string)
		written := strings.TrimPrefix(desc, "Created in SAP as sales order ")
		if len(ours) > 0 && written != ours[0] {
			r.wrongWriteBack++
		}
		seen := map[string]bool{written: true}
		for n := range numbers[i] {
			seen[n] = true
			if len(ours) > 0 && n != ours[0] {
				r.inconsistent++
				t.Errorf("order %s was answered SAP number %q; SAP holds %v", id, n, ours)
			}
		}
		for n := range seen {
			if n == "" {
				continue
			}
			if hand[n] {
				r.adopted++
				t.Errorf("order %s adopted the hand-entered SAP order %s", id, n)
			}
			told[n] = append(told[n], id)
		}
	}
	for n, who := range told {
		if len(who) > 1 {
			r.merged++
			t.Errorf("SAP order %s was given to %d D365 orders: %v", n, len(who), who)
		}
	}
	return r
}
