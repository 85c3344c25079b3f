package dvsim

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"
)

// catalog is a simulator with a unit group, a unit in it, a unit in another group and a price list.
type catalog struct {
	*Running
	seeded    Seeded
	otherUnit string // a unit of another unit group
}

func newCatalog(t *testing.T, o Options) *catalog {
	t.Helper()
	r := start(t, o)
	seeded, err := r.Seed(SeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	otherGroup := mustInsert(t, r, "uomschedules", map[string]any{"name": "Weight"})
	other := mustInsert(t, r, "uoms", map[string]any{"name": "Kilogram", "quantity": json.Number("1"),
		"uomscheduleid@odata.bind": "/uomschedules(" + otherGroup + ")"})
	return &catalog{Running: r, seeded: seeded, otherUnit: other}
}

// product is a product body with a unit group and its unit; extra adds or (with nil) removes columns.
func (c *catalog) product(number string, extra map[string]any) map[string]any {
	p := map[string]any{"name": "Material " + number, "productnumber": number, "quantitydecimal": 0,
		"defaultuomscheduleid@odata.bind": "/uomschedules(" + c.seeded.UoMSchedule + ")",
		"defaultuomid@odata.bind":         "/uoms(" + c.seeded.UoM + ")"}
	maps.Copy(p, extra)
	for k, v := range extra {
		if v == nil {
			delete(p, k)
		}
	}
	return p
}

// units is the unit group and unit binds of c.product, as JSON members.
func (c *catalog) units() string {
	return `"defaultuomscheduleid@odata.bind":"/uomschedules(` + c.seeded.UoMSchedule + `)","defaultuomid@odata.bind":"/uoms(` + c.seeded.UoM + `)"`
}

// state returns the statecode and statuscode of the product numbered number.
func (c *catalog) state(t *testing.T, number string) (string, string) {
	t.Helper()
	rows := c.Find("products", "productnumber", number)
	if len(rows) != 1 {
		t.Fatalf("%d products numbered %s", len(rows), number)
	}
	return fmt.Sprint(rows[0]["statecode"]), fmt.Sprint(rows[0]["statuscode"])
}

// createVia creates one product through each of the API's ways to create a row.
var createVia = []struct {
	name   string
	create func(t *testing.T, c *catalog, body map[string]any) answer
}{
	{"POST", func(t *testing.T, c *catalog, body map[string]any) answer {
		return send(t, c.Running, "POST", "products", jsonBody(t, body))
	}},
	{"upsert that creates", func(t *testing.T, c *catalog, body map[string]any) answer {
		number := body["productnumber"]
		delete(body, "productnumber")
		return send(t, c.Running, "PATCH", fmt.Sprintf("products(productnumber='%v')", number), jsonBody(t, body))
	}},
	{"CreateMultiple", func(t *testing.T, c *catalog, body map[string]any) answer {
		body["@odata.type"] = "Microsoft.Dynamics.CRM.product"
		return send(t, c.Running, "POST", "products/Microsoft.Dynamics.CRM.CreateMultiple", jsonBody(t, map[string]any{"Targets": []any{body}}))
	}},
	{"UpsertMultiple", func(t *testing.T, c *catalog, body map[string]any) answer {
		body["@odata.type"] = "Microsoft.Dynamics.CRM.product"
		body["@odata.id"] = fmt.Sprintf("products(productnumber='%v')", body["productnumber"])
		delete(body, "productnumber")
		return send(t, c.Running, "POST", "products/Microsoft.Dynamics.CRM.UpsertMultiple", jsonBody(t, map[string]any{"Targets": []any{body}}))
	}},
	{"$batch", func(t *testing.T, c *catalog, body map[string]any) answer {
		ct, b := changeset([3]string{"POST", "products", jsonBody(t, body)})
		a := send(t, c.Running, "POST", "$batch", b, "Content-Type", ct)
		if a.status == 200 && c.Count("products") == 0 {
			a.status = 400 // the part failed
		}
		return a
	}},
}

// Products created through the API start in Draft (statecode 2, statuscode 0), whichever message creates them,
// unless the org creates products without a parent family Active; a seeded product is Active.
func TestProductCreateStartsInDraft(t *testing.T) {
	for _, v := range createVia {
		via, create := v.name, v.create
		for _, tc := range []struct {
			name          string
			activeSetting bool
			withParent    bool
			state, status string
		}{
			{"fresh install", false, false, "2", "0"},
			{"setting on, no parent", true, false, "0", "1"},
			{"setting on, child of a family", true, true, "2", "0"},
			{"statecode in the body is not honoured", false, false, "2", "0"},
		} {
			t.Run(via+"/"+tc.name, func(t *testing.T) {
				c := newCatalog(t, Options{CreateProductsWithoutParentInActiveState: tc.activeSetting})
				extra := map[string]any{}
				if tc.withParent {
					family := mustInsert(t, c.Running, "products", map[string]any{"name": "Family", "productnumber": "FAM"})
					extra["parentproductid@odata.bind"] = "/products(" + family + ")"
				}
				if tc.name == "statecode in the body is not honoured" {
					extra["statecode"], extra["statuscode"] = 0, 1
				}
				if a := create(t, c, c.product("P-1", extra)); a.status >= 400 {
					t.Fatalf("status %d %s %s", a.status, a.code, a.message)
				}
				if st, sr := c.state(t, "P-1"); st != tc.state || sr != tc.status {
					t.Errorf("statecode/statuscode = %s/%s; want %s/%s", st, sr, tc.state, tc.status)
				}
			})
		}
	}
	t.Run("Insert seeds an Active product", func(t *testing.T) {
		c := newCatalog(t, Options{})
		mustInsert(t, c.Running, "products", map[string]any{"name": "seeded", "productnumber": "S-1"})
		if st, sr := c.state(t, "S-1"); st != "0" || sr != "1" {
			t.Errorf("statecode/statuscode = %s/%s; want 0/1", st, sr)
		}
	})
}

// What a product create needs: productnumber (system-required), a unit group and a unit of that group (the catalog
// plug-in), quantitydecimal within 0..5 when given. name and quantitydecimal are application-required, which the
// API does not enforce. One bad target fails a whole bulk call.
func TestProductCreateRequiredColumns(t *testing.T) {
	for _, v := range createVia {
		via, create := v.name, v.create
		for _, tc := range []struct {
			name  string
			extra func(c *catalog) map[string]any
			code  string // "" = created
		}{
			{"complete", func(*catalog) map[string]any { return nil }, ""},
			{"without name", func(*catalog) map[string]any { return map[string]any{"name": nil} }, ""},
			{"without quantitydecimal", func(*catalog) map[string]any { return map[string]any{"quantitydecimal": nil} }, ""},
			{"quantitydecimal 5", func(*catalog) map[string]any { return map[string]any{"quantitydecimal": 5} }, ""},
			{"quantitydecimal 6", func(*catalog) map[string]any { return map[string]any{"quantitydecimal": 6} }, codeValidation},
			{"quantitydecimal -1", func(*catalog) map[string]any { return map[string]any{"quantitydecimal": -1} }, codeValidation},
			{"without unit group", func(*catalog) map[string]any { return map[string]any{"defaultuomscheduleid@odata.bind": nil} },
				codeMissingUomScheduleID},
			{"without default unit", func(*catalog) map[string]any { return map[string]any{"defaultuomid@odata.bind": nil} }, codeMissingUomID},
			{"unit of another group", func(c *catalog) map[string]any {
				return map[string]any{"defaultuomid@odata.bind": "/uoms(" + c.otherUnit + ")"}
			}, codeUnitNotInSchedule},
		} {
			t.Run(via+"/"+tc.name, func(t *testing.T) {
				c := newCatalog(t, Options{})
				a := create(t, c, c.product("P-1", tc.extra(c)))
				switch {
				case tc.code == "" && a.status >= 400:
					t.Fatalf("status %d %s %s; want created", a.status, a.code, a.message)
				case tc.code != "" && (a.status < 400 || via != "$batch" && (a.status != 400 || a.code != tc.code)):
					t.Fatalf("status %d %s %s; want 400 %s", a.status, a.code, a.message, tc.code)
				case tc.code != "" && c.Count("products") != 0:
					t.Fatalf("%d products written", c.Count("products"))
				}
			})
		}
	}
	t.Run("productnumber", func(t *testing.T) {
		c := newCatalog(t, Options{})
		if a := send(t, c.Running, "POST", "products", jsonBody(t, c.product("P-1", map[string]any{"productnumber": nil}))); a.status != 400 ||
			a.code != codeProductNoNumber {
			t.Fatalf("status %d %s %s; want 400 %s", a.status, a.code, a.message, codeProductNoNumber)
		}
	})
	t.Run("one bad target fails the bulk call", func(t *testing.T) {
		c := newCatalog(t, Options{})
		good, bad := c.product("P-1", nil), c.product("P-2", map[string]any{"defaultuomid@odata.bind": nil})
		for _, p := range []map[string]any{good, bad} {
			p["@odata.type"] = "Microsoft.Dynamics.CRM.product"
		}
		a := send(t, c.Running, "POST", "products/Microsoft.Dynamics.CRM.CreateMultiple", jsonBody(t, map[string]any{"Targets": []any{good, bad}}))
		if a.status != 400 || a.code != codeMissingUomID || c.Count("products") != 0 || c.Writes("products").Total() != 0 {
			t.Fatalf("status %d %s, %d products, writes %+v", a.status, a.code, c.Count("products"), c.Writes("products"))
		}
	})
	t.Run("changing the unit on update is checked", func(t *testing.T) {
		c := newCatalog(t, Options{})
		if a := send(t, c.Running, "POST", "products", jsonBody(t, c.product("P-1", nil))); a.status != 204 {
			t.Fatalf("create: %d %s", a.status, a.message)
		}
		a := send(t, c.Running, "PATCH", "products(productnumber='P-1')", `{"defaultuomid@odata.bind":"/uoms(`+c.otherUnit+`)"}`, "If-Match", "*")
		if a.status != 400 || a.code != codeUnitNotInSchedule {
			t.Fatalf("status %d %s %s; want 400 %s", a.status, a.code, a.message, codeUnitNotInSchedule)
		}
	})
}
