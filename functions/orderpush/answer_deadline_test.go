package orderpush

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
)

// The README: ORDER_PUSH_SYNC_TIMEOUT is "at most 100 s (Power Automate gives up at 120 s)". After SAP's answer the
// push runs on `settling`, a context detached from the request and bounded by a whole LEDGER_LEASE counted from
// SAP's answer (not from the claim): a rejection's or failure's write-back to Dynamics gets all of it, and a
// created order's link and write-back get what the lease has left — a lease that started after the order was
// read from Dataverse, which the request's wait does not bound either. A throttled or hung Dataverse (the client
// obeys Retry-After up to 5 minutes, bounded only by the context) then holds the answer well past 120 s with the
// default settings, and the flow sees a timeout instead of 422 or 201.
//
// Scaled 1:50 from the defaults: SAP_TIMEOUT 30 s → 600 ms, ORDER_PUSH_SYNC_TIMEOUT 45 s → 900 ms, LEDGER_LEASE
// 2 m → 2.4 s, CLOCK_SKEW_TOLERANCE 5 s → 100 ms, margin SAP_TIMEOUT/5 → 120 ms; Power Automate's 120 s → 2.4 s.

const (
	scaledPowerAutomate = 2400 * time.Millisecond
	deadlineID          = "0c0ffee0-0000-4000-8000-0000000d0401"
)

func scaledDefaults(r *rig) {
	r.s.CreateTimeout, r.s.SyncTimeout = 600*time.Millisecond, 900*time.Millisecond
	r.s.Ledger.Lease, r.s.Ledger.Skew, r.s.Ledger.Margin = 2400*time.Millisecond, 100*time.Millisecond, 120*time.Millisecond
	// Real time: the lease and the contexts must run on the same clock here.
	r.s.Now, r.s.Ledger.Now = time.Now, time.Now
}

func TestARejectionsHungWriteBackDoesNotHoldThePushAnswerPastPowerAutomatesTimeout(t *testing.T) {
	r := newRig(t, scaledDefaults)
	// SAP takes 15 s (scaled) to refuse the order; Dataverse is throttled when told.
	r.sap.answerNext(createAnswer{err: businessError("V1/458", "Sold-to party 17100001 is blocked for orders"), delay: 300 * time.Millisecond})
	r.dv.latency = time.Minute
	start := time.Now()
	_, err := r.s.Push(t.Context(), inline(deadlineID, "17100001", "PO-SLOW-REJ", "MAT-1", "1"), false)
	took := time.Since(start)
	if took >= scaledPowerAutomate {
		t.Errorf("the push answered %v after %s (scaled: %.0f s); Power Automate gave up at %.0f s",
			errKind(err), took.Round(time.Millisecond), took.Seconds()*50, scaledPowerAutomate.Seconds()*50)
	}
}

// readingDataverse serves the order read (after readDelay) besides the rig's write-backs.
type readingDataverse struct {
	*fakeDataverse
	readDelay time.Duration
}

func (d *readingDataverse) Retrieve(ctx context.Context, _ string, _ dataverse.Key, _ *dataverse.RetrieveOptions) (dataverse.Record, error) {
	select {
	case <-time.After(d.readDelay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var rec dataverse.Record
	dec := json.NewDecoder(strings.NewReader(`{"ordernumber":"ORD-401","customerid_account":{"accountnumber":"17100001"},
		"order_details":[{"quantity":1,"lineitemnumber":1,"productid":{"productnumber":"MAT-1"},"uomid":{"name":"Each"}}]}`))
	dec.UseNumber()
	return rec, dec.Decode(&rec)
}

func TestACreatedOrdersHungWriteBackDoesNotHoldThePushAnswerPastPowerAutomatesTimeout(t *testing.T) {
	r := newRig(t, scaledDefaults)
	// Dataverse is slow for everyone: the order read takes 30 s (scaled; one DATAVERSE_TIMEOUT), the write-back hangs.
	dv := &readingDataverse{fakeDataverse: r.dv, readDelay: 600 * time.Millisecond}
	r.s.Dataverse = dv
	r.dv.latency = time.Minute
	start := time.Now()
	res, err := r.s.Push(t.Context(), Request{SalesOrderID: deadlineID}, false)
	took := time.Since(start)
	// 201, or 202 when the slow read left no room for a create inside the request's deadline: either way in time.
	if err != nil || !(res.Created || res.Accepted) {
		t.Fatalf("push: %+v %v", res, err)
	}
	if took >= scaledPowerAutomate {
		t.Errorf("the push (SAP order %q) answered only after %s (scaled: %.0f s); Power Automate gave up at %.0f s",
			res.SAPSalesOrder, took.Round(time.Millisecond), took.Seconds()*50, scaledPowerAutomate.Seconds()*50)
	}
}

func errKind(err error) string {
	if err == nil {
		return "success"
	}
	return err.Error()
}
