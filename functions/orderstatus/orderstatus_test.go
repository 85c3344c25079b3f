package orderstatus_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/functions/orderstatus"
	"github.com/d365sap/d365sap/shared/problem"
)

type fakeRecords struct {
	GetFn func(ctx context.Context, id string) (orderpush.Record, error)
	ids   []string
}

var _ orderpush.RecordReader = (*fakeRecords)(nil)

func (f *fakeRecords) Get(ctx context.Context, id string) (orderpush.Record, error) {
	f.ids = append(f.ids, id)
	return f.GetFn(ctx, id)
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

func TestStatus(t *testing.T) {
	tests := []struct {
		name     string
		rec      orderpush.Record
		status   int
		location bool
	}{
		{"accepted", orderpush.Record{State: orderpush.StateAccepted, Attempts: 1}, 202, true},
		{"in progress", orderpush.Record{State: orderpush.StateInProgress, Attempts: 2, LeaseUntil: completed}, 202, true},
		{"created, write-back owed", orderpush.Record{State: orderpush.StateCreated, SAPSalesOrder: "4711", Attempts: 1, CompletedAt: completed}, 200, false},
		{"written back", orderpush.Record{State: orderpush.StateWrittenBack, SAPSalesOrder: "4711", Attempts: 1, CompletedAt: completed, WriteBackDone: true}, 200, false},
		{"rejected", orderpush.Record{State: orderpush.StateRejected, Attempts: 1, LastError: "Sold-to party not defined",
			SAPMessages: `[{"code":"V1/320","message":"Sold-to party not defined","severity":"error"}]`}, 200, false},
		{"failed", orderpush.Record{State: orderpush.StateFailed, Attempts: 3, LastError: "SAP answered 503"}, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.rec
			rec.CreatedAt, rec.UpdatedAt = created, created.Add(time.Second)
			recs := &fakeRecords{GetFn: func(context.Context, string) (orderpush.Record, error) { return rec, nil }}
			status, h, body := get(t, recs, base, "/api/orders/"+strings.ToUpper(id))
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, body)
			}
			if len(recs.ids) != 1 || recs.ids[0] != id {
				t.Errorf("read %q, want the lower-cased id", recs.ids)
			}
			if loc := h.Get("Location"); (loc != "") != tt.location || (tt.location && loc != base+id) {
				t.Errorf("Location %q", loc)
			}
			if ra := h.Get("Retry-After"); (ra == "5") != tt.location {
				t.Errorf("Retry-After %q", ra)
			}
			if h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q: a poll must not be cached", h.Get("Cache-Control"))
			}
			if body["salesorderid"] != id || body["state"] != string(rec.State) || body["statusUrl"] != base+id || int(body["attempts"].(float64)) != rec.Attempts {
				t.Errorf("body %v", body)
			}
			if rec.SAPSalesOrder != "" && body["sapSalesOrder"] != rec.SAPSalesOrder {
				t.Errorf("sapSalesOrder %v", body["sapSalesOrder"])
			}
			if _, ok := body["completedAt"]; ok != !rec.CompletedAt.IsZero() {
				t.Errorf("completedAt %v for %v", body["completedAt"], rec.CompletedAt)
			}
			if body["createdAt"] != created.Format(time.RFC3339) {
				t.Errorf("createdAt %v", body["createdAt"])
			}
			msgs, _ := body["sapMessages"].([]any)
			if rec.SAPMessages != "" && (len(msgs) != 1 || msgs[0].(map[string]any)["code"] != "V1/320") {
				t.Errorf("sapMessages %v", body["sapMessages"])
			}
			if rec.SAPMessages == "" && body["sapMessages"] != nil {
				t.Errorf("sapMessages %v", body["sapMessages"])
			}
			for _, secret := range []string{"owner", "requestBlob", "leaseUntil"} {
				if _, ok := body[secret]; ok {
					t.Errorf("the status shows the internal %s", secret)
				}
			}
		})
	}
}

func TestStatusProblems(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		err    error
		status int
		kind   string
		reads  int
	}{
		{"unknown order", "/api/orders/" + id, orderpush.ErrUnknownOrder, 404, "not-found", 1},
		{"unknown order, wrapped", "/api/orders/" + id, errors.Join(errors.New("reading"), orderpush.ErrUnknownOrder), 404, "not-found", 1},
		{"storage down", "/api/orders/" + id, problem.New(problem.Unavailable, "reading the push record"), 503, "unavailable", 1},
		{"not a GUID", "/api/orders/ORD-01001", nil, 400, "invalid", 0},
		{"a GUID with a suffix", "/api/orders/" + id + "x", nil, 400, "invalid", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := &fakeRecords{GetFn: func(context.Context, string) (orderpush.Record, error) { return orderpush.Record{}, tt.err }}
			status, h, body := get(t, recs, "", tt.path)
			if status != tt.status || body["type"] != problem.TypeBase+tt.kind || h.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%d %v", status, body)
			}
			if len(recs.ids) != tt.reads {
				t.Errorf("read the table %d times, want %d", len(recs.ids), tt.reads)
			}
			if tt.status == 503 && h.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

func TestStatusRelativeURLWithoutBase(t *testing.T) {
	recs := &fakeRecords{GetFn: func(context.Context, string) (orderpush.Record, error) {
		return orderpush.Record{State: orderpush.StateAccepted}, nil
	}}
	_, h, body := get(t, recs, "", "/api/orders/"+id)
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
