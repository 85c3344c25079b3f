package openapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/d365sap/d365sap/infra/local/kit"
)

// repoRoot walks up from the package directory to the directory holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := kit.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// openapiChecker runs infra/tools/openapi-check.js, the Swagger 2.0 validator (see kit.NodeTool).
func openapiChecker(t *testing.T) func(file string) (string, int) {
	t.Helper()
	run := kit.NodeTool(t, "openapi-check.js", "@apidevtools/swagger-parser")
	return func(file string) (string, int) { return run(file) }
}

var validated = regexp.MustCompile(`valid Swagger 2\.0, (\d+) path\(s\), (\d+) operation\(s\)`)

func TestDocumentIsValidSwagger2(t *testing.T) {
	check := openapiChecker(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		host string
	}{
		{"as embedded", ""},
		{"as served with a host", "d365sap-prod.azurewebsites.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := withHost(Document(), tt.host)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "openapi.json")
			if err := os.WriteFile(path, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			out, code := check(path)
			m := validated.FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("openapi-check exit %d:\n%s", code, out)
			}
			// The validator must have seen the whole API, not an empty or truncated document: every path and
			// operation the document holds (the document's own HEAD is one).
			paths, ops := countOperations(t, doc)
			if m[1] != strconv.Itoa(paths) || m[2] != strconv.Itoa(ops) || paths < 5 {
				t.Fatalf("validator saw %s paths and %s operations, want %d and %d:\n%s", m[1], m[2], paths, ops, out)
			}
		})
	}
}

func TestValidatorRefusesOpenAPI3(t *testing.T) {
	check := openapiChecker(t)
	path := filepath.Join(t.TempDir(), "v3.json")
	v3 := `{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{}}`
	if err := os.WriteFile(path, []byte(v3), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := check(path); code != 1 || !regexp.MustCompile(`not a Swagger 2\.0 document`).MatchString(out) {
		t.Fatalf("exit %d, want 1 refusing OpenAPI 3:\n%s", code, out)
	}
}

// countOperations counts the document's paths and operations, read with encoding/json, apart from the validator.
func countOperations(t *testing.T, doc []byte) (paths, ops int) {
	t.Helper()
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	for _, item := range d.Paths {
		paths++
		for k := range item {
			switch k {
			case "get", "put", "post", "delete", "options", "head", "patch":
				ops++
			}
		}
	}
	return paths, ops
}
