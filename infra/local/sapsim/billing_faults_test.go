package sapsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBillingReadLag: the document of a Created event may not be readable when the event arrives, though the
// order's flow already names it; a change to a document already there is seen at once.
func TestBillingReadLag(t *testing.T) {
	c, clock, rec := billingSim(t, Options{Faults: Faults{BillingReadLag: Duration(5 * time.Minute)}})
	s := c.srv
	order := enterOrder(t, s)
	d, _ := s.Deliver(order, nil)
	b, err := s.BillDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) != 1 || got[0] != "Created "+b {
		t.Fatalf("the event is raised at once: %v", got)
	}
	reads := []struct{ name, path, visible string }{
		{"key read", "A_BillingDocument('" + b + "')", `"BillingDocument":"` + b + `"`},
		{"delta poll", "A_BillingDocument?$filter=" + url.QueryEscape("LastChangeDateTime gt datetimeoffset'2024-06-01T10:00:00Z'"), `"BillingDocument":"` + b + `"`},
		{"items", "A_BillingDocumentItem?$filter=" + url.QueryEscape("BillingDocument eq '"+b+"'"), `"BillingDocumentItem":"10"`},
		{"pricing elements", "A_BillingDocumentItemPrcgElmnt?$filter=" + url.QueryEscape("BillingDocument eq '"+b+"'"), `"ConditionType":"TTX1"`},
	}
	check := func(t *testing.T, visible bool) {
		for _, r := range reads {
			t.Run(r.name, func(t *testing.T) {
				resp, body := c.do("GET", bdPath+r.path, "", nil)
				if got := strings.Contains(string(body), r.visible); got != visible || resp.StatusCode != 200 && resp.StatusCode != 404 {
					t.Fatalf("visible %v, want %v: %d %.300s", got, visible, resp.StatusCode, body)
				}
			})
		}
	}
	t.Run("just created", func(t *testing.T) { check(t, false) })
	if flow := c.orderFlow(order).flow(); flow[len(flow)-1] != "M "+b {
		t.Fatalf("flow %v", flow)
	}
	if n := s.Stats().BillingReadsMissingLagged; n != len(reads) {
		t.Fatalf("%d reads counted as missing a lagged document, want %d", n, len(reads))
	}
	clock.advance(5 * time.Minute)
	t.Run("after the lag", func(t *testing.T) { check(t, true) })
	canc, err := s.CancelBilling(b)
	if err != nil {
		t.Fatal(err)
	}
	if !c.getBilling(b).BillingDocumentIsCancelled {
		t.Fatal("the cancelled original must read as cancelled at once")
	}
	if resp, _ := c.do("GET", bdPath+"A_BillingDocument('"+canc+"')", "", nil); resp.StatusCode != 404 {
		t.Fatalf("the new cancellation answered %d", resp.StatusCode)
	}
}

// TestBillingRequestFaults: the request faults reach API_BILLING_DOCUMENT_SRV, and Services scopes them to it.
func TestBillingRequestFaults(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults Faults
		status int // of the first billing read; 0: the client gives up (timeout, reset)
	}{
		{"500", Faults{Fail500Next: 1}, 500},
		{"503 with Retry-After", Faults{Fail503Next: 1, RetryAfterSeconds: 3}, 503},
		{"429", Faults{Fail429Next: 1}, 429},
		{"reset", Faults{ResetNext: 1}, 0},
		{"slow past the client's timeout", Faults{SlowRate: 1, SlowLatency: Duration(time.Second)}, 0},
		{"down", Faults{Down: true}, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := billingSim(t, Options{})
			f := tc.faults
			f.Services = []string{"API_BILLING_DOCUMENT_SRV"}
			c.srv.SetFaults(f)
			if !f.Down && f.SlowRate == 0 {
				if resp, _ := c.do("GET", soPath+"A_SalesOrder?$top=1", "", nil); resp.StatusCode != 200 {
					t.Fatalf("a sales order read met the billing fault: %d", resp.StatusCode)
				}
			}
			// A connection of its own: Go's transport silently retries a GET on a reused connection that was reset.
			client := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			req, _ := http.NewRequest("GET", c.base+bdPath+"A_BillingDocument('90000000')", nil)
			req.SetBasicAuth("SIMUSER", "secret")
			req.Header.Set("Accept", "application/json")
			resp, err := client.Do(req)
			status := 0
			if err == nil {
				status = resp.StatusCode
				if tc.status == 503 && tc.faults.RetryAfterSeconds > 0 && resp.Header.Get("Retry-After") != "3" {
					t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
				}
				resp.Body.Close()
			}
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, err, tc.status)
			}
			c.srv.SetFaults(Faults{})
			if resp, _ := c.do("GET", bdPath+"A_BillingDocument('90000000')", "", nil); resp.StatusCode != 200 {
				t.Fatalf("after the fault: %d", resp.StatusCode)
			}
		})
	}
}

// TestBillingEventsThroughThePublisher: billing events go out as CloudEvents with the sample's data fields, and
// the publisher's duplicates apply to them as to every event.
func TestBillingEventsThroughThePublisher(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	p := NewPublisher(func(body []byte) error {
		var e map[string]any
		if err := json.Unmarshal(body, &e); err != nil {
			return err
		}
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
		return nil
	}, PublisherFaults{Duplicate: 1}, 3)
	defer p.Close()
	c, _, _ := billingSim(t, Options{Events: p.Raise})
	s := c.srv
	order := enterOrder(t, s)
	d, _ := s.Deliver(order, nil)
	b, err := s.BillDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Drain(5 * time.Second) {
		t.Fatal("events still pending")
	}
	mu.Lock()
	defer mu.Unlock()
	ids := map[string]int{}
	for _, e := range got {
		if e["type"] != bdEvent+"Created.v1" {
			continue
		}
		data := e["data"].(map[string]any)
		if len(data) != 4 || data["BillingDocument"] != b || data["BillingDocumentType"] != "F2" ||
			data["SalesOrganization"] != SalesOrganization || data["SDDocumentCategory"] != "M" || e["source"] != EventSource {
			t.Fatalf("event %v", e)
		}
		ids[e["id"].(string)]++
	}
	if len(ids) != 1 {
		t.Fatalf("Created delivered under ids %v, want one id twice", ids)
	}
	for _, n := range ids {
		if n != 2 {
			t.Fatalf("Created delivered %d times, want 2 (a redelivery)", n)
		}
	}
}
