package orderpush_test

import (
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
)

// The status follows a push through the real ledger, answering as the push would at each point.
func TestOrderStatusFollowsAnAsyncPush(t *testing.T) {
	h := newHarness(t)
	if code, _ := h.status(t, orderID); code != 404 {
		t.Errorf("before any push: %d", code)
	}
	if code, _, _ := h.post(t, inlineOrder(), "respond-async"); code != 202 {
		t.Fatalf("async push %d", code)
	}
	code, body := h.status(t, orderID)
	if code != 202 || body["state"] != string(orderpush.StateAccepted) || body["statusUrl"] != "/api/orders/"+orderID || body["sapSalesOrder"] != nil {
		t.Errorf("queued: %d %v", code, body)
	}
	if err := h.resume(t, orderID, orderpush.ActionPush); err != nil {
		t.Fatal(err)
	}
	code, body = h.status(t, orderID)
	if code != 200 || body["state"] != string(orderpush.StateWrittenBack) || body["sapSalesOrder"] != "4711" || body["completedAt"] == nil ||
		body["attempts"] != float64(1) {
		t.Errorf("done: %d %v", code, body)
	}
	if code, body := h.status(t, "not-a-guid"); code != 400 {
		t.Errorf("a bad id: %d %v", code, body)
	}
}
