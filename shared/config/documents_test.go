package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra"
)

// The struct is the one source of every setting's name and default (see Config); the README table,
// local.settings.example.json and the Bicep templates must state the same. Each check below is a function of
// the documents' text, so the broken copies in documents_broken_test.go can prove it fails.

// setting is one field of Config, as its tags describe it.
type setting struct {
	Name    string
	Default string // "" when it has none
	Local   string // why local.settings.example.json holds a local value instead of the default; "" when it holds the default
	Azure   string // why the Bicep templates set it from the deployment instead of a main.bicep parameter's default
}

// settingsOf lists the settings of a struct type, recursing into fields without an env tag (Storage, SAP, ...).
func settingsOf(t reflect.Type) []setting {
	var out []setting
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			if f.Type.Kind() == reflect.Struct {
				out = append(out, settingsOf(f.Type)...)
			}
			continue
		}
		name, rest, _ := strings.Cut(tag, ",")
		s := setting{Name: strings.TrimSpace(name), Local: f.Tag.Get("local"), Azure: f.Tag.Get("azure")}
		if _, def, ok := strings.Cut(rest, "default="); ok {
			s.Default = def
		}
		out = append(out, s)
	}
	return out
}

// hostOnly are settings the Functions host (or its local stand-in) reads, not the handler.
var hostOnly = map[string]bool{"FUNCTIONS_WORKER_RUNTIME": true, "FUNCHOST_MASTER_KEY": true, "FUNCHOST_FUNCTION_KEY": true}

func repoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- README ----

var readmeRow = regexp.MustCompile("(?m)^\\| `([A-Za-z_]+)` \\| ([^|]*) \\|")

// readmeDefaults maps each row of the README's Settings table to its default cell.
func readmeDefaults(readme string) (map[string]string, error) {
	start := strings.Index(readme, "\n## Settings")
	if start < 0 {
		return nil, fmt.Errorf("README.md has no Settings section")
	}
	readme = readme[start+1:]
	if end := strings.Index(readme, "\n## "); end > 0 {
		readme = readme[:end]
	}
	rows := map[string]string{}
	for _, m := range readmeRow.FindAllStringSubmatch(readme, -1) {
		rows[m[1]] = strings.TrimSpace(m[2])
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("README.md's Settings section has no rows")
	}
	return rows, nil
}

// readmeProblems: every setting has a row, the row states the struct's default ("—" for none), and no row names
// a setting the code does not read.
func readmeProblems(ss []setting, readme string) []string {
	rows, err := readmeDefaults(readme)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, s := range ss {
		cell, ok := rows[s.Name]
		want := "—"
		if s.Default != "" {
			want = "`" + s.Default + "`"
		}
		switch {
		case !ok:
			out = append(out, s.Name+": no row in the README settings table")
		case cell != want:
			out = append(out, fmt.Sprintf("%s: the README gives the default %s; the struct's is %s", s.Name, cell, want))
		}
	}
	return append(out, strays(ss, keys(rows), "has a README row")...)
}

// ---- local.settings.example.json ----

func exampleValues(b []byte) (map[string]string, error) {
	var f struct {
		Values map[string]string `json:"Values"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("decoding local.settings.example.json: %w", err)
	}
	return f.Values, nil
}

// exampleProblems: every setting is there with the struct's default, unless its local tag says why it holds a
// local value; a local tag on a setting that holds the default is stale.
func exampleProblems(ss []setting, example []byte) []string {
	values, err := exampleValues(example)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, s := range ss {
		v, ok := values[s.Name]
		switch {
		case !ok:
			out = append(out, s.Name+": missing from local.settings.example.json")
		case s.Local == "" && v != s.Default:
			out = append(out, fmt.Sprintf("%s: local.settings.example.json has %q; the struct's default is %q "+
				"(if that is a local value on purpose, tag the field local:\"why\")", s.Name, v, s.Default))
		case s.Local != "" && v == s.Default:
			out = append(out, fmt.Sprintf("%s: tagged local:%q, but local.settings.example.json holds the default; drop the tag", s.Name, s.Local))
		}
	}
	return append(out, strays(ss, keys(values), "is in local.settings.example.json")...)
}

// ---- Bicep ----

// entryTemplate is the template an operator deploys (infra/deploy.sh): its parameters' defaults are the
// deployment's defaults. A module's parameters are set by it.
const entryTemplate = "main.bicep"

// bicepDoc is the Azure target's templates, by path relative to infra/, and its exemptions in settings-policy.json.
type bicepDoc struct {
	files  map[string][]byte
	exempt map[string]string
}

// stringParam is `param <name> string` with an optional `= <default>` on the same line, as the templates write it.
var stringParam = regexp.MustCompile(`(?m)^param[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+string[ \t]*(?:=[ \t]*(.*?))?[ \t]*$`)

var (
	bareIdent     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	stringLiteral = regexp.MustCompile(`^'((?:[^'\\]|\\.)*)'$`)
)

// param is a main.bicep string parameter: required (no default), with a literal default, or with an expression.
type param struct {
	required bool
	literal  bool
	value    string // the literal's text, or the expression
}

func entryParams(src []byte) map[string]param {
	out := map[string]param{}
	for _, m := range stringParam.FindAllSubmatch(src, -1) {
		def := string(m[2])
		p := param{required: def == "", value: def}
		if lit := stringLiteral.FindStringSubmatch(def); lit != nil && !strings.Contains(lit[1], "${") {
			p.literal, p.value = true, strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(lit[1])
		}
		out[string(m[1])] = p
	}
	return out
}

// bicepProblems: every setting is set by the templates or exempted; one set from a main.bicep parameter gets the
// struct's default from it (no default when the parameter is required); any other source needs an azure tag
// saying why, and an azure tag on a setting set from a parameter's default is stale.
func bicepProblems(ss []setting, doc bicepDoc) []string {
	names := keys(doc.files)
	sort.Strings(names)
	set := map[string]infra.Setting{}
	for _, name := range names {
		found, err := infra.BicepSettings(name, doc.files[name])
		if err != nil {
			return []string{err.Error()}
		}
		for _, s := range found {
			if _, dup := set[s.Name]; !dup {
				set[s.Name] = s
			}
		}
	}
	params := entryParams(doc.files[entryTemplate])
	var out []string
	for _, s := range ss {
		got, ok := set[s.Name]
		if !ok {
			if strings.TrimSpace(doc.exempt[s.Name]) == "" {
				out = append(out, s.Name+": not set by the Bicep templates, nor exempted with a reason in infra/settings-policy.json")
			}
			continue // an exemption of a setting the templates set is infra's test to report
		}
		p, fromParam := params[got.Value]
		fromParam = fromParam && got.File == entryTemplate && bareIdent.MatchString(got.Value) && (p.literal || p.required)
		where := fmt.Sprintf("%s:%d", got.File, got.Line)
		switch {
		case !fromParam && s.Azure == "":
			out = append(out, fmt.Sprintf("%s: %s sets it from %q, not from a main.bicep parameter with the struct's default; "+
				"give it one, or tag the field azure:\"why\"", s.Name, where, got.Value))
		case !fromParam:
		case s.Azure != "":
			out = append(out, fmt.Sprintf("%s: tagged azure:%q, but %s sets it from param %s; drop the tag", s.Name, s.Azure, where, got.Value))
		case p.required && s.Default != "":
			out = append(out, fmt.Sprintf("%s: main.bicep param %s has no default; the struct's is %q: give the param that default", s.Name, got.Value, s.Default))
		case p.literal && p.value != s.Default:
			out = append(out, fmt.Sprintf("%s: main.bicep param %s defaults to '%s'; the struct's default is '%s'", s.Name, got.Value, p.value, s.Default))
		}
	}
	return out
}

func loadBicep(t *testing.T) bicepDoc {
	t.Helper()
	infraDir := filepath.Join("..", "..", "infra")
	policy, err := infra.ParsePolicy(repoFile(t, "infra/settings-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	target, ok := policy.Targets["azure"]
	if !ok {
		t.Fatal("infra/settings-policy.json has no azure target")
	}
	files, err := infra.TemplateFiles(infraDir, target)
	if err != nil {
		t.Fatal(err)
	}
	doc := bicepDoc{files: map[string][]byte{}, exempt: target.Exempt}
	for _, f := range files {
		rel, err := filepath.Rel(infraDir, f)
		if err != nil {
			t.Fatal(err)
		}
		doc.files[filepath.ToSlash(rel)] = repoFile(t, filepath.Join("infra", rel))
	}
	if _, ok := doc.files[entryTemplate]; !ok {
		t.Fatalf("the azure target's templates do not include %s", entryTemplate)
	}
	return doc
}

// ---- shared ----

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// strays are the names a document states that the code never reads.
func strays(ss []setting, names []string, what string) []string {
	known := map[string]bool{}
	for _, s := range ss {
		known[s.Name] = true
	}
	var out []string
	for _, n := range names {
		if !known[n] && !hostOnly[n] {
			out = append(out, fmt.Sprintf("%s: %s but the code never reads it", n, what))
		}
	}
	sort.Strings(out)
	return out
}

func reportAll(t *testing.T, problems []string) {
	t.Helper()
	for _, p := range problems {
		t.Error(p)
	}
}

// ---- the real documents ----

func configSettings(t *testing.T) []setting {
	t.Helper()
	ss := settingsOf(reflect.TypeOf(Config{}))
	if len(ss) < 40 {
		t.Fatalf("found %d settings in Config; is the reader still finding them?", len(ss))
	}
	return ss
}

func TestEverySettingDocumented(t *testing.T) {
	ss := configSettings(t)
	t.Run("README", func(t *testing.T) { reportAll(t, readmeProblems(ss, string(repoFile(t, "README.md")))) })
	t.Run("local.settings.example.json", func(t *testing.T) {
		reportAll(t, exampleProblems(ss, repoFile(t, "local.settings.example.json")))
	})
	t.Run("Bicep", func(t *testing.T) { reportAll(t, bicepProblems(ss, loadBicep(t))) })
}

// The tags name the exceptions; each must say why, so a reader of the struct learns it there.
func TestDocumentTagsGiveReasons(t *testing.T) {
	var walk func(reflect.Type) []string
	walk = func(typ reflect.Type) []string {
		var out []string
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if _, ok := f.Tag.Lookup("env"); !ok && f.Type.Kind() == reflect.Struct {
				out = append(out, walk(f.Type)...)
				continue
			}
			for _, tag := range []string{"local", "azure"} {
				if v, ok := f.Tag.Lookup(tag); ok && len(strings.Fields(v)) < 2 {
					out = append(out, fmt.Sprintf("%s.%s: the %s tag %q does not say why", typ.Name(), f.Name, tag, v))
				}
			}
		}
		return out
	}
	reportAll(t, walk(reflect.TypeOf(Config{})))
}
