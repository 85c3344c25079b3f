package orderpush

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/store"
)

// giveUpWriteBack ends a created push "whose write-back Dataverse refuses for good" on the first permanent-looking
// answer of the queue's first try: classify.Dataverse calls every 400 Rejected. A synchronous plugin on salesorder
// update that throws (InvalidPluginExecutionException: its own call to a pricing or credit service timed out, a
// record it reads is locked) answers 400 0x80040265 "ISV code aborted the operation" — transient, but classified
// permanent. The entry becomes Completed and unreported, which nothing looks at again: the sweeper's query skips
// completed entries, a push again replays without writing back, and the status says "written-back".

const refusedID = "0c0ffee0-0000-4000-8000-0000000d0101"

// pluginFails makes the first n write-backs fail as a synchronous plugin that throws does.
func pluginFails(n int32) func(context.Context, string, dataverse.Record) error {
	var calls atomic.Int32
	return func(context.Context, string, dataverse.Record) error {
		if calls.Add(1) > n {
			return nil
		}
		return &dataverse.Error{Status: 400, Code: "0x80040265", Kind: dataverse.KindBadRequest,
			Message: "ISV code aborted the operation: the credit check service did not answer in time"}
	}
}

func (r *rig) refuseOnce(t *testing.T) string {
	t.Helper()
	r.dv.setBefore(pluginFails(2)) // the push's own write-back and the queue's first retry
	res, err := r.s.Push(t.Context(), inline(refusedID, "17100001", "PO-PLUGIN-1", "MAT-1", "1"), false)
	if err != nil || !res.Created || !res.WriteBackPending {
		t.Fatalf("push: %+v %v", res, err)
	}
	r.drain(t, 1, 10*time.Second)
	return res.SAPSalesOrder
}

func TestAWriteBackRefusedByAFailingPluginStillReachesDynamicsOnceThePluginRecovers(t *testing.T) {
	r := newRig(t)
	number := r.refuseOnce(t)
	// The plugin works again; the queue and the sweeper go on for hours.
	for range 12 {
		r.drain(t, 20, time.Minute)
		r.clock.Advance(r.s.SweepGrace)
		if _, err := r.s.Sweep(t.Context(), r.table.Table.(*store.MemTable[json.RawMessage])); err != nil {
			t.Fatal(err)
		}
	}
	r.drain(t, 20, time.Minute)
	if got := r.dv.status(refusedID); !strings.Contains(got, number) {
		e := r.entry(t, refusedID)
		t.Errorf("SAP has order %s; after one transient plugin failure Dynamics never gets it (status column %q; entry %s, reported %v, %q)",
			number, got, e.State, e.Reported, e.LastError)
	}
}

func TestAPushAgainWritesBackTheNumberDynamicsRefusedBefore(t *testing.T) {
	r := newRig(t)
	number := r.refuseOnce(t)
	// Someone notices the order has no SAP number and has the flow push it again.
	res, err := r.s.Push(t.Context(), inline(refusedID, "17100001", "PO-PLUGIN-1", "MAT-1", "1"), false)
	if err != nil || res.SAPSalesOrder != number {
		t.Fatalf("push again: %+v %v", res, err)
	}
	r.drain(t, 20, time.Minute)
	if got := r.dv.status(refusedID); !strings.Contains(got, number) {
		t.Errorf("the push again answered %d %s with SAP order %s, but Dynamics still lacks it (status column %q)",
			map[bool]int{true: 201, false: 200}[res.Created], res.State, number, got)
	}
}

// The status says written-back only when Dynamics has the number: while the write-back is refused, and after the
// push has stopped trying it, it says created (with the refusal as lastError).
func TestTheStatusOfAPushWhoseWriteBackWasRefusedDoesNotSayWrittenBack(t *testing.T) {
	for _, refusals := range []int32{2, 1000} {
		r := newRig(t)
		r.dv.setBefore(pluginFails(refusals))
		res, err := r.s.Push(t.Context(), inline(refusedID, "17100001", "PO-PLUGIN-1", "MAT-1", "1"), false)
		if err != nil || !res.Created {
			t.Fatalf("push: %+v %v", res, err)
		}
		for range refusedWriteBackTries + 2 {
			r.drain(t, 20, 10*time.Minute)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/orders/"+refusedID, nil)
		req.SetPathValue("salesorderid", refusedID)
		ServeStatus(rec, req, r.s.Ledger, "")
		told := strings.Contains(r.dv.status(refusedID), res.SAPSalesOrder)
		if says := strings.Contains(rec.Body.String(), `"state":"written-back"`); says != told {
			t.Errorf("%d refusals: the status says written-back %v, Dynamics has the number %v: %d %s", refusals, says, told, rec.Code, rec.Body)
		}
	}
}
