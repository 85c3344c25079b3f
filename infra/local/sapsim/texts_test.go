package sapsim

import (
	"net/url"
	"strings"
	"testing"
)

const twoTexts = `"to_Text":[{"Language":"EN","LongTextID":"0001","LongText":"D365 order ` + orderID + `"},
{"Language":"DE","LongTextID":"Z001","LongText":"Bitte vor 10 Uhr liefern"}]`

func TestHeaderTextsAreStoredAndServed(t *testing.T) {
	c := newSim(t, Options{})
	c.fetchCSRF()
	resp, body := c.write("POST", soPath+"A_SalesOrder", orderWith(twoTexts), nil)
	if resp.StatusCode != 201 || strings.Count(string(body), `"LongTextID":`) != 2 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if resp, body := c.write("POST", soPath+"A_SalesOrder", validOrder, nil); resp.StatusCode != 201 {
		t.Fatalf("create without texts: %d %s", resp.StatusCode, body)
	}
	textKey := "A_SalesOrderText(SalesOrder='1',Language='DE',LongTextID='Z001')"
	for _, tc := range []struct {
		name, path string
		status     int
		texts      int    // rows with a LongTextID in the answer
		contains   string // and a piece of it
	}{
		{"navigation from the order", "A_SalesOrder('1')/to_Text", 200, 2, `"LongText":"D365 order ` + orderID + `"`},
		{"an order without texts", "A_SalesOrder('2')/to_Text", 200, 0, `"results":[]`},
		{"expanded with the order", "A_SalesOrder('1')?$expand=to_Text", 200, 2, `"SalesOrder":"1"`},
		{"the entity set", "A_SalesOrderText", 200, 2, `"Language":"DE"`},
		{"by its three keys", textKey, 200, 1, "Bitte vor 10 Uhr liefern"},
		{"filtered by text ID", "A_SalesOrderText?$filter=" + url.QueryEscape("LongTextID eq 'Z001'"), 200, 1, `"Language":"DE"`},
		{"LongText is not filterable", "A_SalesOrderText?$filter=" + url.QueryEscape("LongText eq 'x'"), 400, 0, "not filterable"},
		{"unknown key", "A_SalesOrderText(SalesOrder='1',Language='EN',LongTextID='Z001')", 404, 0, "/IWBEP/CM_MGW_RT/020"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := c.do("GET", soPath+tc.path, "", nil)
			if resp.StatusCode != tc.status || strings.Count(string(body), `"LongTextID":`) != tc.texts ||
				!strings.Contains(string(body), tc.contains) {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if tc.status >= 400 {
				decodeSAPError(t, body)
			}
		})
	}
}

func TestHeaderTextsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ids    []string
		texts  string
		status int
		code   string
	}{
		{"default text IDs", nil, `"to_Text":[{"Language":"EN","LongTextID":"0002","LongText":"x"}]`, 201, ""},
		{"text ID outside the text procedure", nil, `"to_Text":[{"Language":"EN","LongTextID":"Z999","LongText":"x"}]`, 400, "TD/611"},
		{"configured text IDs", []string{"ZD36"}, `"to_Text":[{"Language":"EN","LongTextID":"ZD36","LongText":"x"}]`, 201, ""},
		{"a default ID the system lacks", []string{"ZD36"}, `"to_Text":[{"Language":"EN","LongTextID":"0001","LongText":"x"}]`, 400, "TD/611"},
		{"no language", nil, `"to_Text":[{"LongTextID":"0001","LongText":"x"}]`, 400, "V1/382"},
		{"the same text twice", nil, `"to_Text":[{"Language":"EN","LongTextID":"0001"},{"Language":"EN","LongTextID":"0001"}]`, 400, "TD/612"},
		{"text ID longer than 4", nil, `"to_Text":[{"Language":"EN","LongTextID":"Z0001"}]`, 400, "/IWBEP/CM_MGW_RT/021"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSim(t, Options{TextIDs: tc.ids})
			c.fetchCSRF()
			resp, body := c.write("POST", soPath+"A_SalesOrder", orderWith(tc.texts), nil)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.code == "" {
				return
			}
			if e := decodeSAPError(t, body); e.Error.Code != tc.code {
				t.Fatalf("code %s, want %s: %s", e.Error.Code, tc.code, body)
			}
			if n := c.srv.Stats().SalesOrders; n != 0 {
				t.Fatalf("%d orders stored after a refused create", n)
			}
		})
	}
}

func TestLongTextIsMarkedNotFilterableInMetadata(t *testing.T) {
	c := newSim(t, Options{})
	resp, body := c.do("GET", soPath+"$metadata", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<Property Name="LongText" Type="Edm.String" sap:filterable="false"/>`) {
		t.Fatalf("status %d; LongText not marked: %s", resp.StatusCode, body[:min(300, len(body))])
	}
}
