package config

import (
	"maps"
	"strings"
	"testing"
)

// docs is one copy of the three documents, to break.
type docs struct {
	readme  string
	example string
	bicep   bicepDoc
}

func loadDocs(t *testing.T) docs {
	t.Helper()
	b := loadBicep(t)
	b.files, b.exempt = maps.Clone(b.files), maps.Clone(b.exempt)
	return docs{readme: string(repoFile(t, "README.md")), example: string(repoFile(t, "local.settings.example.json")), bicep: b}
}

func (d docs) problems(ss []setting) []string {
	out := readmeProblems(ss, d.readme)
	out = append(out, exampleProblems(ss, []byte(d.example))...)
	return append(out, bicepProblems(ss, d.bicep)...)
}

// edit replaces old with new in s once, failing when old is not there, so a case cannot silently stop testing
// when the documents move on.
func edit(t *testing.T, s *string, old, new string) {
	t.Helper()
	if !strings.Contains(*s, old) {
		t.Fatalf("editing: %q is not in the document", old)
	}
	*s = strings.Replace(*s, old, new, 1)
}

// deleteLine removes the line starting with prefix.
func deleteLine(t *testing.T, s *string, prefix string) {
	t.Helper()
	i := strings.Index(*s, "\n"+prefix)
	if i < 0 {
		t.Fatalf("editing: no line starts with %q", prefix)
	}
	end := strings.Index((*s)[i+1:], "\n")
	*s = (*s)[:i] + (*s)[i+1+end:]
}

func editBicep(t *testing.T, d *docs, old, new string) {
	t.Helper()
	src := string(d.bicep.files[entryTemplate])
	edit(t, &src, old, new)
	d.bicep.files[entryTemplate] = []byte(src)
}

// Each broken copy must make the checks report what it broke, naming the setting, and nothing else.
func TestDocumentChecksReportBrokenCopies(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(t *testing.T, d *docs)
		settings func([]setting) []setting // changes the struct's side; nil keeps it
		want     []string                  // the problems, in order: each starts with its setting and contains the rest
	}{
		{name: "README row deleted",
			mutate: func(t *testing.T, d *docs) {
				deleteLine(t, &d.readme, "| `SAP_TIMEOUT` |")
			},
			want: []string{"SAP_TIMEOUT: no row in the README"}},
		{name: "README states another default",
			mutate: func(t *testing.T, d *docs) {
				edit(t, &d.readme, "| `DATAVERSE_PAGE_SIZE` | `500` |", "| `DATAVERSE_PAGE_SIZE` | `5000` |")
			},
			want: []string{"DATAVERSE_PAGE_SIZE: the README gives the default `5000`"}},
		{name: "README row of a setting nobody reads",
			mutate: func(t *testing.T, d *docs) {
				edit(t, &d.readme, "| `LOG_LEVEL` |", "| `LOG_FORMAT` | `json` | gone |\n| `LOG_LEVEL` |")
			},
			want: []string{"LOG_FORMAT: has a README row but the code never reads it"}},
		{name: "example misses a setting",
			mutate: func(t *testing.T, d *docs) { edit(t, &d.example, `    "SAP_READ_RETRIES": "4",`+"\n", "") },
			want:   []string{"SAP_READ_RETRIES: missing from local.settings.example.json"}},
		{name: "example states another default",
			mutate: func(t *testing.T, d *docs) {
				edit(t, &d.example, `"DATAVERSE_MAX_RETRIES": "6"`, `"DATAVERSE_MAX_RETRIES": "8"`)
			},
			want: []string{`DATAVERSE_MAX_RETRIES: local.settings.example.json has "8"; the struct's default is "6"`}},
		{name: "a local tag the example no longer needs",
			mutate: func(t *testing.T, d *docs) { edit(t, &d.example, `"SAP_CLIENT": "100"`, `"SAP_CLIENT": ""`) },
			want:   []string{"SAP_CLIENT: tagged local:"}},
		{name: "Bicep parameter with another default",
			mutate: func(t *testing.T, d *docs) {
				editBicep(t, d, "param sapTimeout string = '30s'", "param sapTimeout string = '60s'")
			},
			want: []string{"SAP_TIMEOUT: main.bicep param sapTimeout defaults to '60s'; the struct's default is '30s'"}},
		{name: "Bicep parameter that became required",
			mutate: func(t *testing.T, d *docs) {
				editBicep(t, d, "param logLevel string = 'info'", "param logLevel string")
			},
			want: []string{`LOG_LEVEL: main.bicep param logLevel has no default; the struct's is "info"`}},
		{name: "Bicep no longer sets a setting",
			mutate: func(t *testing.T, d *docs) { editBicep(t, d, "  SAP_READ_RETRIES: sapReadRetries\n", "") },
			want:   []string{"SAP_READ_RETRIES: not set by the Bicep templates"}},
		{name: "Bicep sets a setting from an expression",
			mutate: func(t *testing.T, d *docs) {
				editBicep(t, d, "  DATAVERSE_PAGE_SIZE: dataversePageSize\n", "  DATAVERSE_PAGE_SIZE: string(5000)\n")
			},
			want: []string{`DATAVERSE_PAGE_SIZE: main.bicep:`}},
		{name: "exemption removed from settings-policy.json",
			mutate: func(t *testing.T, d *docs) { delete(d.bicep.exempt, "WEBSITE_HOSTNAME") },
			want:   []string{"WEBSITE_HOSTNAME: not set by the Bicep templates, nor exempted"}},
		{name: "an azure tag on a setting the templates take from a default",
			settings: func(ss []setting) []setting {
				return tagged(ss, "LOG_LEVEL", func(s *setting) { s.Azure = "set by the platform" })
			},
			want: []string{`LOG_LEVEL: tagged azure:"set by the platform"`}},
		{name: "a struct default changed alone leaves all three behind",
			settings: func(ss []setting) []setting {
				return tagged(ss, "ORDER_PUSH_QUEUE", func(s *setting) { s.Default = "orders" })
			},
			want: []string{"ORDER_PUSH_QUEUE: the README gives the default `order-push`",
				`ORDER_PUSH_QUEUE: local.settings.example.json has "order-push"; the struct's default is "orders"`,
				"ORDER_PUSH_QUEUE: main.bicep param orderPushQueue defaults to 'order-push'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := loadDocs(t)
			ss := configSettings(t)
			if tt.settings != nil {
				ss = tt.settings(ss)
			}
			if tt.mutate != nil {
				tt.mutate(t, &d)
			}
			got := d.problems(ss)
			if len(got) != len(tt.want) {
				t.Fatalf("problems = %q, want %d: %q", got, len(tt.want), tt.want)
			}
			for i, want := range tt.want {
				name, rest, _ := strings.Cut(want, ": ")
				if !strings.HasPrefix(got[i], name+": ") || !strings.Contains(got[i], rest) {
					t.Errorf("problem = %q, want %q", got[i], want)
				}
			}
		})
	}
}

func tagged(ss []setting, name string, change func(*setting)) []setting {
	out := append([]setting(nil), ss...)
	for i := range out {
		if out[i].Name == name {
			change(&out[i])
		}
	}
	return out
}

// A new setting is a struct field and a line in each document: until each has its line, each is reported, and
// then nothing is.
func TestANewSettingNeedsTheThreeDocuments(t *testing.T) {
	d := loadDocs(t)
	ss := append(configSettings(t), setting{Name: "NEW_EXAMPLE_SETTING", Default: "42"})
	got := strings.Join(d.problems(ss), "\n")
	for _, want := range []string{"no row in the README", "missing from local.settings.example.json", "not set by the Bicep templates"} {
		if !strings.Contains(got, "NEW_EXAMPLE_SETTING: "+want) {
			t.Errorf("a setting only in the struct: no problem %q in\n%s", want, got)
		}
	}

	edit(t, &d.readme, "| `LOG_LEVEL` |", "| `NEW_EXAMPLE_SETTING` | `42` | an example |\n| `LOG_LEVEL` |")
	edit(t, &d.example, `"LOG_LEVEL": "info",`, `"NEW_EXAMPLE_SETTING": "42", "LOG_LEVEL": "info",`)
	editBicep(t, &d, "param logLevel string = 'info'\n", "param logLevel string = 'info'\n\nparam newExampleSetting string = '42'\n")
	editBicep(t, &d, "  LOG_LEVEL: logLevel\n", "  LOG_LEVEL: logLevel\n  NEW_EXAMPLE_SETTING: newExampleSetting\n")
	if got := d.problems(ss); len(got) != 0 {
		t.Errorf("with the three lines added: %q", got)
	}
}
