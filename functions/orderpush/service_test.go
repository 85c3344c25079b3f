package orderpush_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

func TestPushCreatesOnceAfterALookup(t *testing.T) {
	h := newHarness(t)
	h.sap.FindSalesOrdersFn = found()
	h.sap.CreateSalesOrderFn = createdAs("4711")
	ctx := trigger.WithInvocation(context.Background(), trigger.Invocation{ID: "inv-1", Function: "orderpush"})

	res, err := h.svc.Push(ctx, inlineRequest(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Accepted || res.SAPSalesOrder != "4711" || res.State != orderpush.StateWrittenBack || res.WriteBackPending {
		t.Errorf("result %+v", res)
	}
	if got, want := h.sap.Calls(), []string{"find PO-4711 " + soldTo, "create PO-4711"}; !slices.Equal(got, want) {
		t.Errorf("SAP calls %q, want %q", got, want)
	}
	rec := h.record(t)
	if rec.State != orderpush.StateWrittenBack || !rec.WriteBackDone || rec.SAPSalesOrder != "4711" || rec.Attempts != 1 ||
		rec.Owner != "inv-1" || !rec.LeaseUntil.IsZero() || !rec.CompletedAt.Equal(t0) || rec.PurchaseOrder != "PO-4711" || rec.SoldTo != soldTo {
		t.Errorf("record %+v", rec)
	}
	if !strings.HasPrefix(rec.RequestBlob, "orders/"+orderID+"/") || !strings.HasSuffix(rec.RequestBlob, "-inv-1-request.json.gz") {
		t.Errorf("request blob %q", rec.RequestBlob)
	}
	if len(h.dv.updates) != 1 {
		t.Fatalf("%d write-backs", len(h.dv.updates))
	}
	wb := h.dv.updates[0]
	if wb["submitstatusdescription"] != "Created in SAP as sales order 4711" || wb["submitdate"] != t0.Format(time.RFC3339) || wb["lastbackofficesubmit"] != t0.Format(time.RFC3339) {
		t.Errorf("write-back %v", wb)
	}
	if _, ok := wb[""]; ok {
		t.Errorf("the empty sapNumberColumn was written: %v", wb)
	}
	if got := h.auditOutcomes(t); !slices.Equal(got, []string{"created"}) {
		t.Errorf("audit %q", got)
	}
	if got := h.completions(); len(got) != 0 {
		t.Errorf("queued %+v", got)
	}
	if n := h.safetyNets(); n != 1 {
		t.Errorf("%d safety-net messages, want one per owned attempt; queued %+v", n, h.queue.Sent())
	}
	// The request and SAP's answer are archived; the request archive holds the SAP payload.
	if len(h.blobs.puts) != 2 || !strings.HasSuffix(h.blobs.puts[1], "-sap-response.json.gz") {
		t.Errorf("archived %q", h.blobs.puts)
	}
}

func TestPushPurchaseOrderReference(t *testing.T) {
	tests := []struct {
		name, po, number, want string
	}{
		{"the customer's PO number", " PO-77 ", "ORD-1", "PO-77"},
		{"else the D365 order number", "", " ORD-01001 ", "ORD-01001"},
		{"blank PO number falls back to the order number", "  ", "ORD-01001", "ORD-01001"},
		{"else one derived from the id, 35 characters", "", "", "D365-6f1c2b9e3a4d4e5f8a7b1c2d3e4f5a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.sap.FindSalesOrdersFn = found("4711")
			req := inlineRequest()
			req.Order.PurchaseOrderNumber, req.Order.OrderNumber = tt.po, tt.number
			if _, err := h.svc.Push(context.Background(), req, false); err != nil {
				t.Fatal(err)
			}
			if got := h.sap.Calls(); len(got) != 1 || got[0] != "find "+tt.want+" "+soldTo {
				t.Errorf("SAP calls %q, want a lookup by %q", got, tt.want)
			}
			if len(tt.want) > 35 {
				t.Errorf("reference %q is longer than 35", tt.want)
			}
			if rec := h.record(t); rec.PurchaseOrder != tt.want {
				t.Errorf("record's reference %q", rec.PurchaseOrder)
			}
		})
	}
}

// (a) and (b): a replay answers the first push's number without SAP.
func TestPushReplay(t *testing.T) {
	dvDown := func(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error) {
		return dataverse.Written{}, &dataverse.Error{Status: 503, Kind: dataverse.KindServer, Message: "down"}
	}
	tests := []struct {
		name        string
		state       orderpush.State
		dvUpdate    func(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error)
		wantState   orderpush.State
		wantPending bool
		writeBacks  int
	}{
		{"written back: nothing to do", orderpush.StateWrittenBack, nil, orderpush.StateWrittenBack, false, 0},
		{"created: the replay writes back", orderpush.StateCreated, nil, orderpush.StateWrittenBack, false, 1},
		{"created, Dataverse down: still pending", orderpush.StateCreated, dvDown, orderpush.StateCreated, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.dvUpdate != nil {
				h.dv.UpdateFn = tt.dvUpdate
			}
			h.seed(t, orderpush.Record{State: tt.state, SAPSalesOrder: "4711", PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, WriteBackDone: tt.state == orderpush.StateWrittenBack})
			// Only the id: a replay must not even read the order from Dynamics.
			res, err := h.svc.Push(context.Background(), orderpush.Request{SalesOrderID: orderID}, false)
			if err != nil {
				t.Fatal(err)
			}
			if res.SAPSalesOrder != "4711" || res.Created || res.Accepted || res.State != tt.wantState || res.WriteBackPending != tt.wantPending {
				t.Errorf("result %+v", res)
			}
			if got := h.sap.Calls(); len(got) != 0 {
				t.Errorf("SAP was called: %q", got)
			}
			if r, u := h.dv.counts(); r != 0 || u != tt.writeBacks {
				t.Errorf("Dataverse: %d reads, %d updates; want 0, %d", r, u, tt.writeBacks)
			}
			if rec := h.record(t); rec.State != tt.wantState {
				t.Errorf("record state %s, want %s", rec.State, tt.wantState)
			}
			if len(h.blobs.puts) != 0 {
				t.Errorf("archived %q on a replay", h.blobs.puts)
			}
			// A write-back still pending is handed to the queue; otherwise a replay queues nothing.
			sent := h.queue.Sent()
			if tt.wantPending && (len(sent) != 1 || sent[0].Msg.Action != orderpush.ActionWriteBack) {
				t.Errorf("a pending write-back queued %+v, want one write-back", sent)
			}
			if !tt.wantPending && len(sent) != 0 {
				t.Errorf("a replay queued %+v", sent)
			}
		})
	}
}

// flipAfter makes the record table answer in-progress for n reads, then apply change, as the owning instance would.
func flipAfter(h *harness, t *testing.T, n int32, change func(*orderpush.Record)) *atomic.Int32 {
	var gets atomic.Int32
	h.records.GetFn = func(ctx context.Context, pk, rk string) (store.Row[orderpush.Record], error) {
		if gets.Add(1) == n+1 {
			rec := h.record(t)
			change(&rec)
			h.set(t, rec)
		}
		return h.mem.Get(ctx, pk, rk)
	}
	return &gets
}

// (c) a live owner: the push waits and answers the owner's outcome.
func TestPushWaitsForTheOwner(t *testing.T) {
	live := orderpush.Record{State: orderpush.StateInProgress, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, Owner: "other", LeaseUntil: t0.Add(time.Minute)}
	tests := []struct {
		name     string
		change   func(*orderpush.Record)
		kind     problem.Kind // Internal: no error
		state    orderpush.State
		number   string
		accepted bool
	}{
		{"the owner created it", func(r *orderpush.Record) {
			r.State, r.SAPSalesOrder, r.LeaseUntil = orderpush.StateCreated, "4711", time.Time{}
		},
			problem.Internal, orderpush.StateWrittenBack, "4711", false},
		{"the owner was rejected", func(r *orderpush.Record) {
			r.State, r.LastError, r.SAPMessages = orderpush.StateRejected, "Sold-to party not defined", `[{"code":"V1/320","message":"Sold-to party not defined"}]`
		}, problem.Rejected, orderpush.StateRejected, "", false},
		{"the owner failed", func(r *orderpush.Record) { r.State, r.LastError = orderpush.StateFailed, "SAP answered 503" },
			problem.Unavailable, orderpush.StateFailed, "", false},
		{"the owner handed over to the queue", func(r *orderpush.Record) { r.State = orderpush.StateAccepted },
			problem.Internal, orderpush.StateAccepted, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.seed(t, live)
			gets := flipAfter(h, t, 4, tt.change)
			res, err := h.svc.Push(context.Background(), inlineRequest(), false)
			if tt.kind == problem.Internal && err != nil {
				t.Fatal(err)
			}
			if tt.kind != problem.Internal && problem.KindOf(err) != tt.kind {
				t.Fatalf("err = %v, want %s", err, tt.kind)
			}
			if res.State != tt.state || res.SAPSalesOrder != tt.number || res.Created || res.Accepted != tt.accepted {
				t.Errorf("result %+v", res)
			}
			if gets.Load() < 5 {
				t.Errorf("answered after %d reads, before the owner finished", gets.Load())
			}
			if got := h.sap.Calls(); len(got) != 0 {
				t.Errorf("a waiter called SAP: %q", got)
			}
			if h.safetyNets() != 0 {
				t.Errorf("a waiter queued a safety net: %+v", h.queue.Sent())
			}
			if tt.kind == problem.Rejected {
				var pe *problem.Error
				errors.As(err, &pe)
				msgs, _ := pe.Extra["sapMessages"].([]orderpush.SAPMessage)
				if len(msgs) != 1 || msgs[0].Code != "V1/320" {
					t.Errorf("sapMessages %+v", pe.Extra)
				}
			}
			if rec := h.record(t); rec.Owner != "other" || rec.Attempts != 1 {
				t.Errorf("the waiter took the record over: %+v", rec)
			}
		})
	}
}

func TestPushWaitEndsInConflict(t *testing.T) {
	h := newHarness(t)
	h.svc.SyncTimeout = 200 * time.Millisecond
	h.seed(t, orderpush.Record{State: orderpush.StateInProgress, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, Owner: "other", LeaseUntil: t0.Add(time.Minute)})
	start := time.Now()
	_, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if problem.KindOf(err) != problem.Conflict || problem.RetryAfterOf(err) <= 0 {
		t.Fatalf("err = %v, want a conflict with Retry-After", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("waited %v past a 200ms sync timeout", d)
	}
	if got := h.sap.Calls(); len(got) != 0 {
		t.Errorf("SAP calls %q", got)
	}
}

func TestPushWaitEndsWithTheRequest(t *testing.T) {
	h := newHarness(t)
	h.seed(t, orderpush.Record{State: orderpush.StateInProgress, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, Owner: "other", LeaseUntil: t0.Add(time.Minute)})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := h.svc.Push(ctx, inlineRequest(), false)
	if problem.KindOf(err) != problem.Timeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a timeout wrapping the deadline", err)
	}
}

// (d) a dead owner: the push takes over under the ETag and looks the order up before any create.
func TestPushTakesOverAnExpiredLease(t *testing.T) {
	tests := []struct {
		name    string
		find    []string
		calls   []string
		created bool
	}{
		{"SAP has it: no create", []string{"4711"}, []string{"find PO-FIRST " + soldTo}, false},
		{"SAP has two: the first wins", []string{"4711", "4712"}, []string{"find PO-FIRST " + soldTo}, false},
		{"SAP lacks it: create with the first reference", nil, []string{"find PO-FIRST " + soldTo, "create PO-FIRST"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			etag := h.seed(t, orderpush.Record{State: orderpush.StateInProgress, PurchaseOrder: "PO-FIRST", SoldTo: soldTo, Attempts: 1,
				Owner: "dead", LeaseUntil: t0.Add(-time.Second), RequestBlob: "orders/x/old-request.json.gz"})
			h.sap.FindSalesOrdersFn = found(tt.find...)
			h.sap.CreateSalesOrderFn = createdAs("4711")
			ctx := trigger.WithInvocation(context.Background(), trigger.Invocation{ID: "inv-2"})
			res, err := h.svc.Push(ctx, inlineRequest(), false) // the order now says PO-4711
			if err != nil {
				t.Fatal(err)
			}
			if res.SAPSalesOrder != "4711" || res.Created != tt.created || res.State != orderpush.StateWrittenBack {
				t.Errorf("result %+v", res)
			}
			if got := h.sap.Calls(); !slices.Equal(got, tt.calls) {
				t.Errorf("SAP calls %q, want %q", got, tt.calls)
			}
			if tt.created && h.sap.created[0].PurchaseOrderByCustomer != "PO-FIRST" {
				t.Errorf("created with reference %q", h.sap.created[0].PurchaseOrderByCustomer)
			}
			if len(h.records.updates) == 0 || h.records.updates[0].ETag != etag {
				t.Fatalf("the takeover was not guarded by the record's ETag %s", etag)
			}
			take := h.records.updates[0].Value
			if take.State != orderpush.StateInProgress || take.Owner != "inv-2" || take.Attempts != 2 || !take.LeaseUntil.Equal(t0.Add(2*time.Minute)) ||
				take.PurchaseOrder != "PO-FIRST" || take.RequestBlob == "orders/x/old-request.json.gz" {
				t.Errorf("takeover wrote %+v", take)
			}
			if rec := h.record(t); rec.State != orderpush.StateWrittenBack || rec.Attempts != 2 || rec.SAPSalesOrder != "4711" {
				t.Errorf("record %+v", rec)
			}
		})
	}
}

func outcomeUnknown() error {
	return fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, io.ErrUnexpectedEOF)
}

// (e) a create whose answer was lost.
func TestPushOutcomeUnknown(t *testing.T) {
	t.Run("the second lookup finds it", func(t *testing.T) {
		h := newHarness(t)
		var finds atomic.Int32
		h.sap.FindSalesOrdersFn = func(context.Context, string, string) ([]sap.SalesOrder, error) {
			if finds.Add(1) == 1 {
				return nil, nil
			}
			return []sap.SalesOrder{{SalesOrder: "4711"}}, nil
		}
		h.sap.CreateSalesOrderFn = func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
			return sap.SalesOrder{}, outcomeUnknown()
		}
		res, err := h.svc.Push(context.Background(), inlineRequest(), false)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || res.SAPSalesOrder != "4711" || res.State != orderpush.StateWrittenBack {
			t.Errorf("result %+v", res)
		}
		want := []string{"find PO-4711 " + soldTo, "create PO-4711", "find PO-4711 " + soldTo}
		if got := h.sap.Calls(); !slices.Equal(got, want) {
			t.Errorf("SAP calls %q, want %q", got, want)
		}
	})
	tests := []struct {
		name   string
		create func(ctx context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error)
		sync   time.Duration
	}{
		{"the answer was lost", func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
			return sap.SalesOrder{}, outcomeUnknown()
		}, time.Second},
		{"SAP outlasted the sync timeout", func(ctx context.Context, _ sap.SalesOrderCreate) (sap.SalesOrder, error) {
			<-ctx.Done()
			return sap.SalesOrder{}, fmt.Errorf("posting: %w", ctx.Err())
		}, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name+": still not found, queued", func(t *testing.T) {
			h := newHarness(t)
			h.svc.SyncTimeout = tt.sync
			h.sap.FindSalesOrdersFn = found()
			h.sap.CreateSalesOrderFn = tt.create
			res, err := h.svc.Push(context.Background(), inlineRequest(), false)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Accepted || res.Created || res.State != orderpush.StateAccepted || res.SAPSalesOrder != "" {
				t.Errorf("result %+v", res)
			}
			want := []string{"find PO-4711 " + soldTo, "create PO-4711", "find PO-4711 " + soldTo}
			if got := h.sap.Calls(); !slices.Equal(got, want) {
				t.Errorf("SAP calls %q, want %q", got, want)
			}
			sent := h.completions()
			if len(sent) != 1 || sent[0].Queue != queueName || sent[0].Msg != (orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionPush}) || sent[0].Delay != h.svc.RetryDelay+2*time.Second {
				t.Errorf("queued %+v, want one push delayed just past %v", sent, h.svc.RetryDelay)
			}
			// Held for RetryDelay: no attempt may look the order up while the lost create may still run.
			rec := h.record(t)
			if rec.State != orderpush.StateAccepted || !rec.LeaseUntil.Equal(t0.Add(h.svc.RetryDelay)) || rec.LastError == "" {
				t.Errorf("record %+v", rec)
			}
			if got := h.auditOutcomes(t); !slices.Equal(got, []string{"queued"}) {
				t.Errorf("audit %q", got)
			}
			if _, u := h.dv.counts(); u != 0 {
				t.Errorf("wrote back %d times without a number", u)
			}
		})
	}
}

func businessError() *sap.Error {
	return &sap.Error{StatusCode: 400, Code: "V1/320", Message: "Sold-to party 17100001 not defined for sales area 1010/10/00",
		Details: []sap.ErrorDetail{
			{Code: "V1/320", Message: "Sold-to party 17100001 not defined for sales area 1010/10/00", Severity: "error"},
			{Code: "V4/219", Message: "Sales document was not changed", Severity: "error", Target: "SoldToParty"},
		}}
}

// (f) a business error is a rejection; a later push tries again.
func TestPushRejectedThenPushedAgain(t *testing.T) {
	h := newHarness(t)
	h.sap.FindSalesOrdersFn = found()
	h.sap.CreateSalesOrderFn = func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) {
		return sap.SalesOrder{}, fmt.Errorf("creating SAP sales order: %w", businessError())
	}
	res, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if problem.KindOf(err) != problem.Rejected {
		t.Fatalf("err = %v, want rejected", err)
	}
	if res.State != orderpush.StateRejected {
		t.Errorf("result %+v", res)
	}
	var pe *problem.Error
	errors.As(err, &pe)
	msgs, _ := pe.Extra["sapMessages"].([]orderpush.SAPMessage)
	if len(msgs) != 2 || msgs[0].Code != "V1/320" || msgs[1].Code != "V4/219" || msgs[1].Target != "SoldToParty" {
		t.Errorf("sapMessages %+v (the duplicate detail must be dropped)", pe.Extra["sapMessages"])
	}
	if !strings.Contains(pe.Detail, "not defined for sales area") {
		t.Errorf("detail %q", pe.Detail)
	}
	rec := h.record(t)
	var stored []orderpush.SAPMessage
	if rec.State != orderpush.StateRejected || json.Unmarshal([]byte(rec.SAPMessages), &stored) != nil || len(stored) != 2 || !rec.LeaseUntil.IsZero() {
		t.Errorf("record %+v", rec)
	}
	if got := h.auditOutcomes(t); !slices.Equal(got, []string{"rejected"}) {
		t.Errorf("audit %q", got)
	}
	if len(h.completions()) != 0 {
		t.Errorf("a rejection was queued: %+v", h.completions())
	}

	// The data is fixed in SAP; the flow pushes again.
	h.sap.CreateSalesOrderFn = createdAs("4711")
	res, err = h.svc.Push(context.Background(), inlineRequest(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.SAPSalesOrder != "4711" {
		t.Errorf("second push %+v", res)
	}
	want := []string{"find PO-4711 " + soldTo, "create PO-4711", "find PO-4711 " + soldTo, "create PO-4711"}
	if got := h.sap.Calls(); !slices.Equal(got, want) {
		t.Errorf("SAP calls %q, want %q", got, want)
	}
	if rec := h.record(t); rec.Attempts != 2 || rec.State != orderpush.StateWrittenBack || rec.SAPMessages != "" || rec.LastError != "" {
		t.Errorf("record after the second push %+v", rec)
	}
}

// (g) SAP failures that are not the order's fault: the record says failed and the answer says when to retry.
func TestPushSAPFailures(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		kind       problem.Kind
		retryAfter time.Duration
		state      orderpush.State
	}{
		{"503 with Retry-After", &sap.Error{StatusCode: 503, Message: "Service Unavailable", RetryAfter: 7 * time.Second}, problem.Unavailable, 7 * time.Second, orderpush.StateFailed},
		{"503 without", &sap.Error{StatusCode: 503, Message: "Service Unavailable"}, problem.Unavailable, 30 * time.Second, orderpush.StateFailed},
		{"500 without a code", &sap.Error{StatusCode: 500, Message: "Internal Server Error"}, problem.Unavailable, 30 * time.Second, orderpush.StateFailed},
		{"400 without a code is not a business error", &sap.Error{StatusCode: 400, Message: "Bad Request"}, problem.Unavailable, 30 * time.Second, orderpush.StateFailed},
		{"429", &sap.Error{StatusCode: 429, RetryAfter: 12 * time.Second}, problem.Throttled, 12 * time.Second, orderpush.StateFailed},
		{"401", &sap.Error{StatusCode: 401}, problem.Unavailable, time.Minute, orderpush.StateFailed},
		{"connection refused", fmt.Errorf("posting: %w", errors.New("dial tcp 127.0.0.1:1: connect: connection refused")), problem.Unavailable, 30 * time.Second, orderpush.StateFailed},
		{"payload invalid before sending", fmt.Errorf("creating SAP sales order: %w", &sap.ValidationError{Problems: []string{"Material: longer than 40"}}), problem.Rejected, 0, orderpush.StateRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.sap.FindSalesOrdersFn = found()
			h.sap.CreateSalesOrderFn = func(context.Context, sap.SalesOrderCreate) (sap.SalesOrder, error) { return sap.SalesOrder{}, tt.err }
			res, err := h.svc.Push(context.Background(), inlineRequest(), false)
			if problem.KindOf(err) != tt.kind || problem.RetryAfterOf(err) != tt.retryAfter {
				t.Fatalf("err = %v (retry after %v), want %s after %v", err, problem.RetryAfterOf(err), tt.kind, tt.retryAfter)
			}
			// A rejection is rebuilt from the record (so waiters answer the same); the others wrap SAP's error.
			if tt.kind != problem.Rejected && !errors.Is(err, tt.err) {
				t.Errorf("the SAP error is not wrapped: %v", err)
			}
			if res.State != tt.state || res.Accepted || res.Created {
				t.Errorf("result %+v", res)
			}
			if rec := h.record(t); rec.State != tt.state || rec.LastError == "" || !rec.LeaseUntil.IsZero() {
				t.Errorf("record %+v", rec)
			}
			if got := len(h.sap.Calls()); got != 2 {
				t.Errorf("%d SAP calls, want the lookup and one create", got)
			}
			if len(h.completions()) != 0 || h.safetyNets() != 1 {
				t.Errorf("queued %+v, want only the safety net", h.queue.Sent())
			}
		})
	}
}

func TestPushLookupFailsNothingCreated(t *testing.T) {
	h := newHarness(t)
	h.sap.FindSalesOrdersFn = func(context.Context, string, string) ([]sap.SalesOrder, error) {
		return nil, &sap.Error{StatusCode: 502, Message: "Bad Gateway"}
	}
	_, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if problem.KindOf(err) != problem.Unavailable {
		t.Fatalf("err = %v", err)
	}
	if got := h.sap.Calls(); len(got) != 1 {
		t.Errorf("SAP calls %q: a create without a lookup", got)
	}
	if rec := h.record(t); rec.State != orderpush.StateFailed {
		t.Errorf("record %+v", rec)
	}
}

// (h) another instance wins the takeover: this push re-reads and waits for it.
func TestPushLosesTheTakeover(t *testing.T) {
	h := newHarness(t)
	h.seed(t, orderpush.Record{State: orderpush.StateInProgress, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, Owner: "dead", LeaseUntil: t0.Add(-time.Second)})
	var updates atomic.Int32
	h.records.UpdateFn = func(ctx context.Context, row store.Row[orderpush.Record]) (azcore.ETag, error) {
		if updates.Add(1) == 1 {
			// The other instance's takeover lands first; ours then fails on the ETag.
			rec := h.record(t)
			rec.Owner, rec.Attempts, rec.LeaseUntil = "winner", 2, t0.Add(time.Minute)
			h.set(t, rec)
		}
		return h.mem.Update(ctx, row)
	}
	var gets atomic.Int32
	h.records.GetFn = func(ctx context.Context, pk, rk string) (store.Row[orderpush.Record], error) {
		if gets.Add(1) == 5 { // the winner finishes while we wait
			rec := h.record(t)
			rec.State, rec.SAPSalesOrder, rec.LeaseUntil = orderpush.StateCreated, "4799", time.Time{}
			h.set(t, rec)
		}
		return h.mem.Get(ctx, pk, rk)
	}
	res, err := h.svc.Push(context.Background(), inlineRequest(), false)
	if err != nil {
		t.Fatal(err)
	}
	if res.SAPSalesOrder != "4799" || res.Created || res.State != orderpush.StateWrittenBack {
		t.Errorf("result %+v", res)
	}
	if got := h.sap.Calls(); len(got) != 0 {
		t.Errorf("the loser called SAP: %q", got)
	}
	if rec := h.record(t); rec.Owner != "winner" || rec.Attempts != 2 {
		t.Errorf("record %+v", rec)
	}
}

func TestPushStorageFailuresSendNothingToSAP(t *testing.T) {
	boom := errors.New("storage: 500 InternalError")
	tests := []struct {
		name   string
		break_ func(t *testing.T, h *harness)
		record bool
	}{
		{"reading the record", func(t *testing.T, h *harness) {
			h.records.GetFn = func(context.Context, string, string) (store.Row[orderpush.Record], error) {
				return store.Row[orderpush.Record]{}, boom
			}
		}, false},
		{"inserting the record", func(t *testing.T, h *harness) {
			h.records.InsertFn = func(context.Context, store.Row[orderpush.Record]) (azcore.ETag, error) { return "", boom }
		}, false},
		{"archiving the request", func(t *testing.T, h *harness) {
			h.blobs.PutBlobFn = func(context.Context, string, string, []byte, *store.BlobOptions) (azcore.ETag, error) {
				return "", boom
			}
		}, false},
		{"taking over a failed record", func(t *testing.T, h *harness) {
			h.seed(t, orderpush.Record{State: orderpush.StateFailed, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1})
			h.records.UpdateFn = func(context.Context, store.Row[orderpush.Record]) (azcore.ETag, error) { return "", boom }
		}, true},
		{"preparing storage", func(t *testing.T, h *harness) { h.svc.Ready = func(context.Context) error { return boom } }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.break_(t, h)
			_, err := h.svc.Push(context.Background(), inlineRequest(), false)
			if problem.KindOf(err) != problem.Unavailable || !errors.Is(err, boom) {
				t.Fatalf("err = %v, want unavailable wrapping the storage error", err)
			}
			if got := h.sap.Calls(); len(got) != 0 {
				t.Errorf("SAP calls %q", got)
			}
			if h.hasRecord() != tt.record {
				t.Errorf("record exists: %v, want %v", h.hasRecord(), tt.record)
			}
			if tt.record && h.record(t).State != orderpush.StateFailed {
				t.Errorf("record %+v", h.record(t))
			}
		})
	}
}

// After SAP has the order, a failed record update must not lose the number; a failed write-back is queued.
func TestPushAfterSAPCommitted(t *testing.T) {
	t.Run("the record update fails", func(t *testing.T) {
		h := newHarness(t)
		h.sap.FindSalesOrdersFn = found()
		h.sap.CreateSalesOrderFn = createdAs("4711")
		var updates atomic.Int32
		h.records.UpdateFn = func(context.Context, store.Row[orderpush.Record]) (azcore.ETag, error) {
			updates.Add(1)
			return "", errors.New("storage down")
		}
		res, err := h.svc.Push(context.Background(), inlineRequest(), false)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || res.SAPSalesOrder != "4711" {
			t.Errorf("result %+v", res)
		}
		sent := h.completions()
		// Queued for just after this attempt's lease, when the queue may take the order over.
		if len(sent) != 1 || sent[0].Msg.Action != orderpush.ActionPush || sent[0].Delay != h.svc.Lease+2*time.Second {
			t.Errorf("queued %+v, want a push after the lease whose lookup finds the order", sent)
		}
		// Dynamics is told before the record is written; telling it again later is harmless.
		if _, u := h.dv.counts(); u != 1 {
			t.Errorf("wrote back %d times, want 1", u)
		}
	})
	t.Run("the write-back fails", func(t *testing.T) {
		h := newHarness(t)
		h.sap.FindSalesOrdersFn = found()
		h.sap.CreateSalesOrderFn = createdAs("4711")
		h.dv.UpdateFn = func(context.Context, string, dataverse.Key, dataverse.Record, *dataverse.UpdateOptions) (dataverse.Written, error) {
			return dataverse.Written{}, &dataverse.Error{Status: 429, Kind: dataverse.KindThrottled, RetryAfter: time.Second}
		}
		res, err := h.svc.Push(context.Background(), inlineRequest(), false)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Created || !res.WriteBackPending || res.State != orderpush.StateCreated || res.SAPSalesOrder != "4711" {
			t.Errorf("result %+v", res)
		}
		sent := h.completions()
		if len(sent) != 1 || sent[0].Msg.Action != orderpush.ActionWriteBack {
			t.Errorf("queued %+v, want a write-back", sent)
		}
		if rec := h.record(t); rec.State != orderpush.StateCreated || rec.SAPSalesOrder != "4711" || rec.WriteBackDone {
			t.Errorf("record %+v", rec)
		}
	})
}

// (k) Prefer: respond-async.
func TestPushAsync(t *testing.T) {
	t.Run("queued, SAP untouched", func(t *testing.T) {
		h := newHarness(t)
		res, err := h.svc.Push(context.Background(), inlineRequest(), true)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Accepted || res.Created || res.State != orderpush.StateAccepted {
			t.Errorf("result %+v", res)
		}
		sent := h.completions()
		if len(sent) != 1 || sent[0].Msg != (orderpush.QueueMessage{SalesOrderID: orderID, Action: orderpush.ActionPush}) || sent[0].Delay != 0 {
			t.Errorf("queued %+v", sent)
		}
		if got := h.sap.Calls(); len(got) != 0 {
			t.Errorf("SAP calls %q", got)
		}
		rec := h.record(t)
		if rec.State != orderpush.StateAccepted || !rec.LeaseUntil.IsZero() || rec.RequestBlob == "" || rec.PurchaseOrder != "PO-4711" || rec.SoldTo != soldTo {
			t.Errorf("record %+v", rec)
		}
	})
	t.Run("already queued: not queued twice", func(t *testing.T) {
		h := newHarness(t)
		h.seed(t, orderpush.Record{State: orderpush.StateAccepted, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1})
		res, err := h.svc.Push(context.Background(), inlineRequest(), true)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Accepted || res.State != orderpush.StateAccepted || len(h.completions()) != 0 {
			t.Errorf("result %+v, queued %+v", res, h.completions())
		}
	})
	t.Run("being pushed: accepted without a message", func(t *testing.T) {
		h := newHarness(t)
		h.seed(t, orderpush.Record{State: orderpush.StateInProgress, PurchaseOrder: "PO-4711", SoldTo: soldTo, Attempts: 1, LeaseUntil: t0.Add(time.Minute)})
		res, err := h.svc.Push(context.Background(), inlineRequest(), true)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Accepted || res.State != orderpush.StateInProgress || len(h.completions()) != 0 {
			t.Errorf("result %+v, queued %+v", res, h.completions())
		}
	})
	t.Run("the queue is down", func(t *testing.T) {
		h := newHarness(t)
		h.queue.EnqueueFn = func(context.Context, string, []byte, *store.EnqueueOptions) (string, error) {
			return "", errors.New("queue: 503 ServerBusy")
		}
		res, err := h.svc.Push(context.Background(), inlineRequest(), true)
		if problem.KindOf(err) != problem.Unavailable {
			t.Fatalf("err = %v", err)
		}
		if res.Accepted {
			t.Errorf("result %+v", res)
		}
		if rec := h.record(t); rec.State != orderpush.StateFailed || rec.LastError == "" {
			t.Errorf("record %+v: a retry must be able to claim it", rec)
		}
		// And the retry of the request does claim it.
		h.queue.EnqueueFn = nil
		if res, err := h.svc.Push(context.Background(), inlineRequest(), true); err != nil || !res.Accepted {
			t.Fatalf("retry: %+v, %v", res, err)
		}
		if rec := h.record(t); rec.State != orderpush.StateAccepted || rec.Attempts != 2 {
			t.Errorf("record after the retry %+v", rec)
		}
	})
}

func TestPushInvalidOrderTouchesNothing(t *testing.T) {
	h := newHarness(t)
	req := inlineRequest()
	req.Order.Lines[0].Unit = "Dozen"
	_, err := h.svc.Push(context.Background(), req, false)
	if problem.KindOf(err) != problem.Invalid {
		t.Fatalf("err = %v", err)
	}
	if h.hasRecord() || len(h.blobs.puts) != 0 || len(h.sap.Calls()) != 0 {
		t.Errorf("an unmappable order left traces: record %v, blobs %q, SAP %q", h.hasRecord(), h.blobs.puts, h.sap.Calls())
	}
}
