package infra

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// samTemplate converts a SAM template to JSON with infra/tools/cfn-json.js and decodes it.
func samTemplate(t *testing.T, path string) SAMTemplate {
	t.Helper()
	out, code := nodeTool(t, "cfn-json.js")(path)
	if code != 0 {
		t.Fatalf("cfn-json %s exit %d:\n%s", path, code, out)
	}
	tpl, err := ParseSAMJSON([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestSAMTemplate(t *testing.T) {
	tpl := samTemplate(t, filepath.Join(repoRoot(t), "infra", "aws", "template.yaml"))
	for _, p := range SAMProblems(tpl) {
		t.Error(p)
	}
	if len(obj(tpl["Resources"])) < 7 {
		t.Errorf("template has %d resources; the converter lost some", len(obj(tpl["Resources"])))
	}
}

// Broken copies of the SAM template: each edit must be reported.
func TestSAMTemplateReportsBrokenCopies(t *testing.T) {
	infraDir := filepath.Join(repoRoot(t), "infra")
	tests := []struct {
		name string
		edit func([]byte) []byte
		want string
	}{
		{"handler renamed", replace("Handler: statusupdates\n", "Handler: statusupdate\n"), `no function with handler "statusupdates"`},
		{"reference to a resource that does not exist", replace("ApiId: !Ref HttpApi\n", "ApiId: !Ref HttpApy\n"), `Ref to undeclared "HttpApy"`},
		{"partial batch failures off", deleteLine(`[ \t]+FunctionResponseTypes:`), "without FunctionResponseTypes"},
		{"dead-letter queue renamed", replace("deadLetterTargetArn: !GetAtt StatusEventsDeadLetterQueue.Arn", "deadLetterTargetArn: !GetAtt StatusEventsDLQ.Arn"), `GetAtt on undeclared resource "StatusEventsDLQ"`},
		{"visibility timeout shorter than processing", replace("VisibilityTimeout: 1800\n", "VisibilityTimeout: 60\n"), "under six times the function timeout"},
		{"number where Lambda wants a string", replace(`SAP_READ_RETRIES: "4"`, `SAP_READ_RETRIES: 4`), "SAP_READ_RETRIES is float64"},
		{"misspelled name in a Sub", replace("secretsmanager:${SecretName}:SecretString:SAP_PASSWORD", "secretsmanager:${SecretNam}:SecretString:SAP_PASSWORD"), "${SecretNam} names nothing declared"},
		{"runtime changed", replace("Runtime: provided.al2023\n", "Runtime: go1.x\n"), "want provided.al2023"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTemplates(t, infraDir, dir)
			path := filepath.Join(dir, "aws", "template.yaml")
			mutateFile(t, path, tc.edit)
			problems := SAMProblems(samTemplate(t, path))
			found := false
			for _, p := range problems {
				if strings.Contains(p, tc.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems = %q, want one containing %q", problems, tc.want)
			}
		})
	}
}

func TestSAMTemplateYAMLErrorHasPosition(t *testing.T) {
	dir := t.TempDir()
	copyTemplates(t, filepath.Join(repoRoot(t), "infra"), dir)
	path := filepath.Join(dir, "aws", "template.yaml")
	// A key dedented into the middle of a mapping breaks the YAML structure.
	mutateFile(t, path, func(b []byte) []byte {
		return bytes.Replace(b, []byte("      Handler: orderpush\n"), []byte("      Handler: orderpush\n   Oops: [\n"), 1)
	})
	out, code := nodeTool(t, "cfn-json.js")(path)
	if code != 1 {
		t.Fatalf("cfn-json exit %d, want 1:\n%s", code, out)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(path) + `:\d+:\d+: `).MatchString(out) {
		t.Errorf("no file:line:col in the output:\n%s", out)
	}
}
