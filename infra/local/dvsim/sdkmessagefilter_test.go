package dvsim

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// query encodes an OData query string the way a client sends it.
func query(pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, url.QueryEscape(pairs[i])+"="+strings.ReplaceAll(url.QueryEscape(pairs[i+1]), "+", "%20"))
	}
	return strings.Join(parts, "&")
}

// The bulk-support check Microsoft's "Use bulk operation messages" page gives (parameter aliases), and the same
// check with inline literals in either order, answer one row per supported message from the schema's Bulk flag,
// and an empty array when the table lacks the message.
func TestSdkMessageFiltersAnswerBulkSupport(t *testing.T) {
	r := start(t, Options{})
	documented := func(message, table string) string {
		return "sdkmessagefilters?" + query("$select", "sdkmessagefilterid",
			"$filter", "sdkmessageid/name eq @message and primaryobjecttypecode eq @table", "@message", "'"+message+"'", "@table", "'"+table+"'")
	}
	inline := func(message, table string) string {
		return "sdkmessagefilters?" + query("$select", "sdkmessagefilterid",
			"$filter", "primaryobjecttypecode eq '"+table+"' and sdkmessageid/name eq '"+message+"'")
	}
	tests := []struct {
		name, path string
		rows       int
		sameID     bool // the product/UpsertMultiple row: one id whatever the query form
	}{
		{"documented form: product supports UpsertMultiple", documented("UpsertMultiple", "product"), 1, true},
		{"inline literals: product supports UpsertMultiple", inline("UpsertMultiple", "product"), 1, true},
		{"product supports CreateMultiple", inline("CreateMultiple", "product"), 1, false},
		{"salesorderdetail supports UpdateMultiple", documented("UpdateMultiple", "salesorderdetail"), 1, false},
		{"productpricelevel lacks UpsertMultiple", documented("UpsertMultiple", "productpricelevel"), 0, false},
		{"salesorder lacks CreateMultiple", inline("CreateMultiple", "salesorder"), 0, false},
		{"every table supports Create", inline("Create", "pricelevel"), 1, false},
		{"unknown table", inline("UpsertMultiple", "contoso_widget"), 0, false},
		{"message names are not case sensitive", inline("upsertmultiple", "product"), 1, true},
	}
	ids := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, r, "GET", tc.path, "")
			if a.status != 200 {
				t.Fatalf("status %d %s %s", a.status, a.code, a.message)
			}
			if ctx, _ := a.body["@odata.context"].(string); !strings.HasSuffix(ctx, "$metadata#sdkmessagefilters(sdkmessagefilterid)") {
				t.Errorf("@odata.context = %q", ctx)
			}
			rows, _ := a.body["value"].([]any)
			if len(rows) != tc.rows {
				t.Fatalf("%d rows; want %d: %v", len(rows), tc.rows, rows)
			}
			for _, v := range rows {
				row := v.(map[string]any)
				id, _ := row["sdkmessagefilterid"].(string)
				if !isGUID(id) || row["@odata.etag"] == nil || len(row) != 2 {
					t.Errorf("row = %v; want @odata.etag and sdkmessagefilterid only", row)
				}
				if tc.sameID {
					ids[id] = true
				}
			}
		})
	}
	if len(ids) != 1 {
		t.Errorf("the product/UpsertMultiple filter has ids %v; want the same id whatever the query form", ids)
	}
}

// Query shapes the simulator does not model are refused, not answered with a guess.
func TestSdkMessageFiltersRefuseOtherQueries(t *testing.T) {
	r := start(t, Options{})
	for _, tc := range []struct{ name, path, code string }{
		{"unknown column in $select", "sdkmessagefilters?" + query("$select", "nope"), codeBadProperty},
		{"other operator", "sdkmessagefilters?" + query("$filter", "contains(primaryobjecttypecode,'prod')"), codeInvalidArgument},
		{"alias without a value", "sdkmessagefilters?" + query("$filter", "primaryobjecttypecode eq @t"), codeInvalidArgument},
		{"object type code", "sdkmessagefilters?" + query("$filter", "primaryobjecttypecode eq 1024"), codeInvalidArgument},
		{"other query option", "sdkmessagefilters?" + query("$orderby", "primaryobjecttypecode"), codeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if a := send(t, r, "GET", tc.path, ""); a.status != 400 || a.code != tc.code {
				t.Fatalf("status %d %s %s; want 400 %s", a.status, a.code, a.message, tc.code)
			}
		})
	}
}

// organizations answers the settings in Options, so code can read createproductswithoutparentinactivestate as
// the kit's product sample does.
func TestOrganizationSettings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opts      Options
		active    bool
		precision string
	}{
		{"fresh install", Options{}, false, "2"},
		{"upgraded org", Options{CreateProductsWithoutParentInActiveState: true, PricingDecimalPrecision: 4}, true, "4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, tc.opts)
			a := send(t, r, "GET", "organizations?"+query("$select", "createproductswithoutparentinactivestate,pricingdecimalprecision"), "")
			rows, _ := a.body["value"].([]any)
			if a.status != 200 || len(rows) != 1 {
				t.Fatalf("status %d, %v", a.status, a.body)
			}
			row := rows[0].(map[string]any)
			if row["createproductswithoutparentinactivestate"] != tc.active || string(row["pricingdecimalprecision"].(json.Number)) != tc.precision {
				t.Errorf("row = %v", row)
			}
		})
	}
}
