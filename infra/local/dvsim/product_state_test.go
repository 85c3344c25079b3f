package dvsim

import "testing"

// To reach a state from Draft: the PATCH bodies, in order.
var toState = map[string][]string{
	"Draft":          nil,
	"Active":         {`{"statecode":0,"statuscode":1}`},
	"Retired":        {`{"statecode":0,"statuscode":1}`, `{"statecode":1,"statuscode":2}`},
	"Under Revision": {`{"statecode":0,"statuscode":1}`, `{"statecode":3,"statuscode":3}`},
}

// Publishing, revising, retiring and re-activating a product is a PATCH of statecode/statuscode; the pairs and the
// transitions Dataverse refuses answer with its error codes and leave the product as it was.
func TestProductStateTransitions(t *testing.T) {
	tests := []struct {
		name, from, patch string
		parent            string // "", "Draft" or "Active": a parent family in that state
		code              string // "" = allowed
		state, status     string // afterwards
	}{
		{"publish", "Draft", `{"statecode":0,"statuscode":1}`, "", "", "0", "1"},
		{"publish, status left to its default", "Draft", `{"statecode":0}`, "", "", "0", "1"},
		{"publish with the Retired status", "Draft", `{"statecode":0,"statuscode":2}`, "", codeInvalidStateStatus, "2", "0"},
		{"unknown state", "Draft", `{"statecode":7}`, "", codeInvalidStateStatus, "2", "0"},
		{"draft again", "Draft", `{"statecode":2,"statuscode":0}`, "", codeDraftToDraft, "2", "0"},
		{"retire a draft", "Draft", `{"statecode":1,"statuscode":2}`, "", codeDraftToRetired, "2", "0"},
		{"revise a draft", "Draft", `{"statecode":3,"statuscode":3}`, "", codeDraftToRevised, "2", "0"},
		{"publish a child of a draft family", "Draft", `{"statecode":0,"statuscode":1}`, "Draft", codeInvalidStateForPublish, "2", "0"},
		{"publish a child of a published family", "Draft", `{"statecode":0,"statuscode":1}`, "Active", "", "0", "1"},
		{"retire", "Active", `{"statecode":1,"statuscode":2}`, "", "", "1", "2"},
		{"revise", "Active", `{"statecode":3,"statuscode":3}`, "", "", "3", "3"},
		{"publish again", "Active", `{"statecode":0,"statuscode":1}`, "", codeActiveToActive, "0", "1"},
		{"back to draft", "Active", `{"statecode":2,"statuscode":0}`, "", codeActiveToDraft, "0", "1"},
		{"status of another state", "Active", `{"statuscode":2}`, "", codeInvalidStateStatus, "0", "1"},
		{"publish a revision", "Under Revision", `{"statecode":0,"statuscode":1}`, "", "", "0", "1"},
		{"retire a revision", "Under Revision", `{"statecode":1,"statuscode":2}`, "", "", "1", "2"},
		{"revise a revision", "Under Revision", `{"statecode":3,"statuscode":3}`, "", codeReviseOnlyActive, "3", "3"},
		{"revision to draft", "Under Revision", `{"statecode":2,"statuscode":0}`, "", codeInvalidStateTransition, "3", "3"},
		{"activate a retired product", "Retired", `{"statecode":0,"statuscode":1}`, "", "", "0", "1"},
		{"activate a retired child", "Retired", `{"statecode":0,"statuscode":1}`, "Active", codeRetiredToActive, "1", "2"},
		{"retire again", "Retired", `{"statecode":1,"statuscode":2}`, "", codeRetiredToRetired, "1", "2"},
		{"retired to draft", "Retired", `{"statecode":2,"statuscode":0}`, "", codeRetiredToDraft, "1", "2"},
		{"revise a retired product", "Retired", `{"statecode":3,"statuscode":3}`, "", codeDraftToRevised, "1", "2"},
	}
	for _, tc := range tests {
		t.Run(tc.from+"/"+tc.name, func(t *testing.T) {
			c := newCatalog(t, Options{})
			extra := map[string]any{}
			if tc.parent != "" {
				family := send(t, c.Running, "POST", "products", jsonBody(t, c.product("FAM", nil)))
				if family.status != 204 {
					t.Fatalf("family: %d %s", family.status, family.message)
				}
				if tc.parent == "Active" {
					send(t, c.Running, "PATCH", "products(productnumber='FAM')", toState["Active"][0])
				}
				extra["parentproductid@odata.bind"] = "/products(productnumber='FAM')"
			}
			if a := send(t, c.Running, "POST", "products", jsonBody(t, c.product("P-1", extra))); a.status != 204 {
				t.Fatalf("create: %d %s %s", a.status, a.code, a.message)
			}
			for _, p := range toState[tc.from] {
				if a := send(t, c.Running, "PATCH", "products(productnumber='P-1')", p, "If-Match", "*"); a.status != 204 {
					t.Fatalf("reaching %s (%s): %d %s %s", tc.from, p, a.status, a.code, a.message)
				}
			}
			before := c.Writes("products")
			a := send(t, c.Running, "PATCH", "products(productnumber='P-1')", tc.patch, "If-Match", "*")
			switch {
			case tc.code == "" && a.status != 204:
				t.Errorf("status %d %s %s; want 204", a.status, a.code, a.message)
			case tc.code != "" && (a.status != 400 || a.code != tc.code):
				t.Errorf("status %d %s %s; want 400 %s", a.status, a.code, a.message, tc.code)
			}
			if st, sr := c.state(t, "P-1"); st != tc.state || sr != tc.status {
				t.Errorf("statecode/statuscode = %s/%s; want %s/%s", st, sr, tc.state, tc.status)
			}
			want := WriteCounts{}
			if tc.code == "" {
				want.StateChanges = 1
			}
			if got := c.Writes("products").Sub(before); got != want {
				t.Errorf("writes %+v; want %+v", got, want)
			}
		})
	}
}

// UpsertMultiple's update path carries a state change like a PATCH, with the same checks: one refused transition
// fails the whole call.
func TestProductStateThroughUpsertMultiple(t *testing.T) {
	c := newCatalog(t, Options{})
	for _, n := range []string{"P-1", "P-2"} {
		if a := send(t, c.Running, "POST", "products", jsonBody(t, c.product(n, nil))); a.status != 204 {
			t.Fatalf("create %s: %d %s", n, a.status, a.message)
		}
	}
	target := func(number, state string) string {
		return `{"@odata.type":"Microsoft.Dynamics.CRM.product","@odata.id":"products(productnumber='` + number + `')",` + state + `}`
	}
	publish := `"statecode":0,"statuscode":1`
	a := send(t, c.Running, "POST", "products/Microsoft.Dynamics.CRM.UpsertMultiple",
		`{"Targets":[`+target("P-1", publish)+`,`+target("P-2", `"statecode":1,"statuscode":2`)+`]}`)
	if a.status != 400 || a.code != codeDraftToRetired {
		t.Fatalf("status %d %s %s; want 400 %s", a.status, a.code, a.message, codeDraftToRetired)
	}
	if st, _ := c.state(t, "P-1"); st != "2" {
		t.Errorf("P-1 statecode %s after the failed call; want 2 (nothing written)", st)
	}
	a = send(t, c.Running, "POST", "products/Microsoft.Dynamics.CRM.UpsertMultiple",
		`{"Targets":[`+target("P-1", publish)+`,`+target("P-2", publish)+`]}`)
	if a.status >= 400 {
		t.Fatalf("status %d %s %s", a.status, a.code, a.message)
	}
	for _, n := range []string{"P-1", "P-2"} {
		if st, sr := c.state(t, n); st != "0" || sr != "1" {
			t.Errorf("%s statecode/statuscode = %s/%s; want 0/1", n, st, sr)
		}
	}
}
