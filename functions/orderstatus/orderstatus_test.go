package orderstatus_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/functions/orderstatus"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
)

// fakeLedger answers reads of push entries.
type fakeLedger struct {
	GetFn func(ctx context.Context, key string) (ledger.Snapshot, bool, error)
	keys  []string
}

var _ orderpush.RecordReader = (*fakeLedger)(nil)

func (f *fakeLedger) Get(ctx context.Context, key string) (ledger.Snapshot, bool, error) {
	f.keys = append(f.keys, key)
	return f.GetFn(ctx, key)
}

func holding(e ledger.Entry) *fakeLedger {
	return &fakeLedger{GetFn: func(context.Context, string) (ledger.Snapshot, bool, error) {
		return ledger.Snapshot{Entry: e}, true, nil
	}}
}

const (
	id   = "6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b"
	base = "https://app.example.net/api/orders/"
)

var (
	created   = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	completed = created.Add(4 * time.Second)
)

// get serves the handler on the route function.json declares, under the host's /api prefix.
func get(t *testing.T, recs orderpush.RecordReader, statusBase, path string) (int, http.Header, map[string]any) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("GET /api/orders/{salesorderid}", &orderstatus.Handler{Records: recs, StatusBase: statusBase})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp.StatusCode, resp.Header, body
}

const rejection = `[{"code":"V1/320","message":"Sold-to party 17100009 not defined","severity":"error"}]`

// The status answers as the push would have: a flow polling it fails exactly when a synchronous push would.
func TestOrderStatusAnswersAsThePushWould(t *testing.T) {
	tests := []struct {
		name        string
		e           ledger.Entry
		status      int
		state       orderpush.State
		problemType string // "" for a status document
	}{
		{"accepted", ledger.Entry{State: ledger.Accepted, Attempts: 0}, 202, orderpush.StateAccepted, ""},
		{"held after an unknown outcome", ledger.Entry{State: ledger.Accepted, Attempts: 1, SentUntil: created, HoldUntil: completed}, 202, orderpush.StateAccepted, ""},
		{"in progress", ledger.Entry{State: ledger.InProgress, Attempts: 2, Owner: "inv-1", LeaseUntil: completed}, 202, orderpush.StateInProgress, ""},
		{"created, write-back owed", ledger.Entry{State: ledger.Created, Result: "4711", Attempts: 1}, 200, orderpush.StateCreated, ""},
		{"written back", ledger.Entry{State: ledger.Completed, Result: "4711", Attempts: 1, Reported: true, CompletedAt: completed}, 200, orderpush.StateWrittenBack, ""},
		{"rejected", ledger.Entry{State: ledger.Rejected, Attempts: 1, LastError: "SAP rejected it: Sold-to party 17100009 not defined",
			Messages: rejection, Kind: "rejected", CompletedAt: completed}, 422, orderpush.StateRejected, "rejected"},
		{"failed: the order cannot be mapped", ledger.Entry{State: ledger.Failed, Attempts: 1, LastError: "material TG11 has no unit BOX", Kind: "invalid", CompletedAt: completed},
			400, orderpush.StateFailed, "invalid"},
		{"failed: the order is gone from Dynamics", ledger.Entry{State: ledger.Failed, Attempts: 1, LastError: "not found", Kind: "not-found", CompletedAt: completed},
			404, orderpush.StateFailed, "not-found"},
		{"failed with no kind recorded", ledger.Entry{State: ledger.Failed, Attempts: 3, LastError: "boom"}, 500, orderpush.StateFailed, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.e
			e.Ref, e.Payload, e.CreatedAt, e.UpdatedAt = strings.ToUpper(id), `{"salesorderid":"`+id+`"}`, created, created.Add(time.Second)
			recs := holding(e)
			status, h, body := get(t, recs, base, "/api/orders/"+strings.ToUpper(id))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if len(recs.keys) != 1 || recs.keys[0] != id {
				t.Errorf("read %q, want the lower-cased id", recs.keys)
			}
			pending := tt.status == 202
			if loc := h.Get("Location"); (loc != "") != pending || (pending && loc != base+id) {
				t.Errorf("Location %q", loc)
			}
			if ra := h.Get("Retry-After"); (ra == "5") != pending {
				t.Errorf("Retry-After %q", ra)
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q: a poll must not be cached", h.Get("Cache-Control"))
			}
			wantCT := "application/json"
			if tt.problemType != "" {
				wantCT = "application/problem+json"
				if body["type"] != problem.TypeBase+tt.problemType || int(body["status"].(float64)) != tt.status {
					t.Errorf("problem %v", body)
				}
			}
			if ct := h.Get("Content-Type"); ct != wantCT {
				t.Errorf("Content-Type %q, want %q", ct, wantCT)
			}
			// The status members ride along with a problem too.
			if body["salesorderid"] != id || body["state"] != string(tt.state) || body["statusUrl"] != base+id || int(body["attempts"].(float64)) != e.Attempts {
				t.Errorf("body %v", body)
			}
			if e.Result != "" && body["sapSalesOrder"] != e.Result {
				t.Errorf("sapSalesOrder %v", body["sapSalesOrder"])
			}
			if e.LastError != "" && body["lastError"] != e.LastError {
				t.Errorf("lastError %v", body["lastError"])
			}
			if _, ok := body["completedAt"]; ok != !e.CompletedAt.IsZero() {
				t.Errorf("completedAt %v for %v", body["completedAt"], e.CompletedAt)
			}
			if body["createdAt"] != created.Format(time.RFC3339) {
				t.Errorf("createdAt %v", body["createdAt"])
			}
			msgs, _ := body["sapMessages"].([]any)
			if e.Messages != "" && (len(msgs) != 1 || msgs[0].(map[string]any)["code"] != "V1/320") {
				t.Errorf("sapMessages %v", body["sapMessages"])
			}
			if e.Messages == "" && body["sapMessages"] != nil {
				t.Errorf("sapMessages %v", body["sapMessages"])
			}
			for _, internal := range []string{"owner", "leaseUntil", "payload", "ref", "sentUntil", "holdUntil", "data"} {
				if _, ok := body[internal]; ok {
					t.Errorf("the status shows the internal %s", internal)
				}
			}
		})
	}
}

func TestOrderStatusProblems(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		found  bool
		err    error
		status int
		kind   string
		reads  int
	}{
		{"unknown order", "/api/orders/" + id, false, nil, 404, "not-found", 1},
		{"storage down", "/api/orders/" + id, false, problem.New(problem.Unavailable, "reading the ledger entry"), 503, "unavailable", 1},
		{"not a GUID", "/api/orders/ORD-01001", false, nil, 400, "invalid", 0},
		{"a GUID with a suffix", "/api/orders/" + id + "x", false, nil, 400, "invalid", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &fakeLedger{GetFn: func(context.Context, string) (ledger.Snapshot, bool, error) {
				return ledger.Snapshot{}, tt.found, tt.err
			}}
			status, h, body := get(t, recs, "", tt.path)
			if status != tt.status || body["type"] != problem.TypeBase+tt.kind || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%d %v", status, body)
			}
			if len(recs.keys) != tt.reads {
				t.Errorf("read the ledger %d times, want %d", len(recs.keys), tt.reads)
			}
			if tt.status == 503 && h.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

func TestOrderStatusURLIsRelativeWithoutBase(t *testing.T) {
	_, h, body := get(t, holding(ledger.Entry{State: ledger.Accepted}), "", "/api/orders/"+id)
	if h.Get("Location") != "/api/orders/"+id || body["statusUrl"] != "/api/orders/"+id {
		t.Errorf("Location %q, statusUrl %v", h.Get("Location"), body["statusUrl"])
	}
}

func TestFunctionDeclaration(t *testing.T) {
	fn, err := orderstatus.Function(&orderstatus.Handler{})
	if err != nil {
		t.Fatal(err)
	}
	if fn.Name != "orderstatus" || fn.HTTP == nil {
		t.Errorf("function %+v", fn)
	}
	if err := fn.Validate(); err != nil {
		t.Errorf("the declaration does not match function.json: %v", err)
	}
}
