package eventsin_test

// Cases from an outside review of POST /api/events: an event accepted with 2xx must read back from the queue.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/d365sap/d365sap/functions/eventsin"
	"github.com/d365sap/d365sap/shared/cloudevent"
	"github.com/d365sap/d365sap/shared/sapevent"
)

// A binary-mode push whose Content-Type is written in capitals (media types are case-insensitive, RFC 2045; the
// function's own media-type check accepts it) is answered 202 and enqueued, but the message put on the queue
// carries datacontenttype "Application/JSON" beside a JSON "data" member, which the status path's ReadQueue
// refuses: an event SAP was told was accepted goes to the dead letters.
func TestAttackAcceptedBinaryEventMustReadBackFromTheQueue(t *testing.T) {
	for _, ct := range []string{"Application/JSON", "APPLICATION/JSON; charset=UTF-8"} {
		t.Run(ct, func(t *testing.T) {
			q := &fakeQueue{}
			h := &eventsin.Handler{Queue: q, QueueName: "sap-events"}
			w := serve(h, http.MethodPost, ct, `{"SalesOrder":"164"}`,
				"ce-specversion", "1.0", "ce-id", "b-1", "ce-source", "/default/sap.s4.beh/1",
				"ce-type", "sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1")
			if w.Code/100 != 2 {
				t.Fatalf("refused with %d: media types are case-insensitive, so the event must be taken", w.Code)
			}
			if len(q.bodies) != 1 {
				t.Fatalf("%d bodies enqueued", len(q.bodies))
			}
			e, err := cloudevent.ReadQueue(q.bodies[0])
			if err != nil {
				t.Fatalf("answered %d, enqueued %s, which the status path cannot read: %v", w.Code, q.bodies[0], err)
			}
			if _, err := sapevent.RefOf(e); err != nil {
				t.Fatalf("read back, but names no document: %v", err)
			}
		})
	}
}

// Held: a failed enqueue anywhere in a large batch answers non-2xx.
func TestAttackHeldFailedEnqueueInABigBatchIsNot2xx(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range cloudevent.MaxBatch {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","specversion":"1.0","source":"/s","id":"e-%d","data":{"SalesOrder":"%d"}}`, i, i+1)
	}
	b.WriteString("]")
	var n atomic.Int64
	q := &fakeQueue{EnqueueFn: func([]byte) error {
		if n.Add(1) == 777 {
			return errors.New("boom")
		}
		return nil
	}}
	h := &eventsin.Handler{Queue: q, QueueName: "sap-events"}
	if w := serve(h, http.MethodPost, cloudevent.Batch, b.String()); w.Code/100 == 2 {
		t.Fatalf("answered %d with one enqueue failed", w.Code)
	}
	var c atomic.Int64
	q2 := &fakeQueue{EnqueueFn: func([]byte) error { c.Add(1); return nil }}
	h2 := &eventsin.Handler{Queue: q2, QueueName: "sap-events"}
	if w := serve(h2, http.MethodPost, cloudevent.Batch, "["+b.String()[1:len(b.String())-1]+`,{"type":"x"}]`); w.Code != 400 || c.Load() != 0 {
		t.Fatalf("a batch with one bad event: %d, %d enqueued", w.Code, c.Load())
	}
}

// Held: the handshake never echoes an origin with CR/LF or spaces, and checks the credentials.
func TestAttackHeldHandshakeOrigins(t *testing.T) {
	h := &eventsin.Handler{Queue: &fakeQueue{}, QueueName: "q", Auth: eventsin.Basic{Username: "u", Password: "p"}, Origins: []string{"mesh.example"}}
	for _, o := range []string{"mesh.example\r\nSet-Cookie: a=b", "mesh.example x", "MESH.example"} {
		r := serve(h, http.MethodOptions, "", "", "WebHook-Request-Origin", o)
		if r.Code == 200 || strings.ContainsAny(r.Header().Get("WebHook-Allowed-Origin"), "\r\n ") {
			t.Errorf("origin %q: %d %q", o, r.Code, r.Header().Get("WebHook-Allowed-Origin"))
		}
	}
}
