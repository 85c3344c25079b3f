package eventsin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/d365sap/d365sap/functions/eventsin"
	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/store"
)

// fakeQueue records enqueues; EnqueueFn decides each one's outcome.
type fakeQueue struct {
	mu        sync.Mutex
	bodies    [][]byte
	queues    []string
	EnqueueFn func(body []byte) error
}

func (q *fakeQueue) Enqueue(_ context.Context, queue string, body []byte, _ *store.EnqueueOptions) (string, error) {
	if q.EnqueueFn != nil {
		if err := q.EnqueueFn(body); err != nil {
			return "", err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.bodies, q.queues = append(q.bodies, body), append(q.queues, queue)
	return "m", nil
}

const (
	orderChanged = `{"type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","specversion":"1.0","source":"/default/sap.s4.beh/730431274","id":"e-1","time":"2019-03-18T07:59:58Z","datacontenttype":"application/json","data":{"SalesOrder":"164"}}`
	partner      = `{"type":"sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1","specversion":"1.0","source":"/default/sap.s4.beh/730431274","id":"e-2","time":"2023-03-03T13:19:54Z","datacontenttype":"application/json","data":{"BusinessPartner":"1000746"}}`
	delivery     = `{"type":"sap.s4.beh.outbounddelivery.v1.OutboundDelivery.GIStatusChanged.v1","specversion":"1.0","source":"/default/sap.s4.beh/730431274","id":"e-3","data":{"OutboundDelivery":"80000000","OverallGoodsMovementStatus":"C"}}`
)

func serve(h *eventsin.Handler, method, contentType, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/api/events", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func answer(t *testing.T, w *httptest.ResponseRecorder) eventsin.Answer {
	t.Helper()
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", w.Code, w.Body)
	}
	var a eventsin.Answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestEventsEnqueuesWhatTheStatusPathConsumes(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		hdr         []string
		received    int
		enqueued    []string // ids on the queue
		ignored     map[string]int
	}{
		{"binary mode", "application/json", `{"SalesOrder":"164"}`,
			[]string{"ce-specversion", "1.0", "ce-id", "b-1", "ce-source", "/default/sap.s4.beh/1", "ce-type", "sap.s4.beh.salesorder.v1.SalesOrder.OvrlDelivStsChgd.v1"},
			1, []string{"b-1"}, nil},
		{"structured mode", "application/cloudevents+json", orderChanged, nil, 1, []string{"e-1"}, nil},
		{"a batch of consumed and ignored types", "application/cloudevents-batch+json", "[" + orderChanged + "," + partner + "," + delivery + "]", nil,
			3, []string{"e-1", "e-3"}, map[string]int{"sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1": 1}},
		{"a type nobody consumes", "application/cloudevents+json", partner, nil,
			1, nil, map[string]int{"sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1": 1}},
		{"an empty batch", "application/cloudevents-batch+json", "[]", nil, 0, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{}
			a := answer(t, serve(&eventsin.Handler{Queue: q, QueueName: "sap-events"}, http.MethodPost, tt.contentType, tt.body, tt.hdr...))
			if a.Received != tt.received || a.Enqueued != len(tt.enqueued) || len(a.Ignored) != len(tt.ignored) {
				t.Fatalf("answer %+v", a)
			}
			for k, n := range tt.ignored {
				if a.Ignored[k] != n {
					t.Errorf("ignored[%s] = %d, want %d", k, a.Ignored[k], n)
				}
			}
			var ids []string
			for i, b := range q.bodies {
				e, err := cloudevent.ReadQueue(b)
				if err != nil {
					t.Fatalf("queue message %s: %v", b, err)
				}
				if q.queues[i] != "sap-events" {
					t.Errorf("enqueued on %s", q.queues[i])
				}
				ids = append(ids, e.ID)
			}
			if strings.Join(sorted(ids), ",") != strings.Join(tt.enqueued, ",") {
				t.Fatalf("enqueued %v, want %v", ids, tt.enqueued)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestEventsRefusesWhatIsNoCloudEventAndEnqueuesNothing(t *testing.T) {
	big := strings.Replace(orderChanged, `"SalesOrder":"164"`, `"SalesOrder":"164","Note":"`+strings.Repeat("x", store.MaxMessageBytes)+`"`, 1)
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
	}{
		{"a malformed envelope", "application/cloudevents+json", `{"specversion":"1.0","id":"1"}`, http.StatusBadRequest},
		{"truncated JSON", "application/cloudevents+json", orderChanged[:50], http.StatusBadRequest},
		{"JSON that is no event", "application/json", `{"SalesOrder":"164"}`, http.StatusBadRequest},
		{"a batch with one bad event", "application/cloudevents-batch+json", "[" + orderChanged + `,{"specversion":"1.0","id":"x","source":"/s"}]`, http.StatusBadRequest},
		{"XML", "application/xml", "<event/>", http.StatusUnsupportedMediaType},
		{"no Content-Type", "", orderChanged, http.StatusUnsupportedMediaType},
		{"an event too large for a queue message", "application/cloudevents+json", big, http.StatusRequestEntityTooLarge},
		{"a batch whose second event is too large", "application/cloudevents-batch+json", "[" + orderChanged + "," + strings.Replace(big, `"e-1"`, `"e-9"`, 1) + "]", http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{}
			w := serve(&eventsin.Handler{Queue: q, QueueName: "sap-events", MaxBody: 1 << 20}, http.MethodPost, tt.contentType, tt.body)
			if w.Code != tt.status || w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("status %d (%s), want %d problem: %s", w.Code, w.Header().Get("Content-Type"), tt.status, w.Body)
			}
			if len(q.bodies) != 0 {
				t.Fatalf("enqueued %d messages", len(q.bodies))
			}
		})
	}
}

func TestEventsAnswersNon2xxWhenAnEnqueueFails(t *testing.T) {
	for name, fail := range map[string]func([]byte) bool{
		"every enqueue fails":      func([]byte) bool { return true },
		"the second event's fails": func(b []byte) bool { return strings.Contains(string(b), `"e-3"`) },
	} {
		t.Run(name, func(t *testing.T) {
			q := &fakeQueue{EnqueueFn: func(b []byte) error {
				if fail(b) {
					return errors.New("queue unavailable")
				}
				return nil
			}}
			w := serve(&eventsin.Handler{Queue: q, QueueName: "sap-events"}, http.MethodPost, "application/cloudevents-batch+json", "["+orderChanged+","+delivery+"]")
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
				t.Fatalf("status %d, Retry-After %q; want 503 with Retry-After: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
			}
		})
	}
	t.Run("the queue cannot be prepared", func(t *testing.T) {
		q := &fakeQueue{}
		h := &eventsin.Handler{Queue: q, QueueName: "sap-events", Ready: func(context.Context) error { return errors.New("storage down") }}
		if w := serve(h, http.MethodPost, "application/cloudevents+json", orderChanged); w.Code != http.StatusServiceUnavailable || len(q.bodies) != 0 {
			t.Fatalf("status %d, %d enqueued; want 503 and none", w.Code, len(q.bodies))
		}
	})
}

func TestEventsHandshake(t *testing.T) {
	basic := eventsin.Basic{Username: "mesh", Password: "s3cret"}
	tests := []struct {
		name    string
		h       *eventsin.Handler
		hdr     []string
		status  int
		allowed string
		rate    string
	}{
		{"an origin is echoed", &eventsin.Handler{}, []string{"WebHook-Request-Origin", "eventmesh.example.com"}, 200, "eventmesh.example.com", ""},
		{"a rate asked for is allowed", &eventsin.Handler{}, []string{"WebHook-Request-Origin", "eventmesh.example.com", "WebHook-Request-Rate", "120"}, 200, "eventmesh.example.com", "*"},
		{"no origin", &eventsin.Handler{}, nil, 400, "", ""},
		{"an origin with a space", &eventsin.Handler{}, []string{"WebHook-Request-Origin", "a b"}, 400, "", ""},
		{"an origin too long", &eventsin.Handler{}, []string{"WebHook-Request-Origin", strings.Repeat("a", 256)}, 400, "", ""},
		{"an origin not listed", &eventsin.Handler{Origins: []string{"mesh.sap.example"}}, []string{"WebHook-Request-Origin", "evil.example"}, 403, "", ""},
		{"a listed origin, in another case", &eventsin.Handler{Origins: []string{"mesh.sap.example"}}, []string{"WebHook-Request-Origin", "Mesh.SAP.example"}, 200, "Mesh.SAP.example", ""},
		{"basic credentials missing", &eventsin.Handler{Auth: basic}, []string{"WebHook-Request-Origin", "eventmesh.example.com"}, 401, "", ""},
		{"basic credentials given", &eventsin.Handler{Auth: basic}, []string{"WebHook-Request-Origin", "eventmesh.example.com", "Authorization", "Basic bWVzaDpzM2NyZXQ="}, 200, "eventmesh.example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(tt.h, http.MethodOptions, "", "", tt.hdr...)
			if w.Code != tt.status || w.Header().Get("WebHook-Allowed-Origin") != tt.allowed || w.Header().Get("WebHook-Allowed-Rate") != tt.rate {
				t.Fatalf("status %d, allowed origin %q, rate %q; want %d, %q, %q: %s", w.Code, w.Header().Get("WebHook-Allowed-Origin"),
					w.Header().Get("WebHook-Allowed-Rate"), tt.status, tt.allowed, tt.rate, w.Body)
			}
			if tt.status == 200 && !strings.Contains(w.Header().Get("Allow"), "POST") {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
		})
	}
}

func TestEventsChecksBasicCredentialsBeforeReading(t *testing.T) {
	basic := eventsin.Basic{Username: "mesh", Password: "s3cret"}
	for name, auth := range map[string]string{
		"none":           "",
		"wrong password": "Basic bWVzaDpzM2NyZXQx",
		"wrong user":     "Basic bWVzaDE6czNjcmV0",
		"a bearer token": "Bearer abc",
	} {
		t.Run(name, func(t *testing.T) {
			q := &fakeQueue{}
			w := serve(&eventsin.Handler{Queue: q, QueueName: "q", Auth: basic}, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", auth)
			if w.Code != http.StatusUnauthorized || len(q.bodies) != 0 {
				t.Fatalf("status %d, %d enqueued; want 401 and none", w.Code, len(q.bodies))
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic realm=") {
				t.Errorf("WWW-Authenticate %q, want a Basic challenge (RFC 7235: a 401 carries one)", got)
			}
			if strings.Contains(w.Body.String(), "s3cret") {
				t.Fatal("the answer shows the password")
			}
		})
	}
	q := &fakeQueue{}
	if a := answer(t, serve(&eventsin.Handler{Queue: q, QueueName: "q", Auth: basic}, http.MethodPost, "application/cloudevents+json", orderChanged, "Authorization", "Basic bWVzaDpzM2NyZXQ=")); a.Enqueued != 1 {
		t.Fatalf("answer %+v", a)
	}
}

func TestEventsRefusesOtherMethods(t *testing.T) {
	if w := serve(&eventsin.Handler{Queue: &fakeQueue{}}, http.MethodGet, "", ""); w.Code != http.StatusBadRequest {
		t.Fatalf("GET answered %d", w.Code)
	}
}
