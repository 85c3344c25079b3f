package orderpush

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
)

// "After SAP's answer everything runs on a detached context (settling)" — for a created, rejected or failed
// push. A create whose outcome SAP left unknown (a 500, a timeout) or that SAP refused for now (429, CSRF) goes
// to again(), which records the retry on the request's own context. When the caller has hung up (Power Automate
// cancelled the run, the gateway timed out), that record fails: the attempt that sent a create SAP may have
// committed leaves no audit row (claim 9: "Every attempt leaves an audit row"), no hold is written, and the status
// says in-progress until the lease has passed.

const hangupID = "0c0ffee0-0000-4000-8000-0000000d0701"

func TestAnUnknownCreateIsRecordedEvenWhenTheCallerHangsUp(t *testing.T) {
	r := newRig(t)
	ctx, hangUp := context.WithCancel(t.Context())
	defer hangUp()
	r.sap.answerNext(createAnswer{err: fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 500, Message: "ABAP runtime error TIME_OUT"}),
		delay: 50 * time.Millisecond})
	go func() { time.Sleep(10 * time.Millisecond); hangUp() }()
	_, _ = r.s.Push(ctx, inline(hangupID, "17100001", "PO-HANGUP-2", "MAT-1", "1"), false)
	var rows []string
	for _, a := range r.audits(t, hangupID) {
		rows = append(rows, a.Outcome)
	}
	e := r.entry(t, hangupID)
	if len(rows) == 0 || e.State == ledger.InProgress {
		t.Errorf("SAP answered 500 to a create it may have committed; after the caller hung up the attempt left audit rows %v "+
			"and the entry %s (hold until %s)", rows, e.State, e.HoldUntil.Format(time.TimeOnly))
	}
}

// The same without a hang-up: SAP times out (it is overloaded), and the lookup right after the lost answer is slow
// too, so the request's wait (ORDER_PUSH_SYNC_TIMEOUT) runs out before again() records the retry. With the
// defaults a create may start 15 s into a 45 s wait and SAP may take its whole 30 s: any lookup slower than what
// is left loses the attempt's record.
func TestAnUnknownCreateIsRecordedWhenTheRequestsWaitRunsOutDuringTheLookup(t *testing.T) {
	r := newRig(t)
	r.s.Mapping.Reference = Reference{Mode: RefHeaderText, TextID: "Z001", Language: "EN"}
	r.s.CreateTimeout, r.s.SyncTimeout = 400*time.Millisecond, 600*time.Millisecond
	r.sap.answerNext(createAnswer{delay: time.Minute}) // no answer: the create runs into its timeout
	r.sap.textWait = 300 * time.Millisecond            // SAP answers the lookup slowly
	_, _ = r.s.Push(t.Context(), inline(hangupID, "17100001", "PO-SLOWLOOK-1", "MAT-1", "1"), false)
	var rows []string
	for _, a := range r.audits(t, hangupID) {
		rows = append(rows, a.Outcome)
	}
	e := r.entry(t, hangupID)
	if len(rows) == 0 || e.State == ledger.InProgress {
		t.Errorf("SAP did not answer a create it may have committed; the attempt left audit rows %v and the entry %s (hold until %s)",
			rows, e.State, e.HoldUntil.Format(time.TimeOnly))
	}
}
