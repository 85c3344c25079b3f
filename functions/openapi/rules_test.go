package openapi

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The rules below are what Power Automate's custom-connector import and the connector certification checks ask of
// an OpenAPI file beyond plain Swagger 2.0 validity (see the README section "Using it from Power Automate"):
// Swagger 2.0 only, under 1 MB, every operation with a unique operationId, a summary and a description, every
// parameter and property described, x-ms-* extensions with their allowed values, no schema on "default"
// responses, and for long-running work a 202 with Location and Retry-After that the flow engine polls.

const maxDocumentBytes = 1 << 20

var (
	operationIDPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	// Certification: at most 80 characters, letters, digits, spaces and parentheses, no closing full stop.
	summaryPattern = regexp.MustCompile(`^[A-Za-z0-9 ()/-]{1,80}$`)
	httpMethods    = []string{"get", "put", "post", "delete", "options", "head", "patch"}
	// Swagger 2.0's data types and the formats its data type table defines for each.
	swaggerFormats = map[string]map[string]bool{
		"integer": {"": true, "int32": true, "int64": true},
		"number":  {"": true, "float": true, "double": true},
		"string":  {"": true, "byte": true, "binary": true, "date": true, "date-time": true, "password": true},
		"boolean": {"": true},
		"array":   {"": true},
		"object":  {"": true},
		"file":    {"": true},
	}
	// JSON Schema and OpenAPI 3 keywords that Swagger 2.0 does not have; Power Automate rejects or ignores them.
	notSwagger2 = []string{"oneOf", "anyOf", "not", "nullable", "const", "requestBody", "components", "servers", "openapi", "$defs"}
	visibility  = map[string]bool{"important": true, "advanced": true, "internal": true}
	// Words the certification refuses in a connector title.
	forbiddenTitleWords = []string{"api", "apis", "connector", "power apps", "power automate", "logic apps", "flow"}
)

type object = map[string]any

// checkPowerAutomate returns every rule the document breaks, each naming where.
func checkPowerAutomate(raw []byte) []string {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	if len(raw) >= maxDocumentBytes {
		add("the document is %d bytes; custom connectors take less than 1 MB", len(raw))
	}
	var doc object
	if err := json.Unmarshal(raw, &doc); err != nil {
		return append(probs, "parsing: "+err.Error())
	}
	if doc["swagger"] != "2.0" {
		add(`swagger is %v; custom connectors import only "2.0"`, doc["swagger"])
	}
	info, _ := doc["info"].(object)
	title, _ := info["title"].(string)
	if title == "" || len(title) > 30 {
		add("info.title %q: want 1 to 30 characters", title)
	}
	for _, w := range forbiddenTitleWords {
		if regexp.MustCompile(`(?i)\b` + regexp.QuoteMeta(w) + `\b`).MatchString(title) {
			add("info.title %q contains the restricted word %q", title, w)
		}
	}
	if s, _ := doc["schemes"].([]any); len(s) != 1 || s[0] != "https" {
		add("schemes = %v, want [https]", doc["schemes"])
	}
	if !contains(doc["produces"], "application/json") {
		add("produces does not list application/json")
	}

	// Keywords from outside Swagger 2.0, anywhere in the document (extension members excepted).
	walk(doc, "#", func(path string, o object) {
		for _, k := range notSwagger2 {
			if _, ok := o[k]; ok && !strings.HasPrefix(lastSegment(path), "x-") && !isNameMap(path) {
				add("%s: %q is not Swagger 2.0", path, k)
			}
		}
		if v, ok := o["x-ms-visibility"]; ok && !visibility[fmt.Sprint(v)] {
			add("%s: x-ms-visibility %v is not important, advanced or internal", path, v)
		}
		if ref, ok := o["$ref"].(string); ok {
			if _, err := resolve(doc, ref); err != nil {
				add("%s: %v", path, err)
			}
		}
	})

	// Security: the function key, in a header named x-functions-key.
	defs, _ := doc["securityDefinitions"].(object)
	keyScheme := ""
	for name, d := range defs {
		d, _ := d.(object)
		if d["type"] == "apiKey" && d["in"] == "header" && d["name"] == "x-functions-key" {
			keyScheme = name
		} else {
			add("securityDefinitions.%s: want an apiKey in header x-functions-key, have %v %v %v", name, d["type"], d["in"], d["name"])
		}
	}
	if keyScheme == "" {
		add("securityDefinitions: no apiKey in header named x-functions-key")
	} else if !requires(doc["security"], keyScheme) {
		add("security: the document does not require %s by default", keyScheme)
	}

	paths, _ := doc["paths"].(object)
	if len(paths) == 0 {
		add("paths: none")
	}
	seenIDs := map[string]string{}
	ops := 0
	for _, p := range sortedKeys(paths) {
		item, _ := paths[p].(object)
		for _, m := range httpMethods {
			op, ok := item[m].(object)
			if !ok {
				continue
			}
			ops++
			where := strings.ToUpper(m) + " " + p
			id, _ := op["operationId"].(string)
			switch {
			case id == "":
				add("%s: no operationId", where)
			case !operationIDPattern.MatchString(id):
				add("%s: operationId %q: want letters and digits only, starting with a letter", where, id)
			case seenIDs[id] != "":
				add("%s: operationId %q is also used by %s", where, id, seenIDs[id])
			default:
				seenIDs[id] = where
			}
			summary, _ := op["summary"].(string)
			if summary == "" {
				add("%s: no summary", where)
			} else if !summaryPattern.MatchString(summary) {
				add("%s: summary %q: want at most 80 letters, digits, spaces or parentheses", where, summary)
			}
			if d, _ := op["description"].(string); d == "" {
				add("%s: no description", where)
			}
			if v, ok := op["x-ms-visibility"]; !ok {
				add("%s: no x-ms-visibility", where)
			} else if !visibility[fmt.Sprint(v)] {
				add("%s: x-ms-visibility %v", where, v)
			}
			if m != "get" && m != "head" && op["x-ms-no-generic-test"] != true {
				add("%s: a call with side effects needs x-ms-no-generic-test: true", where)
			}
			if sec, ok := op["security"]; ok {
				if list, _ := sec.([]any); len(list) != 0 && !requires(sec, keyScheme) {
					add("%s: security names a scheme other than %s", where, keyScheme)
				}
			}
			params, _ := op["parameters"].([]any)
			for i, prm := range append(append([]any{}, itemParams(item)...), params...) {
				prm, _ := prm.(object)
				pw := fmt.Sprintf("%s parameter %d (%v)", where, i, prm["name"])
				if d, _ := prm["description"].(string); d == "" {
					add("%s: no description", pw)
				}
				if s, _ := prm["x-ms-summary"].(string); s == "" {
					add("%s: no x-ms-summary", pw)
				}
				if prm["in"] == "body" {
					checkSchema(doc, prm["schema"], pw+" body", true, add, map[string]bool{})
				} else {
					checkType(prm, pw, add)
				}
			}
			responses, _ := op["responses"].(object)
			if len(responses) == 0 {
				add("%s: no responses", where)
			}
			for _, code := range sortedKeys(responses) {
				resp, _ := responses[code].(object)
				rw := fmt.Sprintf("%s response %s", where, code)
				if d, _ := resp["description"].(string); d == "" {
					add("%s: no description", rw)
				}
				if _, has := resp["schema"]; has && code == "default" {
					add("%s: the default response must not have a schema", rw)
				}
				if s, has := resp["schema"]; has {
					checkSchema(doc, s, rw, false, add, map[string]bool{})
				}
				headers, _ := resp["headers"].(object)
				// An internal operation (SAP's webhook) is hidden from flows, so no flow polls its 202.
				if code == "202" && op["x-ms-visibility"] != "internal" {
					for _, h := range []string{"Location", "Retry-After"} {
						if _, ok := headers[h]; !ok {
							add("%s: 202 without the %s header; the flow engine polls Location after Retry-After", rw, h)
						}
					}
				}
				for _, h := range sortedKeys(headers) {
					hd, _ := headers[h].(object)
					if d, _ := hd["description"].(string); d == "" {
						add("%s header %s: no description", rw, h)
					}
					checkType(hd, rw+" header "+h, add)
				}
			}
		}
	}
	if ops > 256 {
		add("%d operations; a connector takes at most 256", ops)
	}
	return probs
}

// checkSchema checks a schema and, recursively, its properties and items: types and formats from Swagger 2.0,
// and (for request bodies, which the flow designer shows as inputs) a description on every property.
func checkSchema(doc object, s any, where string, input bool, add func(string, ...any), seen map[string]bool) {
	o, _ := s.(object)
	if o == nil {
		add("%s: no schema", where)
		return
	}
	if ref, ok := o["$ref"].(string); ok {
		if seen[ref] {
			return
		}
		seen[ref] = true
		target, err := resolve(doc, ref)
		if err != nil {
			return // reported by the document-wide $ref walk
		}
		checkSchema(doc, target, where+" → "+ref, input, add, seen)
		return
	}
	checkType(o, where, add)
	if d, _ := o["description"].(string); d == "" {
		add("%s: no description", where)
	}
	props, _ := o["properties"].(object)
	for _, name := range sortedKeys(props) {
		p, _ := props[name].(object)
		pw := where + "." + name
		if _, isRef := p["$ref"]; !isRef {
			if s, _ := p["x-ms-summary"].(string); s == "" {
				add("%s: no x-ms-summary", pw)
			}
		}
		checkSchema(doc, p, pw, input, add, seen)
	}
	if req, ok := o["required"].([]any); ok {
		for _, r := range req {
			if _, ok := props[fmt.Sprint(r)]; !ok {
				add("%s: required %v is not a property", where, r)
			}
		}
	}
	if o["type"] == "array" {
		checkSchema(doc, o["items"], where+"[]", input, add, seen)
	}
}

func checkType(o object, where string, add func(string, ...any)) {
	typ, _ := o["type"].(string)
	format, _ := o["format"].(string)
	formats, ok := swaggerFormats[typ]
	switch {
	case !ok:
		add("%s: type %q is not a Swagger 2.0 type", where, typ)
	case !formats[format]:
		add("%s: format %q is not a Swagger 2.0 format for %s", where, format, typ)
	}
}

// resolve follows a local JSON pointer; Power Automate does not fetch other files.
func resolve(doc object, ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q is not local to the document", ref)
	}
	var cur any = doc
	for _, tok := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		var ok bool
		switch c := cur.(type) {
		case object:
			cur, ok = c[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if ok = err == nil && i >= 0 && i < len(c); ok {
				cur = c[i]
			}
		}
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
	}
	return cur, nil
}

func walk(v any, path string, visit func(string, object)) {
	switch t := v.(type) {
	case object:
		visit(path, t)
		for _, k := range sortedKeys(t) {
			walk(t[k], path+"/"+k, visit)
		}
	case []any:
		for i, e := range t {
			walk(e, fmt.Sprintf("%s/%d", path, i), visit)
		}
	}
}

// isNameMap says the object at path maps user-chosen names (properties, definitions, paths, headers), where a
// member called "not" or "const" is a name, not a keyword.
func isNameMap(path string) bool {
	switch lastSegment(path) {
	case "properties", "definitions", "paths", "headers", "responses", "securityDefinitions":
		return true
	}
	return false
}

func lastSegment(path string) string { return path[strings.LastIndex(path, "/")+1:] }

func itemParams(item object) []any { p, _ := item["parameters"].([]any); return p }

func requires(security any, scheme string) bool {
	list, _ := security.([]any)
	for _, req := range list {
		if r, ok := req.(object); ok {
			if _, ok := r[scheme]; ok {
				return true
			}
		}
	}
	return false
}

func contains(list any, s string) bool {
	l, _ := list.([]any)
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func sortedKeys(o object) []string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestPowerAutomateRules(t *testing.T) {
	for _, host := range []string{"", "d365sap-prod.azurewebsites.net"} {
		t.Run("host="+host, func(t *testing.T) {
			doc, err := withHost(Document(), host)
			if err != nil {
				t.Fatal(err)
			}
			if probs := checkPowerAutomate(doc); len(probs) > 0 {
				t.Fatalf("openapi.json breaks %d Power Automate rule(s):\n%s", len(probs), strings.Join(probs, "\n"))
			}
		})
	}
}

// TestPowerAutomateContract pins what flows and the README rely on, beyond the generic rules.
func TestPowerAutomateContract(t *testing.T) {
	var doc object
	if err := json.Unmarshal(Document(), &doc); err != nil {
		t.Fatal(err)
	}
	op := func(path, method string) object {
		t.Helper()
		o, err := resolve(doc, "#/paths/"+strings.ReplaceAll(path, "/", "~1")+"/"+method)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return o.(object)
	}
	tests := []struct {
		name   string
		path   string
		method string
		id     string
		codes  []string
		public bool
	}{
		{"push", "/orders", "post", "PushSalesOrder", []string{"200", "201", "202", "400", "401", "409", "422", "503"}, false},
		{"status", "/orders/{salesorderid}", "get", "GetSalesOrderPushStatus", []string{"200", "202", "401", "404"}, false},
		{"health", "/health", "get", "GetHealth", []string{"200", "503"}, true},
		{"definition", "/openapi.json", "get", "GetOpenApiDefinition", []string{"200"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := op(tt.path, tt.method)
			if o["operationId"] != tt.id {
				t.Errorf("operationId = %v, want %s", o["operationId"], tt.id)
			}
			responses := o["responses"].(object)
			for _, c := range tt.codes {
				if _, ok := responses[c]; !ok {
					t.Errorf("no %s response", c)
				}
			}
			sec, has := o["security"]
			if public := has && len(sec.([]any)) == 0; public != tt.public {
				t.Errorf("anonymous = %v, want %v", public, tt.public)
			}
		})
	}
	// The push takes either an id or the whole order; both are declared since Swagger 2.0 has no oneOf.
	push, _ := resolve(doc, "#/definitions/PushRequest/properties")
	for _, p := range []string{"salesorderid", "order"} {
		if _, ok := push.(object)[p]; !ok {
			t.Errorf("PushRequest has no %s", p)
		}
	}
	if d, _ := resolve(doc, "#/definitions/PushRequest/description"); !strings.Contains(fmt.Sprint(d), "exactly one") {
		t.Errorf("PushRequest's description does not say exactly one of the two is given: %v", d)
	}
	lines, _ := resolve(doc, "#/definitions/OrderDocument/properties/lines")
	if l := lines.(object); l["minItems"] != 1.0 || l["maxItems"] != 999.0 {
		t.Errorf("lines bounds = %v..%v, want 1..999", l["minItems"], l["maxItems"])
	}
	qty, _ := resolve(doc, "#/definitions/OrderLine/properties/quantity/type")
	if qty != "string" {
		t.Errorf("quantity is %v; exact decimals travel as strings", qty)
	}
	want := []any{"accepted", "in-progress", "created", "written-back", "rejected", "failed"}
	for _, def := range []string{"OrderStatus", "OrderResult"} {
		states, _ := resolve(doc, "#/definitions/"+def+"/properties/state/enum")
		if fmt.Sprint(states) != fmt.Sprint(want) {
			t.Errorf("%s states = %v, want %v", def, states, want)
		}
	}
	if h, _ := resolve(doc, "#/paths/~1orders/post/responses/409/headers"); h == nil || h.(object)["Retry-After"] == nil || h.(object)["Location"] == nil {
		t.Errorf("409 must tell the flow when and where to look again: headers = %v", h)
	}
}
