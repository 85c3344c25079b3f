package orderpush

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
)

// Failures reach people: a rejection is written back to the D365 order; when that write fails, the sweeper sends
// a "report" message that writes it again later.

const reportID = "0c0ffee0-0000-4000-8000-00000000e001"

// The report is written back after it was decided on: the queue read the entry (rejected, not reported), and while
// its write to Dynamics is on its way the user fixes the customer in SAP and pushes again, which creates the order
// and writes "Created in SAP as sales order N". The report's write then lands and Dynamics reads "Rejected by
// SAP" for an order SAP has; the report's ledger update fails on the ETag and is ignored, so nothing repairs it.
func TestAStaleReportDoesNotOverwriteTheCreatedStatusInDynamics(t *testing.T) {
	r := newRig(t)
	req := inline(reportID, "17100001", "PO-REP-1", "MAT-1", "1")
	r.sap.answerNext(createAnswer{err: businessError("V1/458", "Sold-to party 17100001 is blocked for orders")})
	// Dynamics does not answer when the rejection is first written back: the entry ends rejected, not reported.
	r.dv.setBefore(func(context.Context, string, dataverse.Record) error { return errors.New("dataverse: 503") })
	if _, err := r.s.Push(t.Context(), req, false); err == nil {
		t.Fatal("the push was not rejected")
	}
	r.dv.setBefore(nil)
	if e := r.entry(t, reportID); e.State != ledger.Rejected || e.Reported {
		t.Fatalf("entry %s reported %v", e.State, e.Reported)
	}
	r.queue.take()
	// The sweeper finds it unreported and queues a report.
	r.clock.Advance(r.s.SweepGrace + 1)
	if err := r.s.enqueue(t.Context(), reportID, ActionReport, 0, 0); err != nil {
		t.Fatal(err)
	}
	first := true
	r.dv.setBefore(func(ctx context.Context, id string, rec dataverse.Record) error {
		if s, _ := rec["submitstatusdescription"].(string); first && strings.HasPrefix(s, "Rejected") {
			first = false
			r.dv.setBefore(nil)
			if res, err := r.s.Push(ctx, req, false); err != nil || res.SAPSalesOrder == "" {
				t.Errorf("the push again: %+v %v", res, err)
			}
		}
		return nil
	})
	r.drain(t, 10, 0)
	got := r.dv.status(reportID)
	if len(r.sap.ours(reportID)) == 1 && !strings.HasPrefix(got, "Created in SAP") {
		t.Errorf("SAP has the order (%s), the ledger says %s, Dynamics says %q", r.sap.ours(reportID)[0].SalesOrder, r.entry(t, reportID).State, got)
	}
}
