package sapsim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim/sapkit"
)

func TestBasicAuthIsChecked(t *testing.T) {
	c := newSim(t, Options{})
	for name, hdr := range map[string]map[string]string{
		"none":           {"Authorization": ""},
		"wrong password": {"Authorization": "Basic " + "U0lNVVNFUjp3cm9uZw=="},
	} {
		t.Run(name, func(t *testing.T) {
			resp, _ := c.do("GET", soPath+"A_SalesOrder", "", hdr)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
				t.Fatalf("status %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if resp, _ := c.do("GET", soPath+"A_SalesOrder", "", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("valid credentials: status %d", resp.StatusCode)
	}
}

func TestCSRFIsEnforced(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newSim(t, Options{CSRFTokenTTL: time.Minute, Now: clock})
	c.fetchCSRF()
	cases := []struct {
		name string
		hdr  map[string]string
	}{
		{"no token", map[string]string{"X-CSRF-Token": ""}},
		{"wrong token", map[string]string{"X-CSRF-Token": "forged"}},
		{"no cookies", map[string]string{"Cookie": ""}},
		{"session cookie only", map[string]string{"Cookie": c.cookies[0].Name + "=" + c.cookies[0].Value}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.write("POST", soPath+"A_SalesOrder", validOrder, tc.hdr)
			if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-CSRF-Token") != "Required" ||
				string(body) != "CSRF token validation failed" {
				t.Fatalf("status %d, header %q, body %q", resp.StatusCode, resp.Header.Get("X-CSRF-Token"), body)
			}
		})
	}
	if got := c.srv.Stats().SalesOrders; got != 0 {
		t.Fatalf("%d orders created by rejected writes", got)
	}
	resp, body := c.write("POST", soPath+"A_SalesOrder", validOrder, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("valid token: status %d: %s", resp.StatusCode, body)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	resp, _ = c.write("POST", soPath+"A_SalesOrder", validOrder, nil)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-CSRF-Token") != "Required" {
		t.Fatalf("expired token: status %d", resp.StatusCode)
	}
	c.fetchCSRF()
	if resp, body := c.write("POST", soPath+"A_SalesOrder", validOrder, nil); resp.StatusCode != http.StatusCreated {
		t.Fatalf("fresh token: status %d: %s", resp.StatusCode, body)
	}
}

func TestPayloadValidationLikeSAP(t *testing.T) {
	c := newSim(t, Options{})
	c.fetchCSRF()
	cases := []struct {
		name, body, code string
	}{
		{"unknown property", `{"SalesOrderType":"OR","Foo":"x"}`, "/IWBEP/CM_MGW_RT/004"},
		{"unknown item property", `{"SalesOrderType":"OR","to_Item":[{"Material":"SIM0000001","Bar":1}]}`, "/IWBEP/CM_MGW_RT/004"},
		{"number for a string", `{"SalesOrderType":4}`, "/IWBEP/CM_MGW_RT/021"},
		{"decimal as number is not a string", `{"to_Item":[{"Material":"SIM0000001","RequestedQuantity":2}]}`, "/IWBEP/CM_MGW_RT/021"},
		{"too long", `{"PurchaseOrderByCustomer":"` + strings.Repeat("x", 36) + `"}`, "/IWBEP/CM_MGW_RT/021"},
		{"scale too big", `{"to_Item":[{"Material":"SIM0000001","RequestedQuantity":"1.2345"}]}`, "/IWBEP/CM_MGW_RT/021"},
		{"bad date", `{"SalesOrderDate":"yesterday"}`, "/IWBEP/CM_MGW_RT/021"},
		{"not an object", `[1,2]`, "CX_SXML_PARSE_ERROR"},
		{"unknown sold-to party", strings.Replace(validOrder, "10100001", "99999999", 1), "V1/320"},
		{"blocked sold-to party", strings.Replace(validOrder, "10100001", CustomerID(BlockedCustomerIndex), 1), "V1/458"},
		{"unknown material", strings.Replace(validOrder, "SIM0000002", "NOPE", 1), "V1/392"},
		{"wrong sales area", strings.Replace(validOrder, `"SalesOrganization":"1010"`, `"SalesOrganization":"1710"`, 1), "V1/302"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.write("POST", soPath+"A_SalesOrder", tc.body, nil)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if e := decodeSAPError(t, body); e.Error.Code != tc.code {
				t.Fatalf("code %s (%s), want %s", e.Error.Code, e.Error.Message.Value, tc.code)
			}
		})
	}
	if n := c.srv.Stats().SalesOrders; n != 0 {
		t.Fatalf("%d orders stored from invalid payloads", n)
	}
}

func TestSalesOrderLifecycle(t *testing.T) {
	c := newSim(t, Options{})
	c.fetchCSRF()
	resp, body := c.write("POST", soPath+"A_SalesOrder", validOrder, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var created struct {
		D map[string]any `json:"d"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if created.D["SalesOrder"] != "1" || resp.Header.Get("Location") == "" {
		t.Fatalf("created %v, Location %q", created.D["SalesOrder"], resp.Header.Get("Location"))
	}
	items := created.D["to_Item"].(map[string]any)["results"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["SalesOrderItem"] != "10" || items[1].(map[string]any)["SalesOrderItem"] != "20" {
		t.Fatalf("items %v", items)
	}
	etag := created.D["__metadata"].(map[string]any)["etag"].(string)
	if !regexp.MustCompile(`^W/"datetimeoffset'\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\d\.\d{7}Z'"$`).MatchString(etag) {
		t.Fatalf("etag %q is not shaped like SAP's", etag)
	}
	// If-Match is required, must match, and the update answers 204 with a new ETag.
	patch := `{"PurchaseOrderByCustomer":"PO-1-CHANGED"}`
	if resp, _ := c.write("PATCH", soPath+"A_SalesOrder('1')", patch, nil); resp.StatusCode != 428 {
		t.Fatalf("no If-Match: status %d", resp.StatusCode)
	}
	if resp, _ := c.write("PATCH", soPath+"A_SalesOrder('1')", patch, map[string]string{"If-Match": `W/"datetimeoffset'2000-01-01T00%3A00%3A00.0000000Z'"`}); resp.StatusCode != 412 {
		t.Fatalf("stale If-Match: status %d", resp.StatusCode)
	}
	if resp, body := c.write("PATCH", soPath+"A_SalesOrder('1')", patch, map[string]string{"If-Match": etag}); resp.StatusCode != 204 || len(body) != 0 {
		t.Fatalf("update: status %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.write("PATCH", soPath+"A_SalesOrder('1')", patch, map[string]string{"If-Match": etag}); resp.StatusCode != 412 {
		t.Fatalf("reusing the old etag: status %d", resp.StatusCode)
	}
	resp, body = c.do("GET", soPath+"A_SalesOrder('1')?$expand=to_Item", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"PurchaseOrderByCustomer":"PO-1-CHANGED"`) {
		t.Fatalf("read after update: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.do("GET", soPath+"A_SalesOrder('999')", "", nil); resp.StatusCode != 404 {
		t.Fatalf("missing order: status %d", resp.StatusCode)
	}
}

func TestFaultsFromAdminEndpoint(t *testing.T) {
	c := newSim(t, Options{})
	put := func(f string) {
		req, _ := http.NewRequest("PUT", c.base+"/sapsim/faults", strings.NewReader(f))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("PUT faults: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	put(`{"fail503Next":1,"fail429Next":1,"retryAfterSeconds":7}`)
	resp, _ := c.do("GET", soPath+"A_SalesOrder", "", nil)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("first: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	resp, body := c.do("GET", soPath+"A_SalesOrder", "", nil)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("second: %d", resp.StatusCode)
	}
	decodeSAPError(t, body)
	if resp, _ := c.do("GET", soPath+"A_SalesOrder", "", nil); resp.StatusCode != 200 {
		t.Fatalf("third: %d", resp.StatusCode)
	}
	put(`{"down":true}`)
	if resp, _ := c.do("GET", soPath+"A_SalesOrder", "", nil); resp.StatusCode != 503 {
		t.Fatalf("down: %d", resp.StatusCode)
	}
	put(`{"resetNext":1}`)
	req, _ := http.NewRequest("GET", c.base+soPath+"A_SalesOrder", nil)
	req.SetBasicAuth("SIMUSER", "secret")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("reset: got status %d, want a broken connection", resp.StatusCode)
	}
	resp, body = c.do("GET", "/sapsim/faults", "", nil)
	if resp.StatusCode != 200 || strings.Contains(string(body), "resetNext") {
		t.Fatalf("faults after use: %s", body)
	}
	req, _ = http.NewRequest("PUT", c.base+"/sapsim/faults", strings.NewReader(`{"nope":1}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 400 {
		t.Fatalf("unknown fault field accepted: %v", resp)
	}
}

func TestDropCreateCommitsTheOrder(t *testing.T) {
	c := newSim(t, Options{Faults: Faults{DropCreateNext: 1}})
	c.fetchCSRF()
	req, _ := http.NewRequest("POST", c.base+soPath+"A_SalesOrder", strings.NewReader(validOrder))
	req.SetBasicAuth("SIMUSER", "secret")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.token)
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want the answer dropped", resp.StatusCode)
	}
	resp, body := c.do("GET", soPath+"A_SalesOrder?$filter="+url.QueryEscape("PurchaseOrderByCustomer eq 'PO-1'"), "", nil)
	if resp.StatusCode != 200 || strings.Count(string(body), `"SalesOrder":"1"`) != 1 {
		t.Fatalf("the dropped create was not committed: %s", body)
	}
	if st := c.srv.Stats(); st.DroppedCreates != 1 || st.SalesOrders != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBatchChangesetIsAtomic(t *testing.T) {
	c := newSim(t, Options{})
	c.fetchCSRF()
	bad := strings.Replace(validOrder, "10100001", "99999999", 1)
	part := func(method, path, body string) string {
		s := "--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
			method + " " + path + " HTTP/1.1\r\nContent-Type: application/json\r\n"
		if body != "" {
			s += fmt.Sprintf("Content-Length: %d\r\n", len(body))
		}
		return s + "\r\n" + body + "\r\n"
	}
	batch := "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET A_SalesOrder?$top=1 HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n" +
		"--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n" + part("POST", "A_SalesOrder", validOrder) + part("POST", "A_SalesOrder", bad) + "--cs--\r\n" +
		"--b\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n" + part("POST", "A_SalesOrder", validOrder) + "--cs--\r\n--b--\r\n"
	resp, body := c.write("POST", soPath+"$batch", batch, map[string]string{"Content-Type": "multipart/mixed; boundary=b"})
	if resp.StatusCode != 202 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), "HTTP/1.1 400") || !strings.Contains(string(body), "V1/320") ||
		strings.Count(string(body), "HTTP/1.1 201") != 1 {
		t.Fatalf("answer: %s", body)
	}
	if n := c.srv.Stats().SalesOrders; n != 1 {
		t.Fatalf("%d orders stored; the failed changeset must leave none", n)
	}
}

func TestMetadata(t *testing.T) {
	c := newSim(t, Options{})
	resp, body := c.do("GET", soPath+"$metadata", "", nil)
	var doc sapkit.Doc
	if resp.StatusCode != 200 || xml.Unmarshal(body, &doc) != nil || len(doc.Schemas) != 1 {
		t.Fatalf("generated metadata: %d %s", resp.StatusCode, body[:min(200, len(body))])
	}
	if !bytes.Contains(body, []byte(`<EntitySet Name="A_SalesOrder"`)) || !bytes.Contains(body, []byte(`MaxLength="35"`)) {
		t.Fatal("generated metadata lacks A_SalesOrder or MaxLength")
	}
	kit := sapkit.Dir(t)
	dir := filepath.Join(kit, "sap", "edmx")
	c2 := newSim(t, Options{EDMXDir: dir, ExtensionFields: map[string]int{}})
	_, body = c2.do("GET", soPath+"$metadata", "", nil)
	want, err := os.ReadFile(filepath.Join(dir, "API_SALES_ORDER_SRV.edmx"))
	if err != nil || !bytes.Equal(body, want) {
		t.Fatalf("kit metadata not served as is (%v)", err)
	}
}
