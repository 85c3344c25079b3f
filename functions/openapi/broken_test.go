package openapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mutation is one way to break a copy of the document, and what the checks must then say.
type mutation struct {
	name string
	edit func(t *testing.T, doc object)
	// wantRule appears in checkPowerAutomate's findings.
	wantRule string
	// wantValidator, when set, appears in the Swagger 2.0 validator's output (which must also exit non-zero).
	wantValidator string
}

// at returns the object at a local JSON pointer of doc, failing the test when the document moved on and the
// mutation no longer finds its target (so a broken-copy test cannot silently stop testing).
func at(t *testing.T, doc object, ref string) object {
	t.Helper()
	v, err := resolve(doc, ref)
	if err != nil {
		t.Fatalf("mutating: %v", err)
	}
	o, ok := v.(object)
	if !ok {
		t.Fatalf("mutating: %s is not an object", ref)
	}
	return o
}

func mustHave(t *testing.T, o object, key string) {
	t.Helper()
	if _, ok := o[key]; !ok {
		t.Fatalf("mutating: no member %q to change", key)
	}
}

var mutations = []mutation{
	{
		name: "operationId removed",
		edit: func(t *testing.T, doc object) {
			op := at(t, doc, "#/paths/~1orders/post")
			mustHave(t, op, "operationId")
			delete(op, "operationId")
		},
		wantRule: "POST /orders: no operationId",
	},
	{
		name: "oneOf inserted",
		edit: func(t *testing.T, doc object) {
			at(t, doc, "#/definitions/PushRequest")["oneOf"] = []any{
				object{"required": []any{"salesorderid"}}, object{"required": []any{"order"}},
			}
		},
		wantRule:      `#/definitions/PushRequest: "oneOf" is not Swagger 2.0`,
		wantValidator: "must NOT have additional properties (oneOf)",
	},
	{
		name: "$ref broken",
		edit: func(t *testing.T, doc object) {
			r := at(t, doc, "#/paths/~1orders~1{salesorderid}/get/responses/200/schema")
			mustHave(t, r, "$ref")
			r["$ref"] = "#/definitions/OrderStatusTypo"
		},
		wantRule:      `$ref "#/definitions/OrderStatusTypo" does not resolve`,
		wantValidator: `Missing $ref pointer "#/definitions/OrderStatusTypo"`,
	},
	{
		name: "operationId duplicated",
		edit: func(t *testing.T, doc object) {
			at(t, doc, "#/paths/~1health/get")["operationId"] = "PushSalesOrder"
		},
		wantRule:      `operationId "PushSalesOrder" is also used by`,
		wantValidator: "Duplicate operation id 'PushSalesOrder'",
	},
	{
		name: "operationId with punctuation",
		edit: func(t *testing.T, doc object) {
			at(t, doc, "#/paths/~1health/get")["operationId"] = "Get-Health"
		},
		wantRule: `operationId "Get-Health": want letters and digits only`,
	},
	{
		name: "summary missing",
		edit: func(t *testing.T, doc object) {
			op := at(t, doc, "#/paths/~1orders~1{salesorderid}/get")
			mustHave(t, op, "summary")
			delete(op, "summary")
		},
		wantRule: "GET /orders/{salesorderid}: no summary",
	},
	{
		name: "Retry-After missing on a 202",
		edit: func(t *testing.T, doc object) {
			h := at(t, doc, "#/paths/~1orders~1{salesorderid}/get/responses/202/headers")
			mustHave(t, h, "Retry-After")
			delete(h, "Retry-After")
		},
		wantRule: "GET /orders/{salesorderid} response 202: 202 without the Retry-After header",
	},
	{
		name: "Location missing on the push's 202",
		edit: func(t *testing.T, doc object) {
			h := at(t, doc, "#/paths/~1orders/post/responses/202/headers")
			mustHave(t, h, "Location")
			delete(h, "Location")
		},
		wantRule: "POST /orders response 202: 202 without the Location header",
	},
	{
		name: "format outside Swagger 2.0",
		edit: func(t *testing.T, doc object) {
			at(t, doc, "#/definitions/OrderDocument/properties/salesorderid")["format"] = "uuid"
		},
		wantRule: `salesorderid: format "uuid" is not a Swagger 2.0 format for string`,
	},
	{
		name: "type outside Swagger 2.0",
		edit: func(t *testing.T, doc object) {
			at(t, doc, "#/definitions/OrderLine/properties/quantity")["type"] = "decimal"
		},
		wantRule:      `quantity: type "decimal" is not a Swagger 2.0 type`,
		wantValidator: "Swagger schema validation failed",
	},
	{
		name: "body property without a description",
		edit: func(t *testing.T, doc object) {
			p := at(t, doc, "#/definitions/OrderLine/properties/unit")
			mustHave(t, p, "description")
			delete(p, "description")
		},
		wantRule: ".lines[] → #/definitions/OrderLine.unit: no description",
	},
	{
		name: "parameter without x-ms-summary",
		edit: func(t *testing.T, doc object) {
			p := at(t, doc, "#/paths/~1orders~1{salesorderid}/get/parameters/0")
			mustHave(t, p, "x-ms-summary")
			delete(p, "x-ms-summary")
		},
		wantRule: "GET /orders/{salesorderid} parameter 0 (salesorderid): no x-ms-summary",
	},
	{
		name: "function key in the query",
		edit: func(t *testing.T, doc object) {
			s := at(t, doc, "#/securityDefinitions/functionKey")
			s["in"], s["name"] = "query", "code"
		},
		wantRule: "securityDefinitions: no apiKey in header named x-functions-key",
	},
	{
		name: "schema on the default response",
		edit: func(t *testing.T, doc object) {
			at(t, doc, "#/paths/~1orders/post/responses")["default"] = object{
				"description": "Any other error.", "schema": object{"$ref": "#/definitions/Problem"},
			}
		},
		wantRule: "POST /orders response default: the default response must not have a schema",
	},
	{
		name: "POST without x-ms-no-generic-test",
		edit: func(t *testing.T, doc object) {
			op := at(t, doc, "#/paths/~1orders/post")
			mustHave(t, op, "x-ms-no-generic-test")
			delete(op, "x-ms-no-generic-test")
		},
		wantRule: "POST /orders: a call with side effects needs x-ms-no-generic-test: true",
	},
	{
		name: "bad x-ms-visibility",
		edit: func(t *testing.T, doc object) {
			at(t, doc, "#/paths/~1health/get")["x-ms-visibility"] = "hidden"
		},
		wantRule: "x-ms-visibility hidden is not important, advanced or internal",
	},
	{
		name: "over 1 MB",
		edit: func(t *testing.T, doc object) {
			at(t, doc, "#/info")["description"] = strings.Repeat("x", 1<<20)
		},
		wantRule: "custom connectors take less than 1 MB",
	},
}

func brokenCopy(t *testing.T, m mutation) []byte {
	t.Helper()
	var doc object
	if err := json.Unmarshal(Document(), &doc); err != nil {
		t.Fatal(err)
	}
	m.edit(t, doc)
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBrokenCopiesFailTheRules(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			probs := checkPowerAutomate(brokenCopy(t, m))
			found := false
			for _, p := range probs {
				found = found || strings.Contains(p, m.wantRule)
			}
			if !found {
				t.Fatalf("the rules did not report %q; they said:\n%s", m.wantRule, strings.Join(probs, "\n"))
			}
		})
	}
}

func TestBrokenCopiesFailTheValidator(t *testing.T) {
	check := openapiChecker(t)
	dir := t.TempDir()
	for _, m := range mutations {
		if m.wantValidator == "" {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(m.name, " ", "-")+".json")
			if err := os.WriteFile(path, brokenCopy(t, m), 0o644); err != nil {
				t.Fatal(err)
			}
			out, code := check(path)
			if code != 1 || !strings.Contains(out, m.wantValidator) {
				t.Fatalf("validator exit %d, want 1 naming %q:\n%s", code, m.wantValidator, out)
			}
		})
	}
}
