package hostile

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// post is POST /api/orders with the function key and Content-Type: application/json.
func (w *world) post(body string) request {
	return request{method: http.MethodPost, target: "/api/orders", body: []byte(body),
		header: []field{{"x-functions-key", w.app.FunctionKey}, {"Content-Type", "application/json"}}}
}

// keyed is a request with the function key in its header.
func (w *world) keyed(method, target string) request {
	return request{method: method, target: target, header: []field{{"x-functions-key", w.app.FunctionKey}}}
}

// anon is a request without a key.
func anon(method, target string) request { return request{method: method, target: target} }

// byID is a push of an order by its id.
func byID(id string) string { return `{"salesorderid":"` + id + `"}` }

// newID is an order id nothing has seen: not in Dynamics, never pushed.
func newID() string { return uuid.NewString() }

// inline is an inline order that maps cleanly, for an order id nothing has seen and a customer SAP does not have:
// should a case's hostile change pass every check, SAP refuses the order instead of creating it. edit changes
// the order and its one line before it is encoded; values may be raw JSON (json.RawMessage).
func (w *world) inline(id string, edit func(order, line map[string]any)) string {
	line := map[string]any{"productNumber": w.product, "quantity": "1", "unit": "Each"}
	order := map[string]any{"salesorderid": id, "customerAccountNumber": unknownCustomer, "purchaseOrderNumber": "PO-HOSTILE",
		"requestedDeliveryDate": "2026-12-15", "currency": "EUR", "lines": []any{line}}
	if edit != nil {
		edit(order, line)
	}
	b, err := json.Marshal(map[string]any{"order": order})
	if err != nil {
		panic(err) // a case's raw JSON is not JSON: a mistake in the table
	}
	return string(b)
}

// raw is a JSON value written exactly as given.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// Answers many cases share.
func invalid(field string) want {
	return want{status: http.StatusBadRequest, kind: "invalid", field: field}
}

func unsupported() want {
	return want{status: http.StatusUnsupportedMediaType, kind: "unsupported-media-type", field: "Content-Type"}
}

func notFound() want { return want{status: http.StatusNotFound, kind: "not-found"} }

// byHost is an answer the host gives without running the function.
func byHost(status int) want { return want{status: status, host: true} }

// rejectedBySAP is SAP's refusal of the order's sold-to party: the case reached SAP and nothing was created.
func rejectedBySAP(code string) want {
	return want{status: http.StatusUnprocessableEntity, kind: "rejected", check: func(t *testing.T, r response) {
		t.Helper()
		if r.problem == nil || len(r.problem.SAPMessages) == 0 || r.problem.SAPMessages[0].Code != code {
			t.Errorf("SAP's messages, want %s first: %.600s", code, r.body)
		}
	}}
}

// reachesSAP lets a case's order reach SAP and be recorded when SAP (or SAP's data) refuses it. The end is then
// reported to Dynamics, which has no such order: a call, never a write.
func reachesSAP(id string) allowance { return allowance{reachSAP: true, reachDV: true, record: id} }

// readsDV lets a case read Dataverse.
var readsDV = allowance{reachDV: true}

// answerState checks a 200 or 202 answer's body: the order, its state, and a status URL on the public host.
func answerState(id, state string) func(t *testing.T, r response) {
	return func(t *testing.T, r response) {
		t.Helper()
		var a struct {
			SalesOrderID string `json:"salesorderid"`
			State        string `json:"state"`
			StatusURL    string `json:"statusUrl"`
		}
		if err := json.Unmarshal(r.body, &a); err != nil {
			t.Fatalf("answer: %v: %.300s", err, r.body)
		}
		if a.SalesOrderID != id || a.State != state || a.StatusURL != statusURL(id) {
			t.Errorf("answer %+v, want %s %s at %s", a, id, state, statusURL(id))
		}
		if loc := r.header.Get("Location"); loc != "" && loc != statusURL(id) {
			t.Errorf("Location %q, want %q", loc, statusURL(id))
		}
	}
}

// pad is s padded with spaces after the JSON to exactly n bytes.
func pad(s string, n int) string { return s + strings.Repeat(" ", n-len(s)) }
