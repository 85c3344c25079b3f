package orderpush

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
)

// reportAgain tells Dynamics how an ended push ended; when its Reported write then finds the entry changed, it
// re-reads and, if the entry is now created or completed, tells Dynamics that instead. But a push again that is
// still in progress at that re-read — it has already written "Created in SAP as sales order N" back and is about
// to record it — is neither: the stale "Rejected by SAP" that landed after the push's own write-back stands, and
// nothing writes Dynamics again (the push is completed and reported, the sweeper never looks at it).

const staleReportID = "0c0ffee0-0000-4000-8000-0000000d0201"

func TestAStaleRejectionReportDoesNotOverwriteAPushAgainThatIsFinishing(t *testing.T) {
	r := newRig(t)
	first := inline(staleReportID, "17100001", "PO-BLOCKED-1", "MAT-1", "1")
	// SAP rejects (the customer is blocked for orders); Dataverse is throttled when told, so the report is queued.
	r.sap.answerNext(createAnswer{err: businessError("V1/458", "Sold-to party 17100001 is blocked for orders")})
	r.dv.setBefore(func(context.Context, string, dataverse.Record) error {
		return &dataverse.Error{Status: 429, Kind: dataverse.KindThrottled, RetryAfter: 20 * time.Second, Message: "Number of requests exceeded the limit"}
	})
	if _, err := r.s.Push(t.Context(), first, false); err == nil || !strings.Contains(err.Error(), "V1/458") {
		t.Fatalf("first push: %v", err)
	}
	var report *QueueMessage
	for _, q := range r.queue.take() {
		if q.m.Action == ActionReport {
			report = &q.m
		}
	}
	if report == nil {
		t.Fatal("no report queued")
	}
	// The customer is unblocked and the order pushed again; the queued report is delivered meanwhile.
	atRecord, release, pushed := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	r.table.set(func(h *hookTable) {
		h.beforeTransact = func() { close(atRecord); <-release } // the push again's record of its created order
	})
	r.dv.setBefore(func(_ context.Context, _ string, rec dataverse.Record) error {
		if s, _ := rec["submitstatusdescription"].(string); strings.HasPrefix(s, "Rejected") {
			go func() {
				res, err := r.s.Push(context.Background(), first, false)
				if err == nil && !res.Created {
					err = context.Canceled
				}
				pushed <- err
			}()
			<-atRecord // the push again has written "Created in SAP ..." back and is about to record it
		}
		return nil
	})
	r.clock.Advance(20 * time.Second)
	if err := r.s.Resume(t.Context(), *report); err != nil {
		t.Logf("report: %v", err)
	}
	close(release)
	if err := <-pushed; err != nil {
		t.Fatalf("push again: %v", err)
	}
	r.dv.setBefore(nil)
	r.drain(t, 20, rigLease)
	e := r.entry(t, staleReportID)
	if got := r.dv.status(staleReportID); !strings.HasPrefix(got, "Created in SAP") {
		t.Errorf("SAP has order %s (entry %s, reported %v), but Dynamics says %q: the stale rejection report landed after the push again's write-back",
			e.Result, e.State, e.Reported, got)
	}
}
