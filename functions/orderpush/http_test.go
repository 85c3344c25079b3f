package orderpush_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

type fakePusher struct {
	PushFn func(ctx context.Context, req orderpush.Request, async bool) (orderpush.Result, error)

	mu    sync.Mutex
	calls []pushCall
}

type pushCall struct {
	req   orderpush.Request
	async bool
}

var _ orderpush.Pusher = (*fakePusher)(nil)

func (f *fakePusher) Push(ctx context.Context, req orderpush.Request, async bool) (orderpush.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, pushCall{req, async})
	f.mu.Unlock()
	if f.PushFn == nil {
		return orderpush.Result{}, errUnexpected
	}
	return f.PushFn(ctx, req, async)
}

const statusBase = "https://app.example.net/api/orders/"

// serve runs the handler behind an httptest server, with an invocation id in the context as the host gives one.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(trigger.WithInvocation(r.Context(), trigger.Invocation{ID: "inv-9", Function: "orderpush"})))
	}))
	t.Cleanup(srv.Close)
	return srv
}

type httpAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

func post(t *testing.T, srv *httptest.Server, contentType, body string, header http.Header) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/orders", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		if k == "Host" {
			req.Host = vs[0]
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := httpAnswer{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(b, &a.body); err != nil {
		t.Fatalf("body %q is not JSON: %v", b, err)
	}
	return a
}

var idBody = `{"salesorderid":"` + upperID + `"}`

func TestHandlerAnswers(t *testing.T) {
	tests := []struct {
		name       string
		res        orderpush.Result
		status     int
		location   bool
		retryAfter string
	}{
		{"created", orderpush.Result{SalesOrderID: orderID, SAPSalesOrder: "4711", State: orderpush.StateWrittenBack, Created: true}, 201, true, ""},
		{"replayed", orderpush.Result{SalesOrderID: orderID, SAPSalesOrder: "4711", State: orderpush.StateWrittenBack}, 200, false, ""},
		{"replayed, write-back pending", orderpush.Result{SalesOrderID: orderID, SAPSalesOrder: "4711", State: orderpush.StateCreated, WriteBackPending: true}, 200, false, ""},
		{"accepted", orderpush.Result{SalesOrderID: orderID, State: orderpush.StateAccepted, Accepted: true, RetryAfter: 5 * time.Second}, 202, true, "5"},
		{"accepted, Retry-After in whole seconds", orderpush.Result{SalesOrderID: orderID, State: orderpush.StateAccepted, Accepted: true, RetryAfter: 1500 * time.Millisecond}, 202, true, "2"},
		{"accepted, never Retry-After 0", orderpush.Result{SalesOrderID: orderID, State: orderpush.StateAccepted, Accepted: true}, 202, true, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePusher{PushFn: func(context.Context, orderpush.Request, bool) (orderpush.Result, error) { return tt.res, nil }}
			a := post(t, serve(t, &orderpush.Handler{Pusher: p, StatusBase: statusBase}), "application/json; charset=utf-8", idBody, nil)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %v", a.status, tt.status, a.body)
			}
			if got := a.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("content type %q", got)
			}
			loc := a.header.Get("Location")
			if (loc != "") != tt.location || (tt.location && loc != statusBase+orderID) {
				t.Errorf("Location %q", loc)
			}
			if got := a.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if a.body["salesorderid"] != orderID || a.body["state"] != string(tt.res.State) || a.body["statusUrl"] != statusBase+orderID {
				t.Errorf("body %v", a.body)
			}
			if tt.res.SAPSalesOrder != "" && a.body["sapSalesOrder"] != tt.res.SAPSalesOrder {
				t.Errorf("body %v", a.body)
			}
			if got, _ := a.body["writeBackPending"].(bool); got != tt.res.WriteBackPending {
				t.Errorf("writeBackPending %v", a.body["writeBackPending"])
			}
			if len(p.calls) != 1 || p.calls[0].req.SalesOrderID != orderID || p.calls[0].async {
				t.Errorf("calls %+v: the id must arrive lower-cased", p.calls)
			}
		})
	}
}

func TestHandlerRelativeStatusURL(t *testing.T) {
	p := &fakePusher{PushFn: func(context.Context, orderpush.Request, bool) (orderpush.Result, error) {
		return orderpush.Result{SalesOrderID: orderID, State: orderpush.StateAccepted, Accepted: true}, nil
	}}
	a := post(t, serve(t, &orderpush.Handler{Pusher: p}), "application/json", idBody, http.Header{"Host": {"evil.example"}})
	if got := a.header.Get("Location"); got != "/api/orders/"+orderID {
		t.Errorf("Location %q: without a configured base it is relative, never from the request", got)
	}
}

func TestHandlerProblems(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		location   bool
		retryAfter string
		kind       string
	}{
		{"invalid order", problem.InvalidFields("the order cannot be mapped", []problem.FieldError{{Field: "lines/0/unit", Reason: `"Dozen" has no SAP unit`}}), 400, false, "", "invalid"},
		{"not found", problem.New(problem.NotFound, "sales order not found"), 404, false, "", "not-found"},
		{"conflict", &problem.Error{Kind: problem.Conflict, Detail: "being pushed", RetryAfter: 5 * time.Second}, 409, true, "5", "conflict"},
		{"rejected", &problem.Error{Kind: problem.Rejected, Detail: "SAP rejected", Extra: map[string]any{"sapMessages": []classify.Message{{Code: "V1/320", Message: "not defined"}}}}, 422, false, "", "rejected"},
		{"unavailable", &problem.Error{Kind: problem.Unavailable, Detail: "SAP answered 503", RetryAfter: 7 * time.Second}, 503, true, "7", "unavailable"},
		{"timeout", &problem.Error{Kind: problem.Timeout, Detail: "waiting"}, 504, true, "", "timeout"},
		{"unclassified", errors.New("password=hunter2"), 500, false, "", "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePusher{PushFn: func(context.Context, orderpush.Request, bool) (orderpush.Result, error) {
				return orderpush.Result{SalesOrderID: orderID}, tt.err
			}}
			a := post(t, serve(t, &orderpush.Handler{Pusher: p, StatusBase: statusBase}), "application/json", idBody, nil)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d", a.status, tt.status)
			}
			if got := a.header.Get("Content-Type"); got != "application/problem+json" {
				t.Errorf("content type %q", got)
			}
			if loc := a.header.Get("Location"); (loc != "") != tt.location || (tt.location && loc != statusBase+orderID) {
				t.Errorf("Location %q, want one: %v", loc, tt.location)
			}
			if got := a.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if a.body["type"] != problem.TypeBase+tt.kind || a.body["instance"] != "inv-9" || int(a.body["status"].(float64)) != tt.status {
				t.Errorf("problem %v", a.body)
			}
			if strings.Contains(a.body["detail"].(string), "hunter2") {
				t.Errorf("an unclassified error leaked: %v", a.body)
			}
			switch tt.kind {
			case "invalid":
				if errs, _ := a.body["errors"].([]any); len(errs) != 1 {
					t.Errorf("errors %v", a.body["errors"])
				}
			case "rejected":
				if msgs, _ := a.body["sapMessages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["code"] != "V1/320" {
					t.Errorf("sapMessages %v", a.body["sapMessages"])
				}
			}
		})
	}
}

func TestHandlerRefusesBadRequestsBeforePushing(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		max         int64
		status      int
		kind        string
		field       string
	}{
		{"text/plain", "text/plain", idBody, 0, 415, "unsupported-media-type", "Content-Type"},
		{"form", "application/x-www-form-urlencoded", "salesorderid=" + orderID, 0, 415, "unsupported-media-type", "Content-Type"},
		{"a prefix of JSON", "application/jsonp", idBody, 0, 415, "unsupported-media-type", "Content-Type"},
		{"JSON patch", "application/json-patch+json", idBody, 0, 415, "unsupported-media-type", "Content-Type"},
		{"no Content-Type", "", idBody, 0, 415, "unsupported-media-type", "Content-Type"},
		{"UTF-16", "application/json; charset=utf-16", idBody, 0, 415, "unsupported-media-type", "Content-Type"},
		{"over MaxBody", "application/json", `{"salesorderid":"` + orderID + `"` + strings.Repeat(" ", 100) + `}`, 64, 413, "payload-too-large", ""},
		{"over the default 4 MiB", "application/json", `{"salesorderid":"` + orderID + `"` + strings.Repeat(" ", 4<<20) + `}`, 0, 413, "payload-too-large", ""},
		{"not a GUID", "application/json", `{"salesorderid":"42"}`, 0, 400, "invalid", "salesorderid"},
		{"empty body", "application/json", ``, 0, 400, "invalid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePusher{}
			a := post(t, serve(t, &orderpush.Handler{Pusher: p, StatusBase: statusBase, MaxBody: tt.max}), tt.contentType, tt.body, nil)
			if a.status != tt.status || a.body["type"] != problem.TypeBase+tt.kind {
				t.Fatalf("status %d %v, want %d %s", a.status, a.body, tt.status, tt.kind)
			}
			if tt.status != 413 {
				errs, _ := a.body["errors"].([]any)
				if len(errs) != 1 || errs[0].(map[string]any)["field"] != tt.field {
					t.Errorf("errors %v, want one on %q", a.body["errors"], tt.field)
				}
			}
			if len(p.calls) != 0 {
				t.Errorf("pushed %+v", p.calls)
			}
		})
	}
}

func TestHandlerAcceptsJSONWithParametersAndAtMaxBody(t *testing.T) {
	ok := func(context.Context, orderpush.Request, bool) (orderpush.Result, error) {
		return orderpush.Result{SalesOrderID: orderID, SAPSalesOrder: "4711", State: orderpush.StateWrittenBack}, nil
	}
	for _, ct := range []string{"application/json", "APPLICATION/JSON", "application/json; charset=utf-8"} {
		p := &fakePusher{PushFn: ok}
		body := `{"salesorderid":"` + orderID + `"}`
		a := post(t, serve(t, &orderpush.Handler{Pusher: p, MaxBody: int64(len(body))}), ct, body, nil)
		if a.status != http.StatusOK || len(p.calls) != 1 {
			t.Errorf("content type %q, body of exactly MaxBody: status %d %v", ct, a.status, a.body)
		}
	}
}

func TestHandlerPrefer(t *testing.T) {
	tests := []struct {
		name   string
		prefer []string
		async  bool
	}{
		{"absent", nil, false},
		{"respond-async", []string{"respond-async"}, true},
		{"with wait", []string{"respond-async, wait=10"}, true},
		{"wait first", []string{"wait=10, respond-async"}, true},
		{"case-insensitive", []string{"Respond-Async"}, true},
		{"with a parameter", []string{"respond-async; foo=bar"}, true},
		{"two headers", []string{"return=minimal", "respond-async"}, true},
		{"other preferences only", []string{"return=representation, wait=5"}, false},
		{"a lookalike", []string{"respond-asynchronously"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &fakePusher{PushFn: func(_ context.Context, _ orderpush.Request, async bool) (orderpush.Result, error) {
				return orderpush.Result{SalesOrderID: orderID, State: orderpush.StateAccepted, Accepted: async}, nil
			}}
			a := post(t, serve(t, &orderpush.Handler{Pusher: p}), "application/json", idBody, http.Header{"Prefer": tt.prefer})
			if len(p.calls) != 1 || p.calls[0].async != tt.async {
				t.Fatalf("calls %+v, want async %v", p.calls, tt.async)
			}
			if want := map[bool]int{true: 202, false: 200}[tt.async]; a.status != want {
				t.Errorf("status %d, want %d", a.status, want)
			}
		})
	}
}

func TestFunctionDeclaration(t *testing.T) {
	fn, err := orderpush.Function(&orderpush.Handler{})
	if err != nil {
		t.Fatal(err)
	}
	if fn.Name != "orderpush" || fn.HTTP == nil || fn.Queue != nil {
		t.Errorf("function %+v", fn)
	}
	if err := fn.Validate(); err != nil {
		t.Errorf("the declaration does not match function.json: %v", err)
	}
}
