package hostile

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// eventsCases: POST /api/events takes SAP's CloudEvents and puts each one of a consumed type on
// STATUS_EVENTS_QUEUE; OPTIONS is the webhook handshake. A hostile request is refused with a problem naming the
// attribute and enqueues nothing; a well-formed event of a type nobody consumes is answered 202 and counted, and
// also enqueues nothing. Only the cases allowed an event on the queue may leave one there.
func eventsCases(w *world) []hcase {
	const path = "/api/events"
	const order = `{"specversion":"1.0","type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1","source":"/default/sap.s4.beh/730431274",` +
		`"id":"hostile-1","time":"2019-03-18T07:59:58Z","datacontenttype":"application/json","data":{"SalesOrder":"164"}}`
	const partner = `{"specversion":"1.0","type":"sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1","source":"/default/sap.s4.beh/730431274",` +
		`"id":"hostile-2","data":{"BusinessPartner":"1000746"}}`
	post := func(contentType, body string) request {
		return w.keyed(http.MethodPost, path).with("Content-Type", contentType).withBody(body)
	}
	binary := func(typ, data string) request {
		return post("application/json", data).with("ce-specversion", "1.0").with("ce-id", "hostile-b").
			with("ce-source", "/default/sap.s4.beh/730431274").with("ce-type", typ)
	}
	options := func(origin string) request {
		r := w.keyed(http.MethodOptions, path)
		if origin != "" {
			r = r.with("WebHook-Request-Origin", origin)
		}
		return r
	}
	c := func(cl class, name string, r request, wt want, queued int) hcase {
		return hcase{class: cl, name: "events " + name, req: r, want: wt, allow: allowance{events: queued}}
	}
	structured := "application/cloudevents+json"
	batch := "application/cloudevents-batch+json"
	cases := []hcase{
		c(ids, "a structured event", post(structured, order), accepted(1, 1, 0), 1),
		c(ids, "a binary event", binary("sap.s4.beh.salesorder.v1.SalesOrder.OvrlDelivStsChgd.v1", `{"SalesOrder":"164","OverallDeliveryStatus":"C"}`), accepted(1, 1, 0), 1),
		c(ids, "a batch", post(batch, "["+order+","+partner+"]"), accepted(2, 1, 1), 1),
		c(ids, "a type nobody consumes", post(structured, partner), accepted(1, 0, 1), 0),
		c(ids, "an empty batch", post(batch, "[]"), accepted(0, 0, 0), 0),
		c(ids, "the handshake", options("eventmesh.example.com"), handshake("eventmesh.example.com"), 0),
		c(ids, "the handshake asking for a rate", options("eventmesh.example.com").with("WebHook-Request-Rate", "600"), handshake("eventmesh.example.com"), 0),
		c(headers, "the handshake without an origin", options(""), invalid("WebHook-Request-Origin"), 0),
		c(headers, "the handshake with an origin of spaces", options("a b c"), invalid("WebHook-Request-Origin"), 0),
		c(headers, "the handshake with a non-ASCII origin", options("évil.example"), invalid("WebHook-Request-Origin"), 0),
		c(headers, "the handshake with an origin too long", options(strings.Repeat("a", 300)), invalid("WebHook-Request-Origin"), 0),
		c(headers, "the handshake with a callback URL it must not call", options("eventmesh.example.com").with("WebHook-Request-Callback", "http://169.254.169.254/latest/meta-data"), handshake("eventmesh.example.com"), 0),
		c(shapes, "no specversion", post(structured, strings.Replace(order, `"specversion":"1.0",`, "", 1)), invalid("specversion"), 0),
		c(shapes, "specversion 0.3", post(structured, strings.Replace(order, `"1.0"`, `"0.3"`, 1)), invalid("specversion"), 0),
		c(shapes, "no id", post(structured, strings.Replace(order, `"id":"hostile-1",`, "", 1)), invalid("id"), 0),
		c(shapes, "an empty source", post(structured, strings.Replace(order, `"/default/sap.s4.beh/730431274"`, `""`, 1)), invalid("source"), 0),
		c(shapes, "no type", post(structured, strings.Replace(order, `"type":"sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1",`, "", 1)), invalid("type"), 0),
		c(shapes, "data a string", post(structured, strings.Replace(order, `{"SalesOrder":"164"}`, `"164"`, 1)), invalid("data"), 0),
		c(shapes, "data an array", post(structured, strings.Replace(order, `{"SalesOrder":"164"}`, `["164"]`, 1)), invalid("data"), 0),
		c(shapes, "no data", post(structured, strings.Replace(order, `,"data":{"SalesOrder":"164"}`, "", 1)), invalid("data"), 0),
		c(shapes, "a time that is no time", post(structured, strings.Replace(order, `2019-03-18T07:59:58Z`, `yesterday`, 1)), invalid("time"), 0),
		c(shapes, "plain JSON that is no event", post("application/json", `{"SalesOrder":"164"}`), invalid("ce-specversion"), 0),
		c(shapes, "binary mode without ce-id", post("application/json", `{"SalesOrder":"164"}`).with("ce-specversion", "1.0").with("ce-source", "/s").with("ce-type", "t"), invalid("id"), 0),
		c(shapes, "binary mode of spec 0.3", binary("t", `{}`).with("ce-specversion", "0.3"), invalid("ce-specversion"), 0),
		c(shapes, "a batch that is an object", post(batch, order), invalid(whole), 0),
		c(shapes, "a batch with one bad event", post(batch, "["+order+`,{"specversion":"1.0","id":"x"}]`), invalid("source"), 0),
		c(bodies, "an empty body", post(structured, ""), invalid(whole), 0),
		c(bodies, "truncated JSON", post(structured, order[:60]), invalid(whole), 0),
		c(bodies, "a JSON string", post(structured, `"event"`), invalid(whole), 0),
		// The host hands a body on as text, so the bytes arrive as U+FFFD: the envelope is whole and the event is
		// enqueued; the status function refuses the number it names.
		c(bodies, "bytes that are no UTF-8 in a number", post(structured, strings.Replace(order, `"164"`, "\"16\xff\xfe4\"", 1)), accepted(1, 1, 0), 1),
		c(encodings, "XML", post("application/xml", "<event/>"), unsupported(), 0),
		c(encodings, "no Content-Type", w.keyed(http.MethodPost, path).withBody(order), unsupported(), 0),
		c(encodings, "gzip", post(structured, order).with("Content-Encoding", "gzip"),
			want{status: http.StatusUnsupportedMediaType, kind: "unsupported-media-type", field: "Content-Encoding"}, 0),
		c(shapes, "binary mode with ce-type twice", binary("sap.s4.beh.salesorder.v1.SalesOrder.Changed.v1", `{"SalesOrder":"164"}`).with("ce-type", "x"), invalid("ce-type"), 0),
		c(encodings, "a charset that is no UTF-8", post(structured+"; charset=latin1", order), unsupported(), 0),
		c(injection, "a type with an OData filter in it", post(structured, strings.Replace(order, `Changed.v1"`, `Changed.v1' or 1 eq 1"`, 1)), accepted(1, 0, 1), 0),
		// The envelope is well formed: it is enqueued, and the status function refuses the number it names.
		c(injection, "a sales order number with a quote", post(structured, strings.Replace(order, `"164"`, `"164' or '1"`, 1)), accepted(1, 1, 0), 1),
		c(injection, "a source that is a URL", post(structured, strings.Replace(order, `"/default/sap.s4.beh/730431274"`, `"http://169.254.169.254/"`, 1)), accepted(1, 1, 0), 1),
		c(sizes, "an event too large for a queue message", post(structured, strings.Replace(order, `"SalesOrder":"164"`, `"SalesOrder":"164","Note":"`+strings.Repeat("x", 60<<10)+`"`, 1)),
			want{status: http.StatusRequestEntityTooLarge, kind: "payload-too-large"}, 0),
		{class: auth, name: "events without a key", req: anon(http.MethodPost, path).with("Content-Type", structured).withBody(order), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "events with a wrong key", req: anon(http.MethodPost, path).with("Content-Type", structured).with("x-functions-key", "nope").withBody(order), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "events handshake without a key", req: anon(http.MethodOptions, path).with("WebHook-Request-Origin", "eventmesh.example.com"), want: byHost(http.StatusUnauthorized)},
		{class: auth, name: "events with a wrong ?code=", req: anon(http.MethodPost, path+"?code=nope").with("Content-Type", structured).withBody(order), want: byHost(http.StatusUnauthorized)},
	}
	return append(cases, w.methodCases(path, http.MethodPost, http.MethodOptions)...)
}

// accepted is the events function's 202 with its counts.
func accepted(received, enqueued, ignored int) want {
	return want{status: http.StatusAccepted, check: func(t *testing.T, r response) {
		t.Helper()
		var a struct {
			Received int            `json:"received"`
			Enqueued int            `json:"enqueued"`
			Ignored  map[string]int `json:"ignored"`
		}
		if err := json.Unmarshal(r.body, &a); err != nil {
			t.Fatalf("answer %s: %v", r.body, err)
		}
		n := 0
		for _, c := range a.Ignored {
			n += c
		}
		if a.Received != received || a.Enqueued != enqueued || n != ignored {
			t.Errorf("answer %s: want received %d, enqueued %d, ignored %d", r.body, received, enqueued, ignored)
		}
	}}
}

// handshake is the webhook validation's 200 echoing the origin.
func handshake(origin string) want {
	return want{status: http.StatusOK, check: func(t *testing.T, r response) {
		t.Helper()
		if got := r.header.Get("WebHook-Allowed-Origin"); got != origin {
			t.Errorf("WebHook-Allowed-Origin %q, want %q", got, origin)
		}
	}}
}
