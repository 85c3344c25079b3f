package sapsim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// post sends a sales order create with a CSRF token, as a client would, on a client with the given timeout.
func (c *simClient) post(body string, timeout time.Duration) (*http.Response, []byte, error) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+soPath+"A_SalesOrder", strings.NewReader(body))
	req.SetBasicAuth("SIMUSER", "secret")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", c.token)
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

func TestCommitThenGatewayError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		f      Faults
		status int
		page   string // a piece of the HTML page
	}{
		{"default is a 504", Faults{CommitThenGatewayNext: 1}, 504, "Microsoft-Azure-Application-Gateway/v2"},
		{"502 from the Web Dispatcher", Faults{CommitThenGatewayNext: 1, GatewayStatus: 502}, 502, "Connection to partner timed out"},
		{"by rate", Faults{CommitThenGatewayRate: 1, GatewayStatus: 504}, 504, "504 Gateway Time-out"},
		{"scoped to another service", Faults{CommitThenGatewayNext: 1, Services: []string{"API_PRODUCT_SRV"}}, 201, `"SalesOrder":"1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSim(t, Options{Faults: tc.f})
			c.fetchCSRF()
			resp, body, err := c.post(validOrder, 5*time.Second)
			if err != nil || resp.StatusCode != tc.status || !strings.Contains(string(body), tc.page) {
				t.Fatalf("%v: status %d: %s", err, resp.StatusCode, body)
			}
			if tc.status != 201 && (!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.HasPrefix(string(body), "<html")) {
				t.Fatalf("a gateway answers HTML, not %q: %s", resp.Header.Get("Content-Type"), body)
			}
			// Whatever the client heard, the order exists and a lookup finds it.
			if got := salesOrderNumbers(t, c, "PurchaseOrderByCustomer eq 'PO-1'"); len(got) != 1 {
				t.Fatalf("lookup after the answer found %v", got)
			}
			if want := map[bool]int{true: 0, false: 1}[tc.status == 201]; c.srv.Stats().CommitThenGateway != want {
				t.Fatalf("stats %+v", c.srv.Stats())
			}
		})
	}
}

func TestSlowCommit(t *testing.T) {
	t.Run("a client that waits gets the normal answer", func(t *testing.T) {
		c := newSim(t, Options{Faults: Faults{SlowCommitNext: 1, SlowCommitDelay: Duration(150 * time.Millisecond)}})
		c.fetchCSRF()
		start := time.Now()
		resp, body, err := c.post(validOrder, 5*time.Second)
		if err != nil || resp.StatusCode != 201 || time.Since(start) < 150*time.Millisecond {
			t.Fatalf("%v %v after %s: %s", err, resp, time.Since(start), body)
		}
		if st := c.srv.Stats(); st.SlowCommits != 1 || st.CommitsAfterDisconnect != 0 || st.SalesOrders != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("the commit happens after the client gave up", func(t *testing.T) {
		c := newSim(t, Options{Faults: Faults{SlowCommitNext: 1, SlowCommitDelay: Duration(600 * time.Millisecond)}})
		c.fetchCSRF()
		_, _, err := c.post(validOrder, 50*time.Millisecond)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
			t.Fatalf("want the client to time out, got %v", err)
		}
		if n := len(c.srv.Orders()); n != 0 {
			t.Fatalf("%d orders before the delay is over", n)
		}
		c.srv.Quiesce()
		if o := c.srv.Orders(); len(o) != 1 || o[0].PurchaseOrderByCustomer != "PO-1" {
			t.Fatalf("after Quiesce: %+v", o)
		}
		if st := c.srv.Stats(); st.CommitsAfterDisconnect != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("a refused order is refused late", func(t *testing.T) {
		c := newSim(t, Options{Faults: Faults{SlowCommitRate: 1, SlowCommitDelay: Duration(50 * time.Millisecond)}})
		c.fetchCSRF()
		resp, body, err := c.post(strings.Replace(validOrder, "10100001", "99999999", 1), 5*time.Second)
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("%v %v", err, resp)
		}
		if e := decodeSAPError(t, body); e.Error.Code != "V1/320" {
			t.Fatalf("code %s", e.Error.Code)
		}
	})
}

func TestHandEnteredSamePO(t *testing.T) {
	for _, tc := range []struct {
		name       string
		f          Faults
		clientWait time.Duration
	}{
		{"after a normal create", Faults{HandEnteredSamePONext: 1}, 5 * time.Second},
		{"after a create whose answer was lost", Faults{HandEnteredSamePORate: 1, DropCreateNext: 1}, 5 * time.Second},
		{"after a commit the client did not wait for", Faults{HandEnteredSamePONext: 1, SlowCommitNext: 1,
			SlowCommitDelay: Duration(300 * time.Millisecond)}, 30 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSim(t, Options{Faults: tc.f})
			c.fetchCSRF()
			_, _, _ = c.post(orderWith(`"YY1_D365OrderID_SDH":"`+orderID+`"`), tc.clientWait)
			c.srv.Quiesce()
			o := c.srv.Orders()
			if len(o) != 2 || o[0].HandEntered || !o[1].HandEntered || o[1].PurchaseOrderByCustomer != "PO-1" ||
				o[1].SoldToParty != o[0].SoldToParty || o[1].Extensions != nil || o[0].Extensions[DefaultExtensionField] != orderID {
				t.Fatalf("orders %+v", o)
			}
			if got := salesOrderNumbers(t, c, "PurchaseOrderByCustomer eq 'PO-1' and SoldToParty eq '10100001'"); len(got) != 2 {
				t.Fatalf("a lookup by reference found %v", got)
			}
			if got := salesOrderNumbers(t, c, "YY1_D365OrderID_SDH eq '"+orderID+"'"); len(got) != 1 || got[0] != o[0].SalesOrder {
				t.Fatalf("a lookup by our id found %v", got)
			}
			if st := c.srv.Stats(); st.HandEnteredSamePO != 1 || st.HandEntered != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestCreateFaultsOverHTTP(t *testing.T) {
	c := newSim(t, Options{})
	put := func(body string) int {
		req, _ := http.NewRequest("PUT", c.base+"/sapsim/faults", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	all := `{"commitThenGatewayRate":0.1,"commitThenGatewayNext":2,"gatewayStatus":502,"slowCommitRate":0.2,
"slowCommitNext":1,"slowCommitDelay":"2s","searchLag":"1m30s","handEnteredSamePORate":0.05,"handEnteredSamePONext":3}`
	if status := put(all); status != 200 {
		t.Fatalf("PUT: %d", status)
	}
	want := Faults{CommitThenGatewayRate: 0.1, CommitThenGatewayNext: 2, GatewayStatus: 502, SlowCommitRate: 0.2,
		SlowCommitNext: 1, SlowCommitDelay: Duration(2 * time.Second), SearchLag: Duration(90 * time.Second),
		HandEnteredSamePORate: 0.05, HandEnteredSamePONext: 3}
	if got := c.srv.Faults(); got.CommitThenGatewayRate != want.CommitThenGatewayRate || got.CommitThenGatewayNext != 2 ||
		got.GatewayStatus != 502 || got.SlowCommitRate != 0.2 || got.SlowCommitNext != 1 || got.SlowCommitDelay != want.SlowCommitDelay ||
		got.SearchLag != want.SearchLag || got.HandEnteredSamePORate != 0.05 || got.HandEnteredSamePONext != 3 {
		t.Fatalf("faults %+v", got)
	}
	for _, bad := range []string{`{"gatewayStatus":500}`, `{"slowCommitRate":1.5}`, `{"searchLag":"-1s"}`, `{"commitThenGatewayRate":-0.1}`} {
		if status := put(bad); status != 400 {
			t.Fatalf("%s: %d, want 400", bad, status)
		}
	}
}

// TestHandEnteredSamePOWithoutReference: a create that carries no customer reference still gets its duplicate,
// with an empty one, the way a clerk leaves the field blank.
func TestHandEnteredSamePOWithoutReference(t *testing.T) {
	c := newSim(t, Options{Faults: Faults{HandEnteredSamePONext: 1}})
	c.fetchCSRF()
	resp, body, err := c.post(strings.Replace(validOrder, `"PurchaseOrderByCustomer":"PO-1",`, "", 1), 5*time.Second)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("%v %v %s", err, resp, body)
	}
	if o := c.srv.Orders(); len(o) != 2 || !o[1].HandEntered || o[1].PurchaseOrderByCustomer != "" {
		t.Fatalf("orders %+v", o)
	}
}
