package sapsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// simClient drives a simulator over HTTP as an SAP client would: Basic auth, CSRF token and cookies.

const soPath = "/sap/opu/odata/sap/API_SALES_ORDER_SRV/"

type simClient struct {
	t       *testing.T
	base    string
	srv     *Server
	token   string
	cookies []*http.Cookie
}

func newSim(t *testing.T, o Options) *simClient {
	t.Helper()
	if o.Username == "" {
		o.Username, o.Password = "SIMUSER", "secret"
	}
	s := New(o)
	t.Cleanup(s.Quiesce) // cleanups run last first: after the server has closed
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &simClient{t: t, base: ts.URL, srv: s}
}

func (c *simClient) do(method, path string, body string, hdr map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth("SIMUSER", "secret")
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func (c *simClient) fetchCSRF() {
	c.t.Helper()
	resp, _ := c.do("GET", soPath, "", map[string]string{"X-CSRF-Token": "Fetch"})
	c.token = resp.Header.Get("X-CSRF-Token")
	c.cookies = resp.Cookies()
	if c.token == "" || len(c.cookies) != 2 {
		c.t.Fatalf("CSRF fetch gave token %q and %d cookies", c.token, len(c.cookies))
	}
}

func (c *simClient) write(method, path, body string, extra map[string]string) (*http.Response, []byte) {
	c.t.Helper()
	hdr := map[string]string{"X-CSRF-Token": c.token}
	var parts []string
	for _, ck := range c.cookies {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	hdr["Cookie"] = strings.Join(parts, "; ")
	for k, v := range extra {
		hdr[k] = v
	}
	return c.do(method, path, body, hdr)
}

const validOrder = `{"SalesOrderType":"OR","SalesOrganization":"1010","DistributionChannel":"10","OrganizationDivision":"00",
"SoldToParty":"10100001","PurchaseOrderByCustomer":"PO-1","to_Item":[{"Material":"SIM0000001","RequestedQuantity":"2.5"},
{"Material":"SIM0000002","RequestedQuantity":"1"}]}`

type sapErrBody struct {
	Error struct {
		Code    string `json:"code"`
		Message struct {
			Lang, Value string
		} `json:"message"`
		InnerError struct {
			TransactionID string `json:"transactionid"`
			ErrorDetails  []struct {
				Code, Message, Severity string
			} `json:"errordetails"`
		} `json:"innererror"`
	} `json:"error"`
}

func decodeSAPError(t *testing.T, data []byte) sapErrBody {
	t.Helper()
	var e sapErrBody
	if err := json.Unmarshal(data, &e); err != nil || e.Error.Code == "" || e.Error.Message.Value == "" ||
		e.Error.InnerError.TransactionID == "" || len(e.Error.InnerError.ErrorDetails) == 0 {
		t.Fatalf("not an SAP error body (%v): %s", err, data)
	}
	return e
}
