package hostile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/d365sap/d365sap/infra/local/funchost"
)

// storage reads the app's storage as an operator would, to see what a case wrote.
type storage struct {
	table  *aztables.Client
	blobs  *azblob.Client
	queues *azqueue.ServiceClient
	w      *world
}

func newStorage(t *testing.T, w *world) *storage {
	t.Helper()
	ts, err := aztables.NewServiceClientFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := azblob.NewClientFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := azqueue.NewServiceClientFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &storage{table: ts.NewClient(w.table), blobs: bs, queues: qs, w: w}
}

// snapshot is everything a case could have written, and how often each system was called.
type snapshot struct {
	sapOrders, sapRequests int
	dvVersion              int64
	dvRequests             int
	rows                   map[string]string // PartitionKey/RowKey → ETag, every row of STATE_TABLE
	archive, dead          map[string]string // blob name → ETag
	queues                 map[string]int    // approximate message counts, invisible messages included
}

// snapshot reads everything at once (each read is a round trip to Azurite; there are two snapshots per case) and
// stops the case if any read failed. It judges only its own reads: the test may have failed before.
func (s *storage) snapshot(t *testing.T) snapshot {
	t.Helper()
	ctx := t.Context()
	w := s.w
	snap := snapshot{sapOrders: len(w.sap.Orders()), sapRequests: w.sap.Stats().Requests, dvVersion: w.dv.Version(), queues: map[string]int{}}
	for _, u := range w.dv.Stats() {
		snap.dvRequests += u.Requests
	}
	var mu sync.Mutex
	var errs []error
	keep := func(err error) {
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		rows, err := s.rows(ctx)
		snap.rows = rows
		keep(err)
	})
	wg.Go(func() {
		names, err := s.blobNames(ctx, w.archive)
		snap.archive = names
		keep(err)
	})
	wg.Go(func() {
		names, err := s.blobNames(ctx, w.dead)
		snap.dead = names
		keep(err)
	})
	for _, q := range []string{w.queue, w.queue + funchost.PoisonSuffix, w.events, w.events + funchost.PoisonSuffix,
		w.inventory, w.inventory + funchost.PoisonSuffix} {
		wg.Go(func() {
			n, err := s.queueLength(ctx, q)
			keep(err)
			mu.Lock()
			defer mu.Unlock()
			snap.queues[q] = n
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("taking a snapshot: %v", err)
	}
	return snap
}

func (s *storage) rows(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	pager := s.table.NewListEntitiesPager(&aztables.ListEntitiesOptions{Select: to.Ptr("PartitionKey,RowKey")})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if missing(err, "TableNotFound", "ResourceNotFound") {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", s.w.table, err)
		}
		for _, raw := range page.Entities {
			var e struct {
				PK   string `json:"PartitionKey"`
				RK   string `json:"RowKey"`
				ETag string `json:"odata.etag"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("reading an entity of %s: %w", s.w.table, err)
			}
			out[e.PK+"/"+e.RK] = e.ETag
		}
	}
	return out, nil
}

func (s *storage) blobNames(ctx context.Context, container string) (map[string]string, error) {
	out := map[string]string{}
	pager := s.blobs.NewListBlobsFlatPager(container, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if missing(err, "ContainerNotFound") {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", container, err)
		}
		for _, b := range page.Segment.BlobItems {
			out[*b.Name] = string(*b.Properties.ETag)
		}
	}
	return out, nil
}

func (s *storage) blob(t *testing.T, container, name string) []byte {
	t.Helper()
	resp, err := s.blobs.DownloadStream(t.Context(), container, name, nil)
	if err != nil {
		t.Fatalf("reading %s/%s: %v", container, name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s/%s: %v", container, name, err)
	}
	return b
}

func (s *storage) queueLength(ctx context.Context, name string) (int, error) {
	props, err := s.queues.NewQueueClient(name).GetProperties(ctx, nil)
	if missing(err, "QueueNotFound") {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", name, err)
	}
	if props.ApproximateMessagesCount == nil {
		return 0, nil
	}
	return int(*props.ApproximateMessagesCount), nil
}

func missing(err error, codes ...string) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && slices.Contains(codes, re.ErrorCode)
}

// allowance is what one case may leave behind. The zero value allows nothing: no call to SAP or Dataverse, no
// write anywhere.
type allowance struct {
	// reachDV and reachSAP let the case's request be read from (or refused by) Dataverse or SAP.
	reachDV, reachSAP bool
	// record is the id of an order whose push may be recorded: its ledger entry and audit rows (its partition),
	// its archive blobs (salesorder/<id>/) and the safety-net message on the push queue. Only an order SAP
	// refused, or one only SAP's data could show unmappable, records anything; no SAP order and no Dataverse write
	// are allowed even then.
	record string
	// deadLetters is how many dead letters the case may add.
	deadLetters int
	// pushQueue is how many messages the case may leave on the push queue beyond record's one, and poison how
	// many the host may move to its poison queue.
	pushQueue, poison int
	// events is how many messages the case may put on STATUS_EVENTS_QUEUE.
	events int
}

// diff lists everything between two snapshots that the allowance does not cover.
func (a allowance) diff(w *world, before, after snapshot) []string {
	var bad []string
	if after.sapOrders != before.sapOrders {
		bad = append(bad, fmt.Sprintf("SAP orders %d → %d", before.sapOrders, after.sapOrders))
	}
	if after.dvVersion != before.dvVersion {
		bad = append(bad, fmt.Sprintf("Dataverse written: version %d → %d", before.dvVersion, after.dvVersion))
	}
	if !a.reachSAP && after.sapRequests != before.sapRequests {
		bad = append(bad, fmt.Sprintf("SAP called %d times", after.sapRequests-before.sapRequests))
	}
	if !a.reachDV && after.dvRequests != before.dvRequests {
		bad = append(bad, fmt.Sprintf("Dataverse called %d times", after.dvRequests-before.dvRequests))
	}
	for _, k := range changed(before.rows, after.rows) {
		if a.record == "" || !strings.HasPrefix(k, a.record+"/") {
			bad = append(bad, "state row written: "+k)
		}
	}
	for _, k := range changed(before.archive, after.archive) {
		if a.record == "" || !strings.HasPrefix(k, "salesorder/"+a.record+"/") {
			bad = append(bad, "archive blob written: "+k)
		}
	}
	if n := len(changed(before.dead, after.dead)); n > a.deadLetters {
		bad = append(bad, fmt.Sprintf("%d dead letters written, %d allowed", n, a.deadLetters))
	}
	for _, q := range slices.Sorted(maps.Keys(after.queues)) {
		allowed := 0
		switch q {
		case w.queue:
			allowed = a.pushQueue
			if a.record != "" {
				allowed++
			}
		case w.events:
			allowed = a.events
		case w.queue + funchost.PoisonSuffix, w.inventory + funchost.PoisonSuffix:
			allowed = a.poison
		}
		if d := after.queues[q] - before.queues[q]; d != 0 && d > allowed || d < 0 {
			bad = append(bad, fmt.Sprintf("queue %s: %d → %d messages (%d allowed)", q, before.queues[q], after.queues[q], allowed))
		}
	}
	return bad
}

// changed are the keys added or changed (by ETag) from before to after, and those removed.
func changed(before, after map[string]string) []string {
	var out []string
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			out = append(out, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k+" (removed)")
		}
	}
	sort.Strings(out)
	return out
}
