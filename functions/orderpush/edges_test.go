package orderpush_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

func etagConflict() error {
	return &store.ConflictError{Resource: "table integrationstate entity", StatusCode: 412, Code: "UpdateConditionNotSatisfied"}
}

func TestPushGivesUpAfterRepeatedTakeoverConflicts(t *testing.T) {
	h := newHarness(t)
	h.seed(t, orderpush.Record{State: orderpush.StateFailed, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1})
	var updates atomic.Int32
	h.records.UpdateFn = func(context.Context, store.Row[orderpush.Record]) (azcore.ETag, error) {
		updates.Add(1)
		return "", etagConflict()
	}
	_, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if problem.KindOf(err) != problem.Conflict {
		t.Fatalf("err = %v, want a conflict", err)
	}
	if n := updates.Load(); n != 5 {
		t.Errorf("%d takeover attempts, want 5", n)
	}
	if len(h.sap.Calls()) != 0 {
		t.Errorf("SAP calls %q", h.sap.Calls())
	}
}

func TestPushTakeoverOfARecordWithoutReference(t *testing.T) {
	h := newHarness(t)
	h.seed(t, orderpush.Record{State: orderpush.StateFailed, Attempts: 1})
	h.sap.FindSalesOrdersFn = found("4711")
	if _, err := h.svc.Push(context.Background(), inlineRequest(), false); err != nil {
		t.Fatal(err)
	}
	if got := h.sap.Calls(); !slices.Equal(got, []string{"find PO-4711 " + soldTo}) {
		t.Errorf("SAP calls %q", got)
	}
	if rec := h.record(t); rec.PurchaseOrder != "PO-4711" || rec.SoldTo != soldTo || rec.Attempts != 2 {
		t.Errorf("record %+v", rec)
	}
}

func TestPushLookupOutlastsTheSyncTimeout(t *testing.T) {
	h := newHarness(t)
	h.svc.SyncTimeout = 50 * time.Millisecond
	h.sap.FindSalesOrdersFn = func(ctx context.Context, _, _ string) ([]sap.SalesOrder, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	res, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Accepted || len(h.sap.created) != 0 {
		t.Errorf("result %+v, %d creates", res, len(h.sap.created))
	}
	if sent := h.completions(); len(sent) != 1 || sent[0].Delay != h.svc.RetryDelay+2*time.Second {
		t.Errorf("queued %+v", sent)
	}
}

func TestWriteBackColumnsFollowTheMapping(t *testing.T) {
	h := newHarness(t)
	h.svc.Mapping.WriteBack = orderpush.WriteBack{SAPNumberColumn: "new_sapsalesorder"}
	h.seed(t, orderpush.Record{State: orderpush.StateCreated, SAPSalesOrder: "4711", PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1})
	if err := h.svc.Resume(context.Background(), orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionWriteBack}); err != nil {
		t.Fatal(err)
	}
	if len(h.dv.updates) != 1 || len(h.dv.updates[0]) != 1 || h.dv.updates[0]["new_sapsalesorder"] != "4711" {
		t.Errorf("write-back %v, want only the SAP number column", h.dv.updates)
	}
}

func TestWriteBackRecordUpdate(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind problem.Kind // Internal: nil
	}{
		{"the record changed meanwhile: Dynamics has the number, done", etagConflict(), problem.Internal},
		{"storage down: retried", errors.New("storage: 503"), problem.Unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.seed(t, orderpush.Record{State: orderpush.StateCreated, SAPSalesOrder: "4711", PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1})
			h.records.UpdateFn = func(context.Context, store.Row[orderpush.Record]) (azcore.ETag, error) { return "", tt.err }
			err := h.svc.Resume(context.Background(), orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionWriteBack})
			if tt.kind == problem.Internal && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.kind != problem.Internal && (problem.KindOf(err) != tt.kind || !problem.Retryable(err)) {
				t.Fatalf("err = %v, want a retryable %s", err, tt.kind)
			}
			if _, u := h.dv.counts(); u != 1 {
				t.Errorf("%d write-backs", u)
			}
		})
	}
}

// Between Resume's first read and its claim, another attempt moves the record on.
func TestResumeLosesTheClaim(t *testing.T) {
	tests := []struct {
		name      string
		change    func(*orderpush.Record)
		wantErr   bool
		retryable bool
	}{
		{"to a live attempt: redelivered", func(r *orderpush.Record) {
			r.State, r.Owner, r.LeaseUntil = orderpush.StateInProgress, "http", t0.Add(time.Minute)
		}, true, true},
		{"to created: acknowledged", func(r *orderpush.Record) {
			r.State, r.SAPSalesOrder = orderpush.StateCreated, "4711"
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			msg := queued(t, h)
			flipAfter(h, t, 1, tt.change)
			err := h.svc.Resume(context.Background(), msg)
			if (err != nil) != tt.wantErr || (err != nil && problem.Retryable(err) != tt.retryable) {
				t.Fatalf("err = %v", err)
			}
			if len(h.sap.Calls()) != 0 {
				t.Errorf("SAP calls %q", h.sap.Calls())
			}
		})
	}
}

// The safety net queued by a synchronous attempt finishes a push that failed on something temporary.
func TestSafetyNetFinishesAFailedSyncPush(t *testing.T) {
	h := newHarness(t)
	h.sap.FindSalesOrdersFn = found()
	h.sap.CreateSalesOrderFn = func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
		return sap.SalesOrder{}, &sap.Error{StatusCode: 503}
	}
	if _, err := h.svc.Push(context.Background(), inlineRequest(), false); problem.KindOf(err) != problem.Unavailable {
		t.Fatalf("err = %v", err)
	}
	sent := h.queue.Sent()
	if len(sent) != 1 || !h.isSafetyNet(sent[0]) {
		t.Fatalf("queued %+v, want the safety net", sent)
	}
	// The message becomes visible after the lease; SAP is back.
	h.svc.Now = func() time.Time { return t0.Add(h.safetyNet()) }
	h.sap.CreateSalesOrderFn = createdAs("4711")
	if err := h.svc.Resume(context.Background(), sent[0].Msg); err != nil {
		t.Fatal(err)
	}
	if rec := h.record(t); rec.State != orderpush.StateWrittenBack || rec.SAPSalesOrder != "4711" || rec.Attempts != 2 {
		t.Errorf("record %+v", rec)
	}
	if got := h.sap.Calls(); len(got) != 4 || got[2] != "find PO-4711 "+soldTo {
		t.Errorf("SAP calls %q: the queue must look up before it creates", got)
	}
}

func TestSafetyNetNotQueuedDoesNotFailThePush(t *testing.T) {
	h := newHarness(t)
	h.queue.EnqueueFn = func(context.Context, string, []byte, *store.EnqueueOptions) (string, error) {
		return "", errors.New("queue: 503 ServerBusy")
	}
	h.sap.FindSalesOrdersFn = found()
	h.sap.CreateSalesOrderFn = createdAs("4711")
	res, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if err != nil || !res.Created || res.State != orderpush.StateWrittenBack {
		t.Fatalf("%+v, %v", res, err)
	}
}
