package orderpush_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// TestParseRequestRejectsTrailingClosers pins that data after the JSON object is refused whatever it is.
func TestParseRequestRejectsTrailingClosers(t *testing.T) {
	for _, tail := range []string{"}", "]", "}}"} {
		t.Run(fmt.Sprintf("%q", tail), func(t *testing.T) {
			_, err := orderpush.ParseRequest([]byte(`{"salesorderid":"` + orderID + `"}` + tail))
			if problem.KindOf(err) != problem.Invalid {
				t.Errorf("a body with %q after the object was accepted (err = %v)", tail, err)
			}
		})
	}
}

// TestRetryAfterFollowsTheServiceClock: the lease is judged on s.Now, so its remaining time must be too.
func TestRetryAfterFollowsTheServiceClock(t *testing.T) {
	h := newHarness(t)
	h.seed(t, orderpush.Record{State: orderpush.StateInProgress, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, LeaseUntil: t0.Add(time.Minute)})
	err := h.svc.Resume(context.Background(), pushMsg)
	if !problem.Retryable(err) {
		t.Fatalf("err = %v", err)
	}
	if got := problem.RetryAfterOf(err); got != time.Minute {
		t.Errorf("RetryAfter = %v, want the lease's remaining minute", got)
	}
}

// TestRetryOfARejectedOrderForgetsSAPsOldMessages: a rejected order pushed again that then fails on something
// temporary must not keep showing the old rejection's messages beside state "failed".
func TestRetryOfARejectedOrderForgetsSAPsOldMessages(t *testing.T) {
	h := newHarness(t)
	h.seed(t, orderpush.Record{State: orderpush.StateRejected, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1,
		LastError: "Sold-to party not defined", SAPMessages: `[{"code":"V1/320","message":"Sold-to party not defined"}]`})
	h.sap.FindSalesOrdersFn = func(context.Context, string, string) ([]sap.SalesOrder, error) {
		return nil, &sap.Error{StatusCode: 503}
	}
	_, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if problem.KindOf(err) != problem.Unavailable {
		t.Fatalf("err = %v", err)
	}
	if rec := h.record(t); rec.State != orderpush.StateFailed || rec.SAPMessages != "" {
		t.Errorf("record: state %s with SAP messages %s from the earlier rejection", rec.State, rec.SAPMessages)
	}
}

// TestResumeOfAnIDTheTableRefusesIsPermanent: Resume is the one place that decides retryable versus permanent.
func TestResumeOfAnIDTheTableRefusesIsPermanent(t *testing.T) {
	h := newHarness(t)
	err := h.svc.Resume(context.Background(), orderpush.QueueMessage{SalesOrderID: "a/b", Action: orderpush.ActionPush})
	if problem.Retryable(err) {
		t.Errorf("err = %v (%s) is retryable; nothing can make this message valid", err, problem.KindOf(err))
	}
}

// sapBook is a faithful SAP for duplicate checks: it keeps every order created and finds them by reference and
// sold-to party, as FindSalesOrders filters in SAP.
type sapBook struct {
	orders []sap.SalesOrderCreate
}

func (b *sapBook) find(_ context.Context, po, soldTo string) ([]sap.SalesOrder, error) {
	var out []sap.SalesOrder
	for i, o := range b.orders {
		if o.PurchaseOrderByCustomer == po && o.SoldToParty == soldTo {
			out = append(out, sap.SalesOrder{SalesOrder: fmt.Sprint(4711 + i)})
		}
	}
	return out, nil
}

// TestFixedSoldToIsLookedUpWithTheSoldToSent: an order rejected because its customer was wrong is fixed in D365
// and pushed again (the README's advice for a 422). The lookup must use the sold-to party the create sends, or a
// create whose answer is lost is never found and the queue creates the order a second time.
func TestFixedSoldToIsLookedUpWithTheSoldToSent(t *testing.T) {
	h := newHarness(t)
	h.seed(t, orderpush.Record{State: orderpush.StateRejected, PurchaseOrder: "PO-4711", SoldTo: "17100099", Attempts: 1,
		LastError: "Sold-to party 17100099 not defined"})
	book := &sapBook{}
	h.sap.FindSalesOrdersFn = book.find
	lost := true
	h.sap.CreateSalesOrderFn = func(_ context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
		book.orders = append(book.orders, o) // SAP commits...
		if lost {
			lost = false
			return sap.SalesOrder{}, outcomeUnknown() // ...and the answer is lost
		}
		return sap.SalesOrder{SalesOrder: fmt.Sprint(4711 + len(book.orders) - 1)}, nil
	}
	res, err := h.svc.Push(context.Background(), inlineRequest(), false) // the account number is now 17100001
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted {
		// The lookup did not find the order it had just created; the queue finishes the push.
		if err := h.svc.Resume(context.Background(), pushMsg); err != nil {
			t.Fatal(err)
		}
	}
	if len(book.orders) != 1 {
		t.Errorf("SAP holds %d orders for one D365 order; SAP calls %q", len(book.orders), h.sap.Calls())
	}
}

// TestNoLookupBeforeTheLostCreateHasEnded: after a 202 for a lost create, the queue waits RetryDelay so the
// create has ended at SAP before the next lookup. A second POST of the same order must not skip that wait.
func TestNoLookupBeforeTheLostCreateHasEnded(t *testing.T) {
	h := newHarness(t)
	h.sap.FindSalesOrdersFn = found()
	h.sap.CreateSalesOrderFn = func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
		return sap.SalesOrder{}, outcomeUnknown()
	}
	res, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if err != nil || !res.Accepted {
		t.Fatalf("first push: %+v, %v", res, err)
	}
	before := len(h.sap.Calls())
	// The same instant (t0): the lost create may still be running at SAP.
	h.sap.CreateSalesOrderFn = createdAs("4712")
	res, err = h.svc.Push(context.Background(), inlineRequest(), false)
	if got := h.sap.Calls()[before:]; len(got) != 0 {
		t.Errorf("a second push within RetryDelay called SAP %q (answer %+v, %v)", got, res, err)
	}
}

// TestLostCreateWithTheQueueDownIsNotLeftAccepted: when the hand-over to the queue fails, nothing is queued, so the
// record must not say "accepted" (the status would answer 202 forever, and an async retry would trust the queue).
func TestLostCreateWithTheQueueDownIsNotLeftAccepted(t *testing.T) {
	h := newHarness(t)
	h.sap.FindSalesOrdersFn = found()
	h.sap.CreateSalesOrderFn = func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
		return sap.SalesOrder{}, outcomeUnknown()
	}
	h.queue.EnqueueFn = func(context.Context, string, []byte, *store.EnqueueOptions) (string, error) {
		return "", errors.New("queue: 503 ServerBusy")
	}
	_, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if problem.KindOf(err) != problem.Unavailable {
		t.Fatalf("err = %v", err)
	}
	// The flow's retry asks for the asynchronous pattern; the queue is back.
	h.queue.EnqueueFn = nil
	res, err := h.svc.Push(context.Background(), inlineRequest(), true)
	if err != nil || !res.Accepted {
		t.Fatalf("async retry: %+v, %v", res, err)
	}
	if len(h.queue.Sent()) != 1 {
		t.Errorf("answered 202 with %d messages queued; record %+v", len(h.queue.Sent()), h.record(t))
	}
}

// TestReplayWithWriteBackPendingQueuesIt: Result.WriteBackPending promises "the queue finishes it"; a replay that
// could not write back must make sure a write-back is queued (the first one may be long dead-lettered).
func TestReplayWithWriteBackPendingQueuesIt(t *testing.T) {
	h := newHarness(t)
	h.seed(t, orderpush.Record{State: orderpush.StateCreated, SAPSalesOrder: "4711", PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1})
	h.dv.UpdateFn = func(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error) {
		return dataverse.Written{}, &dataverse.Error{Status: 503, Kind: dataverse.KindServer}
	}
	res, err := h.svc.Push(context.Background(), orderpush.Request{SalesOrderID: orderID}, false)
	if err != nil || !res.WriteBackPending {
		t.Fatalf("%+v, %v", res, err)
	}
	if sent := h.queue.Sent(); len(sent) != 1 || sent[0].Msg.Action != orderpush.ActionWriteBack {
		t.Errorf("queued %+v, want a write-back", sent)
	}
}
