package orderpush_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// readCounter is the ledger's table, counting reads, so a test knows a concurrent push has started waiting.
type readCounter struct {
	*store.MemTable[json.RawMessage]
	reads atomic.Int32
}

func (c *readCounter) Get(ctx context.Context, pk, rk string) (store.Row[json.RawMessage], error) {
	c.reads.Add(1)
	return c.MemTable.Get(ctx, pk, rk)
}

var _ ledger.Table = (*readCounter)(nil)

// A push of an order another request is pushing right now waits for it and answers as it ends.
func TestAConcurrentPushAnswersAsTheFirstEnds(t *testing.T) {
	tests := []struct {
		name    string
		outcome func(h *harness, o sap.SalesOrderCreate) (sap.SalesOrder, error)
		first   int
		second  int
		check   func(t *testing.T, body map[string]any)
	}{
		{"created", func(h *harness, o sap.SalesOrderCreate) (sap.SalesOrder, error) { return h.sap.commit(o), nil }, 201, 200,
			func(t *testing.T, body map[string]any) {
				if body["sapSalesOrder"] != "4711" {
					t.Errorf("the second push answers %v, want the first's number", body)
				}
			}},
		{"rejected", func(*harness, sap.SalesOrderCreate) (sap.SalesOrder, error) { return sap.SalesOrder{}, soldToUnknown() }, 422, 422,
			func(t *testing.T, body map[string]any) {
				if msgs, _ := body["sapMessages"].([]any); len(msgs) != 2 || msgs[0].(map[string]any)["code"] != "V1/320" {
					t.Errorf("the second push answers %v, want SAP's messages", body)
				}
			}},
		{"SAP down: queued", func(*harness, sap.SalesOrderCreate) (sap.SalesOrder, error) {
			return sap.SalesOrder{}, &sap.Error{StatusCode: 503, Message: "Service Unavailable"}
		}, 202, 202, func(*testing.T, map[string]any) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			table := &readCounter{MemTable: h.table}
			h.svc.Ledger.Table = table
			started, release := make(chan struct{}), make(chan struct{})
			h.sap.CreateSalesOrderFn = func(_ context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
				close(started)
				<-release
				return tt.outcome(h, o)
			}
			firstDone := make(chan int)
			go func() {
				code, _, _ := h.post(t, inlineOrder(), "")
				firstDone <- code
			}()
			<-started
			before := table.reads.Load()
			type answer2 struct {
				code int
				body map[string]any
			}
			secondDone := make(chan answer2)
			go func() {
				code, _, body := h.post(t, inlineOrder(), "")
				secondDone <- answer2{code, body}
			}()
			// The second has read the entry after its claim lost, and again while waiting.
			for deadline := time.Now().Add(5 * time.Second); table.reads.Load() < before+2; {
				if time.Now().After(deadline) {
					t.Fatal("the second push never started waiting")
				}
				time.Sleep(5 * time.Millisecond)
			}
			close(release)
			if code := <-firstDone; code != tt.first {
				t.Errorf("first push %d, want %d", code, tt.first)
			}
			second := <-secondDone
			if second.code != tt.second {
				t.Fatalf("second push %d %v, want %d", second.code, second.body, tt.second)
			}
			tt.check(t, second.body)
			if n := len(h.sap.creates()); n != 1 {
				t.Errorf("%d creates", n)
			}
		})
	}
}
