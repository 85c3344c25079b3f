package orderpush_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

var pushMsg = orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionPush}

// queued leaves the order as a 202 would: record accepted, request archived, one message.
func queued(t *testing.T, h *harness) orderpush.QueueMessage {
	t.Helper()
	res, err := h.svc.Push(context.Background(), inlineRequest(), true)
	if err != nil || !res.Accepted {
		t.Fatalf("queueing: %+v, %v", res, err)
	}
	sent := h.queue.Sent()
	if len(sent) != 1 {
		t.Fatalf("queued %+v", sent)
	}
	h.queue.mu.Lock()
	h.queue.sent = nil
	h.queue.mu.Unlock()
	return sent[0].Msg
}

func TestResumeFinishedOrdersAreAcknowledged(t *testing.T) {
	for _, st := range []orderpush.State{orderpush.StateWrittenBack, orderpush.StateRejected} {
		for _, action := range []string{orderpush.ActionPush, orderpush.ActionWriteBack} {
			t.Run(string(st)+"/"+action, func(t *testing.T) {
				h := newHarness(t)
				h.seed(t, orderpush.Record{State: st, SAPSalesOrder: "4711", PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1})
				if err := h.svc.Resume(context.Background(), orderpush.QueueMessage{SalesOrderID: orderID, Action: action}); err != nil {
					t.Fatalf("err = %v, want an acknowledgement", err)
				}
				if len(h.sap.Calls()) != 0 {
					t.Errorf("SAP calls %q", h.sap.Calls())
				}
				if _, u := h.dv.counts(); u != 0 {
					t.Errorf("%d write-backs", u)
				}
				if rec := h.record(t); rec.State != st || rec.Attempts != 1 {
					t.Errorf("record %+v", rec)
				}
			})
		}
	}
}

func TestResumeCreatedWritesBackOnly(t *testing.T) {
	tests := []struct {
		name      string
		dv        func(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error)
		kind      problem.Kind // Internal: nil
		retryable bool
		state     orderpush.State
	}{
		{"Dataverse answers", nil, problem.Internal, false, orderpush.StateWrittenBack},
		{"Dataverse throttles", func(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error) {
			return dataverse.Written{}, &dataverse.Error{Status: 429, Kind: dataverse.KindThrottled, RetryAfter: 3 * time.Second}
		}, problem.Throttled, true, orderpush.StateCreated},
		{"the order was deleted in Dynamics", func(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error) {
			return dataverse.Written{}, &dataverse.Error{Status: 404, Kind: dataverse.KindNotFound}
		}, problem.NotFound, false, orderpush.StateCreated},
	}
	for _, tt := range tests {
		for _, action := range []string{orderpush.ActionWriteBack, orderpush.ActionPush} {
			t.Run(tt.name+"/"+action, func(t *testing.T) {
				h := newHarness(t)
				if tt.dv != nil {
					h.dv.UpdateFn = tt.dv
				}
				h.seed(t, orderpush.Record{State: orderpush.StateCreated, SAPSalesOrder: "4711", PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1})
				err := h.svc.Resume(context.Background(), orderpush.QueueMessage{SalesOrderID: orderID, Action: action})
				if tt.kind == problem.Internal && err != nil {
					t.Fatal(err)
				}
				if tt.kind != problem.Internal && (problem.KindOf(err) != tt.kind || problem.Retryable(err) != tt.retryable) {
					t.Fatalf("err = %v, want %s (retryable %v)", err, tt.kind, tt.retryable)
				}
				if len(h.sap.Calls()) != 0 {
					t.Errorf("SAP calls %q", h.sap.Calls())
				}
				if _, u := h.dv.counts(); u != 1 || h.dv.updates[0]["submitstatusdescription"] != "Created in SAP as sales order 4711" {
					t.Errorf("write-backs %v", h.dv.updates)
				}
				if rec := h.record(t); rec.State != tt.state {
					t.Errorf("record %+v", rec)
				}
			})
		}
	}
}

func TestResumeAcceptedPushesFromTheArchive(t *testing.T) {
	h := newHarness(t)
	msg := queued(t, h)
	if msg != pushMsg {
		t.Fatalf("message %+v", msg)
	}
	// The first attempt fixed the reference; the archive still holds the order's own PO number.
	rec := h.record(t)
	rec.PurchaseOrder = "PO-FIRST"
	h.set(t, rec)
	h.sap.FindSalesOrdersFn = found()
	h.sap.CreateSalesOrderFn = createdAs("4711")
	ctx := trigger.WithInvocation(context.Background(), trigger.Invocation{ID: "q-1", Function: "orderpushqueue"})
	if err := h.svc.Resume(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if got, want := h.sap.Calls(), []string{"find PO-FIRST " + soldTo, "create PO-FIRST"}; !slices.Equal(got, want) {
		t.Errorf("SAP calls %q, want %q", got, want)
	}
	so := h.sap.created[0]
	if so.SoldToParty != soldTo || len(so.Items) != 2 || so.Items[1].RequestedQuantity.String() != "1.005" || so.Items[1].RequestedQuantityUnit != "KG" || so.SalesOrganization != "1010" {
		t.Errorf("the payload from the archive %+v", so)
	}
	rec = h.record(t)
	if rec.State != orderpush.StateWrittenBack || rec.SAPSalesOrder != "4711" || rec.Attempts != 2 || rec.Owner != "q-1" {
		t.Errorf("record %+v", rec)
	}
	entries := 0
	for row, err := range h.audit.Query(context.Background(), orderID, nil) {
		if err != nil {
			t.Fatal(err)
		}
		entries++
		if row.Value.Trigger != "queue" || row.Value.Outcome != "created" || row.Value.Attempt != 2 {
			t.Errorf("audit %+v", row.Value)
		}
	}
	if entries != 1 {
		t.Errorf("%d audit entries", entries)
	}
}

func TestResumeAcceptedFailures(t *testing.T) {
	tests := []struct {
		name      string
		find      func(context.Context, string, string) ([]sap.SalesOrder, error)
		create    func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error)
		wantErr   bool
		kind      problem.Kind
		state     orderpush.State
		createdBy int
	}{
		{"SAP already has it", found("4711"), nil, false, 0, orderpush.StateWrittenBack, 0},
		{"SAP rejects: acknowledged, recorded", found(), func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
			return sap.SalesOrder{}, businessError()
		}, false, 0, orderpush.StateRejected, 1},
		{"SAP unavailable: redelivered, still accepted", found(), func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
			return sap.SalesOrder{}, &sap.Error{StatusCode: 503}
		}, true, problem.Unavailable, orderpush.StateAccepted, 1},
		{"the answer was lost: redelivered, still accepted", found(), func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
			return sap.SalesOrder{}, outcomeUnknown()
		}, true, problem.Unavailable, orderpush.StateAccepted, 1},
		{"the lookup fails: nothing created", func(context.Context, string, string) ([]sap.SalesOrder, error) {
			return nil, errors.New("connection reset")
		}, nil, true, problem.Unavailable, orderpush.StateAccepted, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			msg := queued(t, h)
			h.sap.FindSalesOrdersFn, h.sap.CreateSalesOrderFn = tt.find, tt.create
			err := h.svc.Resume(context.Background(), msg)
			if !tt.wantErr && err != nil {
				t.Fatalf("err = %v, want an acknowledgement", err)
			}
			if tt.wantErr && (problem.KindOf(err) != tt.kind || !problem.Retryable(err)) {
				t.Fatalf("err = %v, want a retryable %s", err, tt.kind)
			}
			if len(h.sap.created) != tt.createdBy {
				t.Errorf("%d creates, want %d", len(h.sap.created), tt.createdBy)
			}
			rec := h.record(t)
			// No lease is left behind, except the hold after a create whose outcome is unknown.
			if rec.State != tt.state || (!rec.LeaseUntil.IsZero() && !rec.LeaseUntil.Equal(t0.Add(h.svc.RetryDelay))) {
				t.Errorf("record %+v", rec)
			}
			if len(h.queue.Sent()) != 0 {
				t.Errorf("the queue path queued again: %+v", h.queue.Sent())
			}
		})
	}
}

func TestResumeRetryableOrPermanent(t *testing.T) {
	tests := []struct {
		name      string
		seed      *orderpush.Record
		msg       orderpush.QueueMessage
		blobs     func(h *harness)
		kind      problem.Kind
		retryable bool
	}{
		{"another attempt holds the lease", &orderpush.Record{State: orderpush.StateInProgress, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, LeaseUntil: t0.Add(time.Minute), RequestBlob: "orders/x/r.json.gz"},
			pushMsg, nil, problem.Unavailable, true},
		{"no push is recorded", nil, pushMsg, nil, problem.NotFound, false},
		{"the archived request is gone", &orderpush.Record{State: orderpush.StateAccepted, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, RequestBlob: "orders/" + orderID + "/gone.json.gz"},
			pushMsg, nil, problem.NotFound, false},
		{"the archive cannot be read", &orderpush.Record{State: orderpush.StateAccepted, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, RequestBlob: "orders/" + orderID + "/r.json.gz"},
			pushMsg, func(h *harness) {
				h.blobs.GetBlobFn = func(context.Context, string, string) (store.Blob, error) {
					return store.Blob{}, errors.New("storage: 500")
				}
			}, problem.Unavailable, true},
		{"the archive is not gzip", &orderpush.Record{State: orderpush.StateAccepted, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, RequestBlob: "orders/" + orderID + "/r.json.gz"},
			pushMsg, func(h *harness) {
				h.blobs.GetBlobFn = func(context.Context, string, string) (store.Blob, error) {
					return store.Blob{Data: []byte(`{"order":{}}`)}, nil
				}
			}, problem.Internal, true},
		{"reading the record fails", nil, pushMsg, func(h *harness) {
			h.records.GetFn = func(context.Context, string, string) (store.Row[orderpush.Record], error) {
				return store.Row[orderpush.Record]{}, errors.New("storage: 503")
			}
		}, problem.Unavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.seed != nil {
				h.seed(t, *tt.seed)
			}
			if tt.blobs != nil {
				tt.blobs(h)
			}
			err := h.svc.Resume(context.Background(), tt.msg)
			if problem.KindOf(err) != tt.kind || problem.Retryable(err) != tt.retryable {
				t.Fatalf("err = %v (%s, retryable %v), want %s retryable %v", err, problem.KindOf(err), problem.Retryable(err), tt.kind, tt.retryable)
			}
			if len(h.sap.Calls()) != 0 {
				t.Errorf("SAP calls %q", h.sap.Calls())
			}
			if tt.seed != nil {
				if rec := h.record(t); rec.State != tt.seed.State || rec.Attempts != 1 {
					t.Errorf("record %+v", rec)
				}
			}
		})
	}
}

func TestResumeTakesOverAnExpiredLease(t *testing.T) {
	h := newHarness(t)
	queued(t, h)
	rec := h.record(t)
	rec.State, rec.Owner, rec.LeaseUntil = orderpush.StateInProgress, "dead", t0.Add(-time.Second)
	h.set(t, rec)
	h.sap.FindSalesOrdersFn = found("4711")
	if err := h.svc.Resume(context.Background(), orderpush.QueueMessage{SalesOrderID: strings.ToUpper(orderID), Action: orderpush.ActionPush}); err != nil {
		t.Fatal(err)
	}
	if got := h.sap.Calls(); !slices.Equal(got, []string{"find PO-4711 " + soldTo}) {
		t.Errorf("SAP calls %q", got)
	}
	if rec := h.record(t); rec.State != orderpush.StateWrittenBack || rec.SAPSalesOrder != "4711" || rec.Attempts != 2 {
		t.Errorf("record %+v", rec)
	}
}

func TestResumeWriteBackMessageBeforeTheOrderExists(t *testing.T) {
	for _, st := range []orderpush.State{orderpush.StateAccepted, orderpush.StateFailed} {
		t.Run(string(st), func(t *testing.T) {
			h := newHarness(t)
			h.seed(t, orderpush.Record{State: st, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, RequestBlob: "orders/x/r.json.gz"})
			if err := h.svc.Resume(context.Background(), orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionWriteBack}); err != nil {
				t.Fatalf("err = %v: a write-back message has nothing to do yet", err)
			}
			if len(h.sap.Calls()) != 0 {
				t.Errorf("SAP calls %q", h.sap.Calls())
			}
			if _, u := h.dv.counts(); u != 0 {
				t.Errorf("wrote back without a number")
			}
		})
	}
}
