package orderpushqueue_test

import (
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/functions/orderpushqueue"
	"github.com/d365sap/d365sap/shared/trigger"
)

func TestLastDeliveryFollowsMaxDequeueCount(t *testing.T) {
	tests := []struct {
		dequeue, max int
		last         bool
	}{
		{1, 5, false}, {4, 5, false}, {5, 5, true}, {7, 5, true}, {2, 2, true}, {9, 0, false},
	}
	for _, tt := range tests {
		r := &fakeResumer{}
		fn, err := orderpushqueue.Function(r, tt.max)
		if err != nil {
			t.Fatal(err)
		}
		body := `{"salesorderid":"` + id + `","action":"push","retry":2}`
		if err := fn.Queue.HandleMessage(t.Context(), trigger.Message{ID: "m", Body: []byte(body), DequeueCount: tt.dequeue}); err != nil {
			t.Fatal(err)
		}
		want := orderpush.QueueMessage{SalesOrderID: id, Action: orderpush.ActionPush, Retry: 2, LastDelivery: tt.last}
		if len(r.got) != 1 || r.got[0] != want {
			t.Errorf("dequeue %d of max %d: resumed %+v, want %+v", tt.dequeue, tt.max, r.got, want)
		}
	}
}
