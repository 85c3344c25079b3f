package dvsim

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleRequest is one request of a kit .http sample.
type sampleRequest struct {
	method, path string // path below /api/data/v9.2/
	header       []string
	body         string
}

// readSample reads the requests of a kit .http sample: "METHOD [Organization URI]/api/data/v9.2/... HTTP/1.1",
// headers, a blank line and a body running to the next "###" or response line. Requests quoted in "###" comments
// are read too, without a body.
func readSample(t *testing.T, name string) []sampleRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(kitDir(t), "dataverse", "samples", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []sampleRequest
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(strings.TrimLeft(lines[i], "#"))
		method, rest, ok := strings.Cut(line, " [Organization URI]/api/data/v9.2/")
		if !ok || strings.Contains(method, " ") {
			continue
		}
		req := sampleRequest{method: method, path: strings.TrimSuffix(rest, " HTTP/1.1")}
		if strings.HasPrefix(lines[i], "#") {
			out = append(out, req)
			continue
		}
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			name, value, _ := strings.Cut(lines[i], ":")
			req.header = append(req.header, name, strings.TrimSpace(value))
		}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "###") && !strings.HasPrefix(lines[i], "HTTP/1.1"); i++ {
			body = append(body, lines[i])
		}
		req.body = strings.TrimSpace(strings.Join(body, "\n"))
		i--
		out = append(out, req)
	}
	return out
}

// find returns the sample request whose method and path start as given.
func findSample(t *testing.T, reqs []sampleRequest, method, prefix string) sampleRequest {
	t.Helper()
	for _, r := range reqs {
		if r.method == method && strings.HasPrefix(r.path, prefix) {
			return r
		}
	}
	t.Fatalf("no %s %s... request in the sample", method, prefix)
	return sampleRequest{}
}

func escapeQuery(path string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27").Replace(path)
}

// The kit's UpsertMultiple sample, sent as it stands: 204 with no body, two Draft products keyed by productnumber;
// sent again it updates the same two rows. Its bulk-support check, settings read and publish PATCH work too.
func TestUpsertMultipleKitSample(t *testing.T) {
	reqs := readSample(t, "upsertmultiple-products.constructed.http")
	r := start(t, Options{})
	// The unit group and unit the sample binds.
	mustInsert(t, r, "uomschedules", map[string]any{"uomscheduleid": "00000000-0000-0000-0000-0000000000a1", "name": "Sample Units"})
	mustInsert(t, r, "uoms", map[string]any{"uomid": "00000000-0000-0000-0000-0000000000b1", "name": "Each", "quantity": json.Number("1"),
		"uomscheduleid@odata.bind": "/uomschedules(00000000-0000-0000-0000-0000000000a1)"})

	upsert := findSample(t, reqs, "POST", "products/Microsoft.Dynamics.CRM.UpsertMultiple")
	var ids []string
	for run, want := range []WriteCounts{{Creates: 2}, {Updates: 2, Unchanged: 2}} {
		before := r.Writes("products")
		a := send(t, r, upsert.method, upsert.path, upsert.body, upsert.header...)
		if a.status != 204 || a.body != nil {
			t.Fatalf("run %d: status %d %s %s, body %v; want 204 and no body", run, a.status, a.code, a.message, a.body)
		}
		if got := r.Writes("products").Sub(before); got != want {
			t.Errorf("run %d: writes %+v; want %+v", run, got, want)
		}
		var now []string
		for _, p := range []struct{ number, name, decimals string }{{"FGME01", "Finished good ME01", "0"}, {"QM001", "Quality material QM001", "3"}} {
			rows := r.Find("products", "productnumber", p.number)
			if len(rows) != 1 {
				t.Fatalf("run %d: %d products numbered %s", run, len(rows), p.number)
			}
			row := rows[0]
			if row["name"] != p.name || row["quantitydecimal"] != json.Number(p.decimals) || row["statecode"] != json.Number("2") ||
				row["statuscode"] != json.Number("0") || row["_defaultuomid_value"] != "00000000-0000-0000-0000-0000000000b1" {
				t.Errorf("run %d: %s = %v", run, p.number, row)
			}
			now = append(now, row["productid"].(string))
		}
		if ids != nil && strings.Join(ids, ",") != strings.Join(now, ",") {
			t.Errorf("run %d updated other rows: %v, then %v", run, ids, now)
		}
		ids = now
	}

	check := findSample(t, reqs, "GET", "sdkmessagefilters")
	if a := send(t, r, "GET", escapeQuery(check.path), ""); a.status != 200 || len(a.body["value"].([]any)) != 1 {
		t.Errorf("bulk-support check: %d %v; want one row", a.status, a.body)
	}
	settings := findSample(t, reqs, "GET", "organizations")
	if a := send(t, r, "GET", settings.path, ""); a.status != 200 ||
		a.body["value"].([]any)[0].(map[string]any)["createproductswithoutparentinactivestate"] != false {
		t.Errorf("settings: %d %v", a.status, a.body)
	}
	publish := findSample(t, reqs, "PATCH", "products(")
	path := strings.Replace(publish.path, "00000000-0000-0000-0000-0000000000c1", ids[0], 1)
	if a := send(t, r, publish.method, path, publish.body, publish.header...); a.status != 204 {
		t.Fatalf("publish: %d %s %s", a.status, a.code, a.message)
	}
	if row, _ := r.Get("products", ids[0]); row["statecode"] != json.Number("0") || row["statuscode"] != json.Number("1") {
		t.Errorf("after publishing: %v/%v; want 0/1", row["statecode"], row["statuscode"])
	}
}

// UpsertMultiple per the contract: targets name their row with @odata.id; a target that repeats its alternate-key
// column in the body fails the whole request with 400 0x80040216 when the row does not exist yet, and is
// tolerated on the update path; one failing target writes nothing.
func TestUpsertMultipleTargets(t *testing.T) {
	target := func(number string, body string) string {
		t := `{"@odata.type":"Microsoft.Dynamics.CRM.product","@odata.id":"products(productnumber='` + number + `')"`
		if body != "" {
			t += "," + body
		}
		return t + "}"
	}
	tests := []struct {
		name    string
		targets func(c *catalog, old string) []string
		code    string // "" = 204
		want    WriteCounts
	}{
		{"key in @odata.id only", func(c *catalog, old string) []string { return []string{target("NEW", c.units())} }, "", WriteCounts{Creates: 1}},
		{"key repeated in the body of a new row", func(c *catalog, old string) []string {
			return []string{target("NEW-1", c.units()), target("NEW-2", c.units()+`,"productnumber":"NEW-2"`)}
		}, codeUnexpected, WriteCounts{}},
		{"key repeated in the body of an existing row", func(c *catalog, old string) []string {
			return []string{target("OLD", `"productnumber":"OLD","name":"renamed"`)}
		}, "", WriteCounts{Updates: 1}},
		{"key in the body differing from @odata.id", func(c *catalog, old string) []string {
			return []string{target("OLD", `"productnumber":"OTHER"`)}
		}, codeInvalidArgument, WriteCounts{}},
		{"by primary key", func(c *catalog, old string) []string {
			return []string{`{"@odata.type":"Microsoft.Dynamics.CRM.product","@odata.id":"products(` + old + `)","name":"renamed"}`}
		}, "", WriteCounts{Updates: 1}},
		{"no key: a create", func(c *catalog, old string) []string {
			return []string{`{"@odata.type":"Microsoft.Dynamics.CRM.product","productnumber":"FRESH",` + c.units() + `}`}
		}, "", WriteCounts{Creates: 1}},
		{"no key, number taken: the create fails", func(c *catalog, old string) []string {
			return []string{`{"@odata.type":"Microsoft.Dynamics.CRM.product","productnumber":"OLD",` + c.units() + `}`}
		}, codeDuplicate, WriteCounts{}},
		{"without @odata.type", func(c *catalog, old string) []string {
			return []string{`{"@odata.id":"products(productnumber='OLD')","name":"x"}`}
		}, codeInvalidArgument, WriteCounts{}},
		{"@odata.type of another table", func(c *catalog, old string) []string {
			return []string{`{"@odata.type":"Microsoft.Dynamics.CRM.account","@odata.id":"products(productnumber='OLD')","name":"x"}`}
		}, codeInvalidArgument, WriteCounts{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCatalog(t, Options{})
			if a := send(t, c.Running, "POST", "products", jsonBody(t, c.product("OLD", nil))); a.status != 204 {
				t.Fatalf("create: %d %s", a.status, a.message)
			}
			old := c.Find("products", "productnumber", "OLD")[0]["productid"].(string)
			before := c.Writes("products")
			a := send(t, c.Running, "POST", "products/Microsoft.Dynamics.CRM.UpsertMultiple", `{"Targets":[`+strings.Join(tc.targets(c, old), ",")+`]}`)
			switch {
			case tc.code == "" && (a.status != 204 || a.body != nil):
				t.Fatalf("status %d %s %s, body %v; want 204 and no body", a.status, a.code, a.message, a.body)
			case tc.code != "" && a.code != tc.code:
				t.Fatalf("status %d %s %s; want %s", a.status, a.code, a.message, tc.code)
			case tc.code == codeUnexpected && (a.status != 400 || a.message != "An unexpected error occurred."):
				t.Fatalf("status %d message %q; want 400 \"An unexpected error occurred.\"", a.status, a.message)
			}
			if got := c.Writes("products").Sub(before); got != tc.want {
				t.Errorf("writes %+v; want %+v", got, tc.want)
			}
		})
	}
}
