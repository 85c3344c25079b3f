package infra

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
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

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return b
}

// copyTemplates copies every template file under infra/ (Bicep, parameters, SAM) into dst, keeping paths.
func copyTemplates(t *testing.T, infraDir, dst string) {
	t.Helper()
	err := filepath.WalkDir(infraDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(infraDir, path)
		if d.IsDir() {
			if rel == "tools" || rel == "local" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".bicep", ".bicepparam", ".yaml":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying templates: %v", err)
	}
}

// mutateFile rewrites one file of a copy and fails the test if the edit changed nothing, so a test cannot
// silently stop testing when the templates it edits move on.
func mutateFile(t *testing.T, path string, edit func([]byte) []byte) {
	t.Helper()
	before := readFile(t, path)
	after := edit(before)
	if bytes.Equal(before, after) {
		t.Fatalf("mutating %s: the edit matched nothing", path)
	}
	if err := os.WriteFile(path, after, 0o644); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
}

func deleteLine(pattern string) func([]byte) []byte {
	re := regexp.MustCompile(`(?m)^` + pattern + `.*\n`)
	return func(b []byte) []byte { return re.ReplaceAll(b, nil) }
}

// replaceLine replaces every whole line starting with the pattern.
func replaceLine(pattern, line string) func([]byte) []byte {
	re := regexp.MustCompile(`(?m)^` + pattern + `.*$`)
	return func(b []byte) []byte { return re.ReplaceAllLiteral(b, []byte(line)) }
}

func replace(old, new string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
}

// coverage runs the whole check for one target against the templates under infraDir.
func coverage(t *testing.T, infraDir string, local []byte, policy Policy, target string) []Problem {
	t.Helper()
	tgt, ok := policy.Targets[target]
	if !ok {
		t.Fatalf("policy has no target %q", target)
	}
	names, err := LocalSettingNames(local)
	if err != nil {
		t.Fatal(err)
	}
	files, err := TemplateFiles(infraDir, tgt)
	if err != nil {
		t.Fatal(err)
	}
	set, err := ReadSettings(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(set) == 0 {
		t.Fatalf("target %s: the templates set no settings at all; is the reader still finding them?", target)
	}
	return Check(names, set, tgt)
}

func loadPolicy(t *testing.T, infraDir string) Policy {
	t.Helper()
	p, err := ParsePolicy(readFile(t, filepath.Join(infraDir, "settings-policy.json")))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTemplatesCoverEverySetting(t *testing.T) {
	root := repoRoot(t)
	infraDir := filepath.Join(root, "infra")
	local := readFile(t, filepath.Join(root, "local.settings.example.json"))
	policy := loadPolicy(t, infraDir)
	targets := make([]string, 0, len(policy.Targets))
	for name := range policy.Targets {
		targets = append(targets, name)
	}
	sort.Strings(targets)
	if strings.Join(targets, ",") != "aws,azure" {
		t.Fatalf("policy targets = %v, want aws and azure", targets)
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			for _, p := range coverage(t, infraDir, local, policy, target) {
				t.Errorf("%s", p)
			}
		})
	}
}

// Broken copies: each edit must make the coverage check name the setting it broke.
func TestCoverageReportsBrokenCopies(t *testing.T) {
	root := repoRoot(t)
	infraDir := filepath.Join(root, "infra")
	local := readFile(t, filepath.Join(root, "local.settings.example.json"))

	tests := []struct {
		name        string
		target      string
		file        string // template to edit, relative to infra/
		edit        func([]byte) []byte
		editLocal   func([]byte) []byte
		editPolicy  func(*Policy)
		wantSetting string
		wantText    string
	}{
		{
			name: "product setting deleted from main.bicep", target: "azure",
			file: "main.bicep", edit: deleteLine(`[ \t]+SAP_CLIENT:`),
			wantSetting: "SAP_CLIENT", wantText: "not set by the templates",
		},
		{
			name: "host setting deleted from the function app module", target: "azure",
			file: "modules/functionapp.bicep", edit: deleteLine(`[ \t]+FUNCTIONS_WORKER_RUNTIME:`),
			wantSetting: "FUNCTIONS_WORKER_RUNTIME", wantText: "not set by the templates",
		},
		{
			name: "identity storage setting deleted", target: "azure",
			file: "modules/functionapp.bicep", edit: deleteLine(`[ \t]+AzureWebJobsStorage__clientId:`),
			wantSetting: "AzureWebJobsStorage__clientId", wantText: "not set by the templates",
		},
		{
			name: "secret set as a plain parameter", target: "azure",
			file: "main.bicep", edit: replaceLine(`[ \t]+SAP_PASSWORD:`, "  SAP_PASSWORD: sapPassword"),
			wantSetting: "SAP_PASSWORD", wantText: "secrets come from the secret store",
		},
		{
			name: "variable deleted from the SAM template", target: "aws",
			file: "aws/template.yaml", edit: deleteLine(`[ \t]+DATAVERSE_PAGE_SIZE:`),
			wantSetting: "DATAVERSE_PAGE_SIZE", wantText: "not set by the templates",
		},
		{
			name: "SAM secret set in plain text", target: "aws",
			file:        "aws/template.yaml",
			edit:        replace(`DATAVERSE_CLIENT_SECRET: !Sub "{{resolve:secretsmanager:${SecretName}:SecretString:DATAVERSE_CLIENT_SECRET}}"`, `DATAVERSE_CLIENT_SECRET: !Ref SomeParameter`),
			wantSetting: "DATAVERSE_CLIENT_SECRET", wantText: "secrets come from the secret store",
		},
		{
			name: "new setting in local.settings.example.json with no template", target: "azure",
			editLocal:   replace(`"STATE_TABLE": "integrationstate"`, `"STATE_TABLE": "integrationstate", "NEW_FEATURE_FLAG": "on"`),
			wantSetting: "NEW_FEATURE_FLAG", wantText: "not set by the templates",
		},
		{
			name: "new setting reaches AWS too", target: "aws",
			editLocal:   replace(`"STATE_TABLE": "integrationstate"`, `"STATE_TABLE": "integrationstate", "NEW_FEATURE_FLAG": "on"`),
			wantSetting: "NEW_FEATURE_FLAG", wantText: "not set by the templates",
		},
		{
			name: "exemption for a setting that no longer exists", target: "azure",
			editPolicy:  func(p *Policy) { p.Targets["azure"].Exempt["GONE_SETTING"] = "removed long ago" },
			wantSetting: "GONE_SETTING", wantText: "not in local.settings.example.json",
		},
		{
			name: "exemption for a setting the template sets", target: "azure",
			editPolicy:  func(p *Policy) { p.Targets["azure"].Exempt["LOG_LEVEL"] = "contradiction" },
			wantSetting: "LOG_LEVEL", wantText: "yet exempted",
		},
		{
			name: "exemption without a reason", target: "aws",
			editPolicy:  func(p *Policy) { p.Targets["aws"].Exempt["FUNCTIONS_WORKER_RUNTIME"] = " " },
			wantSetting: "FUNCTIONS_WORKER_RUNTIME", wantText: "without a reason",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTemplates(t, infraDir, dir)
			if tc.edit != nil {
				mutateFile(t, filepath.Join(dir, tc.file), tc.edit)
			}
			loc := local
			if tc.editLocal != nil {
				loc = tc.editLocal(local)
				if bytes.Equal(loc, local) {
					t.Fatal("editing local settings: the edit matched nothing")
				}
			}
			policy := loadPolicy(t, infraDir) // fresh maps per case
			if tc.editPolicy != nil {
				tc.editPolicy(&policy)
			}
			problems := coverage(t, dir, loc, policy, tc.target)
			if len(problems) != 1 {
				t.Fatalf("problems = %v, want exactly one naming %s", problems, tc.wantSetting)
			}
			if problems[0].Setting != tc.wantSetting || !strings.Contains(problems[0].Message, tc.wantText) {
				t.Errorf("problem = %q, want %s with %q", problems[0], tc.wantSetting, tc.wantText)
			}
		})
	}
}

// The readers themselves, on the shapes the templates use.
func TestBicepSettingsReader(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []string
		wantErr bool
	}{
		{
			name: "plain and quoted keys, comments, nested values and braces in strings",
			src: `var other = { NOT_ME: 1 }
var productSettings = {
  // a comment with KEY: inside
  A_ONE: 'x'
  'B_TWO': '${interp ? '}' : '{'}'
  C_THREE: {
    NESTED: 'not a setting'
  }
  /* block
     HIDDEN: 1 */
  D_FOUR: [
    'x'
  ]
  E_FIVE: concat('a', 'b') // trailing
}
var after = { ALSO_NOT: 2 }
`,
			want: []string{"A_ONE", "B_TWO", "C_THREE", "D_FOUR", "E_FIVE"},
		},
		{
			name: "two settings objects in one file",
			src:  "var aSettings = {\n  X: 1\n}\nvar bSettings = {\n  Y: '''\nmulti } line\n'''\n}\n",
			want: []string{"X", "Y"},
		},
		{
			name:    "unclosed object",
			src:     "var zSettings = {\n  X: 'a'\n",
			wantErr: true,
		},
		{
			name:    "unclosed string",
			src:     "var zSettings = {\n  X: 'a\n}\n",
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BicepSettings("x.bicep", []byte(tc.src))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("err = nil, want an error; got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range got {
				names = append(names, s.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Errorf("keys = %v, want %v", names, tc.want)
			}
		})
	}
}

func TestSAMSettingsReader(t *testing.T) {
	src := `Globals:
  Function:
    Environment:
      Variables:
        # comment
        A_ONE: !Ref X
        B_TWO: "{{resolve:secretsmanager:s:SecretString:B_TWO}}"
        C_THREE: >-
          folded
          NOT_A_KEY: still the value
    Timeout: 3
Resources:
  F:
    Properties:
      Environment:
        Variables:
          D_FOUR: x
      Handler: f
`
	got, err := SAMSettings("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name+"@"+strconv.Itoa(s.Line))
	}
	want := "A_ONE@6,B_TWO@7,C_THREE@8,D_FOUR@17"
	if strings.Join(names, ",") != want {
		t.Errorf("keys = %v, want %s", names, want)
	}
	if got[1].Value != `"{{resolve:secretsmanager:s:SecretString:B_TWO}}"` {
		t.Errorf("B_TWO value = %q", got[1].Value)
	}
}

// nodeTool runs a checker script in infra/tools (see kit.NodeTool).
func nodeTool(t *testing.T, script string) func(args ...string) (string, int) {
	t.Helper()
	return kit.NodeTool(t, script, "tree-sitter-bicep", "yaml")
}

func bicepChecker(t *testing.T) func(args ...string) (string, int) {
	t.Helper()
	return nodeTool(t, "bicep-check.js")
}

var filesChecked = regexp.MustCompile(`bicep-check: (\d+) file\(s\), 0 with errors`)

func TestBicepFilesParse(t *testing.T) {
	check := bicepChecker(t)
	infraDir := filepath.Join(repoRoot(t), "infra")
	out, code := check(infraDir)
	if code != 0 {
		t.Fatalf("bicep-check exit %d:\n%s", code, out)
	}
	m := filesChecked.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("bicep-check printed no summary:\n%s", out)
	}
	// main.bicep, main.bicepparam and the six modules at least: a checker that found nothing proves nothing.
	if n, _ := strconv.Atoi(m[1]); n < 8 {
		t.Errorf("bicep-check parsed %d files, want at least 8:\n%s", n, out)
	}
}

var diagnostic = regexp.MustCompile(`(?m)^(.+):(\d+):(\d+): (.+)$`)

// Broken copies: each edit must make the checker fail with a position in the edited file near the edit
// (and, for the wiring checks, with a message naming what is wrong).
func TestBicepCheckerReportsBrokenCopies(t *testing.T) {
	check := bicepChecker(t)
	infraDir := filepath.Join(repoRoot(t), "infra")
	tests := []struct {
		name string
		file string
		line string // the text starting the line the error belongs to, after the edit
		edit func([]byte) []byte
		msg  string // a part of the expected message; empty for syntax errors, whose wording varies
	}{
		{
			name: "misspelled keyword", file: "modules/storage.bicep",
			edit: replace("\nresource account ", "\nresorce account "), line: "resorce account ",
		},
		{
			name: "closing brace deleted", file: "main.bicep",
			edit: replace("  contentShare: '${prefix}-content'\n}\n", "  contentShare: '${prefix}-content'\n"),
			line: "  contentShare: '${prefix}-content'",
		},
		{
			name: "unterminated string", file: "main.bicep",
			edit: replace("param logLevel string = 'info'\n", "param logLevel string = 'info\n"),
			line: "param logLevel string = 'info",
		},
		{
			name: "closing bracket deleted in a loop", file: "modules/roles.bicep",
			edit: replace("    principalType: 'ServicePrincipal'\n  }\n}]\n", "    principalType: 'ServicePrincipal'\n  }\n}\n"),
			line: "    principalType: 'ServicePrincipal'",
		},
		{
			name: "parameter without a value", file: "main.bicepparam",
			edit: replace("param sapClient = '100'\n", "param sapClient =\n"), line: "param sapClient =",
		},
		{
			name: "module given a parameter it does not declare", file: "main.bicep",
			edit: replace("    appInsightsName: names.appInsights\n", "    appInsightName: names.appInsights\n"),
			line: "    appInsightName:", msg: "modules/monitoring.bicep declares no parameter appInsightName",
		},
		{
			name: "module not given a required parameter", file: "main.bicep",
			edit: deleteLine(`    identityClientId: identity.outputs.clientId`),
			line: "module functionApp ", msg: "required parameter identityClientId of modules/functionapp.bicep is not passed",
		},
		{
			name: "module output that does not exist", file: "main.bicep",
			edit: replace("functionApp.outputs.url\n", "functionApp.outputs.uri\n"),
			line: "output functionAppUrl ", msg: "modules/functionapp.bicep has no output uri",
		},
		{
			name: "module path misspelled", file: "main.bicep",
			edit: replace("module identity 'modules/identity.bicep'", "module identity 'modules/identiti.bicep'"),
			line: "module identity ", msg: "modules/identiti.bicep not found",
		},
		{
			name: "parameters file assigns an undeclared parameter", file: "main.bicepparam",
			edit: replace("param sapBaseUrl = ", "param sapBaseUri = "),
			line: "param sapBaseUri ", msg: "declares no parameter sapBaseUri",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTemplates(t, infraDir, dir)
			path := filepath.Join(dir, tc.file)
			mutateFile(t, path, tc.edit)
			editedLine := 0
			for i, l := range strings.Split(string(readFile(t, path)), "\n") {
				if strings.HasPrefix(l, tc.line) {
					editedLine = i + 1
					break
				}
			}
			if editedLine == 0 {
				t.Fatalf("finding the edited line %q in the copy", tc.line)
			}

			out, code := check(dir)
			if code != 1 {
				t.Fatalf("bicep-check exit %d, want 1:\n%s", code, out)
			}
			near := false
			for _, m := range diagnostic.FindAllStringSubmatch(out, -1) {
				if m[1] != path {
					t.Errorf("error reported in %s, but only %s was broken:\n%s", m[1], tc.file, out)
					continue
				}
				line, _ := strconv.Atoi(m[2])
				col, _ := strconv.Atoi(m[3])
				// Error recovery may settle a line or two away from the edit, never further here.
				if col >= 1 && line >= editedLine-3 && line <= editedLine+3 && strings.Contains(m[4], tc.msg) {
					near = true
				}
			}
			if !near {
				t.Errorf("no error %q reported within 3 lines of line %d of %s:\n%s", tc.msg, editedLine, tc.file, out)
			}
		})
	}
}
