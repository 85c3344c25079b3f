package sapsim

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/sapsim/sapkit"
)

const orderID = "5f0c2a1e-8b7d-4c3e-9a61-0d2b4e6f8a10"

// orderWith is validOrder with extra header properties.
func orderWith(extra string) string {
	return strings.Replace(validOrder, `"PurchaseOrderByCustomer":"PO-1"`, `"PurchaseOrderByCustomer":"PO-1",`+extra, 1)
}

func TestExtensionFieldsOnCreate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fields  map[string]int
		extra   string
		status  int
		code    string // SAP error code when the create is refused
		stored  string // property that must come back
		storedV string
	}{
		{"default field is creatable", nil, `"YY1_D365OrderID_SDH":"` + orderID + `"`, 201, "", "YY1_D365OrderID_SDH", orderID},
		{"longer than MaxLength", nil, `"YY1_D365OrderID_SDH":"` + orderID + `X"`, 400, "/IWBEP/CM_MGW_RT/021", "", ""},
		{"unknown custom field", nil, `"YY1_Other_SDH":"x"`, 400, "/IWBEP/CM_MGW_RT/004", "", ""},
		{"landscape without custom fields", map[string]int{}, `"YY1_D365OrderID_SDH":"x"`, 400, "/IWBEP/CM_MGW_RT/004", "", ""},
		{"configured field", map[string]int{"YY1_ExtRef_SDH": 10}, `"YY1_ExtRef_SDH":"REF-1"`, 201, "", "YY1_ExtRef_SDH", "REF-1"},
		{"configured length is enforced", map[string]int{"YY1_ExtRef_SDH": 4}, `"YY1_ExtRef_SDH":"REF-1"`, 400, "/IWBEP/CM_MGW_RT/021", "", ""},
		// ABAP counts UTF-16 code units: two emoji take four positions.
		{"a character outside the BMP takes two positions", map[string]int{"YY1_ExtRef_SDH": 3}, `"YY1_ExtRef_SDH":"\ud83d\ude00\ud83d\ude00"`, 400, "/IWBEP/CM_MGW_RT/021", "", ""},
		{"two emoji fit four positions", map[string]int{"YY1_ExtRef_SDH": 4}, `"YY1_ExtRef_SDH":"\ud83d\ude00\ud83d\ude00"`, 201, "", "YY1_ExtRef_SDH", "\U0001F600\U0001F600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSim(t, Options{ExtensionFields: tc.fields})
			c.fetchCSRF()
			resp, body := c.write("POST", soPath+"A_SalesOrder", orderWith(tc.extra), nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" {
				if e := decodeSAPError(t, body); e.Error.Code != tc.code {
					t.Fatalf("code %s, want %s", e.Error.Code, tc.code)
				}
				if n := c.srv.Stats().SalesOrders; n != 0 {
					t.Fatalf("%d orders stored after a refused create", n)
				}
				return
			}
			for _, path := range []string{"A_SalesOrder('1')", "A_SalesOrder?$filter=" + url.QueryEscape(tc.stored+" eq '"+tc.storedV+"'")} {
				resp, body := c.do("GET", soPath+path, "", nil)
				if resp.StatusCode != 200 || !strings.Contains(string(body), `"`+tc.stored+`":"`+tc.storedV+`"`) {
					t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
				}
			}
		})
	}
}

func TestExtensionFieldLookup(t *testing.T) {
	c := newSim(t, Options{})
	c.fetchCSRF()
	for _, id := range []string{orderID, "other-id", ""} {
		extra := `"YY1_D365OrderID_SDH":"` + id + `"`
		if resp, body := c.write("POST", soPath+"A_SalesOrder", orderWith(extra), nil); resp.StatusCode != 201 {
			t.Fatalf("create: %d %s", resp.StatusCode, body)
		}
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"YY1_D365OrderID_SDH eq '" + orderID + "'", []string{"1"}},
		{"YY1_D365OrderID_SDH eq '" + strings.ToUpper(orderID) + "'", nil}, // values compare exactly
		{"YY1_D365OrderID_SDH eq ''", []string{"3"}},
		{"YY1_D365OrderID_SDH ne '" + orderID + "'", []string{"2", "3"}},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			got := salesOrderNumbers(t, c, tc.filter)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("found %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("an equality lookup copies only the matching order", func(t *testing.T) {
		c.srv.store.mu.Lock()
		c.srv.store.copied = 0
		c.srv.store.mu.Unlock()
		salesOrderNumbers(t, c, "YY1_D365OrderID_SDH eq '"+orderID+"'")
		c.srv.store.mu.Lock()
		defer c.srv.store.mu.Unlock()
		if c.srv.store.copied != 1 {
			t.Fatalf("copied %d orders", c.srv.store.copied)
		}
	})
}

// TestExtensionUpperCase models a custom field whose domain has no lower case: the value is stored upper-cased,
// so a lookup by the value as sent finds nothing, the failure that turns a retried push into a duplicate.
func TestExtensionUpperCase(t *testing.T) {
	c := newSim(t, Options{ExtensionUpperCase: true})
	c.fetchCSRF()
	if resp, body := c.write("POST", soPath+"A_SalesOrder", orderWith(`"YY1_D365OrderID_SDH":"`+orderID+`"`), nil); resp.StatusCode != 201 ||
		!strings.Contains(string(body), strings.ToUpper(orderID)) {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if got := salesOrderNumbers(t, c, "YY1_D365OrderID_SDH eq '"+orderID+"'"); len(got) != 0 {
		t.Fatalf("the lower-case value matched %v", got)
	}
	if got := salesOrderNumbers(t, c, "YY1_D365OrderID_SDH eq '"+strings.ToUpper(orderID)+"'"); len(got) != 1 {
		t.Fatalf("the upper-case value matched %v", got)
	}
}

// TestExtensionFieldIsUpdatable is what adopting a hand-entered order takes: writing our id into its custom field.
func TestExtensionFieldIsUpdatable(t *testing.T) {
	c := newSim(t, Options{})
	c.fetchCSRF()
	resp, body := c.write("POST", soPath+"A_SalesOrder", validOrder, nil)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	etag := resp.Header.Get("ETag")
	if resp, body := c.write("PATCH", soPath+"A_SalesOrder('1')", `{"YY1_D365OrderID_SDH":"`+orderID+`"}`, map[string]string{"If-Match": etag}); resp.StatusCode != 204 {
		t.Fatalf("patch: %d %s", resp.StatusCode, body)
	}
	if got := salesOrderNumbers(t, c, "YY1_D365OrderID_SDH eq '"+orderID+"'"); len(got) != 1 {
		t.Fatalf("after the patch the lookup found %v", got)
	}
}

func TestExtensionFieldsInMetadata(t *testing.T) {
	want := `<Property Name="YY1_D365OrderID_SDH" Type="Edm.String" MaxLength="36"`
	dir := filepath.Join(sapkit.Dir(t), "sap", "edmx")
	for _, tc := range []struct {
		name string
		o    Options
		has  bool
	}{
		{"generated", Options{}, true},
		{"SAP's EDMX", Options{EDMXDir: dir}, true},
		{"generated, no custom fields", Options{ExtensionFields: map[string]int{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSim(t, tc.o)
			resp, body := c.do("GET", soPath+"$metadata", "", nil)
			if resp.StatusCode != 200 || strings.Contains(string(body), want) != tc.has {
				t.Fatalf("status %d; property listed: %v, want %v", resp.StatusCode, !tc.has, tc.has)
			}
			var doc sapkit.Doc
			if err := xml.Unmarshal(body, &doc); err != nil || len(doc.Schemas) == 0 {
				t.Fatalf("metadata no longer parses: %v", err)
			}
		})
	}
}

// salesOrderNumbers runs a $filter on A_SalesOrder and returns the order numbers found.
func salesOrderNumbers(t *testing.T, c *simClient, filter string) []string {
	t.Helper()
	resp, body := c.do("GET", soPath+"A_SalesOrder?$select=SalesOrder&$filter="+url.QueryEscape(filter), "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("filter %s: %d %s", filter, resp.StatusCode, body)
	}
	var page struct {
		D struct {
			Results []struct{ SalesOrder string } `json:"results"`
		} `json:"d"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range page.D.Results {
		out = append(out, r.SalesOrder)
	}
	return out
}
