package valuemap

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // each must be one of the problems, in this order after sorting
	}{
		{
			name: "unknown kind",
			in:   `{"unit": {"toSAP": {}, "fromSAP": {}}}`,
			want: []string{`unknown kind "unit" (the file holds comment and paymentTerms, units)`},
		},
		{
			name: "field name in the wrong case",
			in:   `{"units": {"tosap": {"Each": "EA"}, "fromSAP": {}}}`,
			want: []string{`units: unknown field "tosap"`},
		},
		{
			name: "unknown field in a kind",
			in:   `{"units": {"toSAP": {}, "fromSAP": {}, "default": "EA"}}`,
			want: []string{`units: unknown field "default"`},
		},
		{
			name: "key written twice",
			in:   `{"units": {"toSAP": {"Each": "EA", "Each": "PC"}, "fromSAP": {"EA": "Each"}}}`,
			want: []string{`units.toSAP: "Each" appears twice`},
		},
		{
			name: "kind written twice",
			in:   `{"units": {"toSAP": {}, "fromSAP": {}}, "units": {"toSAP": {}, "fromSAP": {}}}`,
			want: []string{`"units" appears twice in the file`},
		},
		{
			name: "number where a code belongs",
			in:   `{"paymentTerms": {"toSAP": {"1": 1}, "fromSAP": {}}}`,
			want: []string{`paymentTerms.toSAP["1"] must be a string, not the number 1`},
		},
		{
			name: "direction that is not an object",
			in:   `{"units": {"toSAP": ["Each"], "fromSAP": {}}}`,
			want: []string{`units.toSAP must be an object of strings, not an array`},
		},
		{
			name: "empty D365 value and empty SAP code",
			in:   `{"units": {"toSAP": {"": "EA", "Each": ""}, "fromSAP": {"EA": ""}}}`,
			want: []string{
				`units: SAP code "" (toSAP["Each"]) has no fromSAP entry`,
				`units: fromSAP["EA"]: D365 value "" is empty`,
				`units: toSAP: D365 value "" is empty`,
				`units: toSAP["Each"]: SAP code "" is empty`,
			},
		},
		{
			name: "unit code longer than SAP's three characters",
			in:   `{"units": {"toSAP": {"Each": "EACH"}, "fromSAP": {"EACH": "Each"}}}`,
			want: []string{
				`units: fromSAP: SAP code "EACH" is 4 characters; SAP's unit of measure holds 3`,
				`units: toSAP["Each"]: SAP code "EACH" is 4 characters; SAP's unit of measure holds 3`,
			},
		},
		{
			name: "payment terms longer than four characters",
			in:   `{"paymentTerms": {"toSAP": {"1": "00001"}, "fromSAP": {"00001": "1"}}}`,
			want: []string{
				`paymentTerms: fromSAP: SAP code "00001" is 5 characters; SAP's terms of payment key holds 4`,
				`paymentTerms: toSAP["1"]: SAP code "00001" is 5 characters; SAP's terms of payment key holds 4`,
			},
		},
		{
			name: "surrounding spaces",
			in:   `{"units": {"toSAP": {"Each ": "EA"}, "fromSAP": {"EA": "Each "}}}`,
			want: []string{
				`units: fromSAP["EA"]: D365 value "Each " has leading or trailing spaces`,
				`units: toSAP: D365 value "Each " has leading or trailing spaces`,
			},
		},
		{
			name: "control character",
			in:   `{"units": {"toSAP": {"Each": "E\tA"}, "fromSAP": {"E\tA": "Each"}}}`,
			want: []string{
				`units: fromSAP: SAP code "E\tA" holds a control or invisible character`,
				`units: toSAP["Each"]: SAP code "E\tA" holds a control or invisible character`,
			},
		},
		{
			name: "reverse direction unstated",
			in:   `{"units": {"toSAP": {"Primary Unit": "EA", "Each": "EA"}, "fromSAP": {}}}`,
			want: []string{`units: SAP code "EA" (toSAP["Each"], toSAP["Primary Unit"]) has no fromSAP entry, so the D365 value it reads back as is unstated`},
		},
		{
			name: "fromSAP names a value toSAP lacks",
			in:   `{"units": {"toSAP": {"Each": "EA"}, "fromSAP": {"EA": "Each", "PC": "Piece"}}}`,
			want: []string{`units: fromSAP["PC"] = "Piece", but toSAP has no "Piece", so that value would not map back to "PC"`},
		},
		{
			name: "directions disagree",
			in:   `{"units": {"toSAP": {"Each": "EA", "Piece": "EA"}, "fromSAP": {"EA": "Each", "PC": "Piece"}}}`,
			want: []string{`units: fromSAP["PC"] = "Piece", but toSAP["Piece"] = "EA"; the two directions must agree`},
		},
		{
			name: "lengths in characters, not bytes: four runes are too many",
			in:   `{"units": {"toSAP": {"Stück": "Stück"}, "fromSAP": {"Stück": "Stück"}}}`,
			want: []string{
				`units: fromSAP: SAP code "Stück" is 5 characters`,
				`units: toSAP["Stück"]: SAP code "Stück" is 5 characters`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Parse = %v, want an *InvalidError", err)
			}
			if len(inv.Problems) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(inv.Problems), len(tt.want), strings.Join(inv.Problems, "\n"))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(inv.Problems[i], w) {
					t.Errorf("problem %d = %q\nwant it to start %q", i, inv.Problems[i], w)
				}
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty file", `{}`},
		{"comments everywhere", `{"comment": "c", "units": {"comment": "c", "toSAP": {}, "fromSAP": {}}}`},
		{"two D365 values on one code, reverse stated", `{"units": {"toSAP": {"Primary Unit": "EA", "Each": "EA"}, "fromSAP": {"EA": "Each"}}}`},
		{"three characters in any script", `{"units": {"toSAP": {"Stück": "ÜST"}, "fromSAP": {"ÜST": "Stück"}}}`},
		{"a kind with only a comment", `{"paymentTerms": {"comment": "none yet"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.in)); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}

func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	in := `{
	  "units": {"toSAP": {"Each": "EACH", "Box": "BOX"}, "fromSAP": {"EA": "Each"}, "extra": 1},
	  "paymentTerms": {"toSAP": {"1": "00001"}, "fromSAP": {}},
	  "currencies": {}
	}`
	_, err := Parse([]byte(in))
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Parse = %v, want an *InvalidError", err)
	}
	// unknown kind, unknown field, EACH too long, BOX and EACH unstated, EA disagrees, 00001 too long and unstated
	if len(inv.Problems) != 8 {
		t.Errorf("got %d problems, want 8:\n%s", len(inv.Problems), strings.Join(inv.Problems, "\n"))
	}
	for i := 1; i < len(inv.Problems); i++ {
		if inv.Problems[i-1] > inv.Problems[i] {
			t.Errorf("problems are not sorted: %q before %q", inv.Problems[i-1], inv.Problems[i])
		}
	}
	if !strings.HasPrefix(err.Error(), "validating value maps: 8 problem(s): ") {
		t.Errorf("Error() = %q", err)
	}
}

func TestParseStopsOnBrokenJSON(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not JSON", `units: EA`, "invalid character"},
		{"cut short", `{"units": {"toSAP": {"Each": "EA"`, "EOF"},
		{"an array at the top", `[]`, "must be a JSON object, not an array"},
		{"trailing data", `{} {}`, "more after the closing }"},
		{"empty input", ``, "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			var inv *InvalidError
			if err == nil || errors.As(err, &inv) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want a parsing error containing %q", err, tt.want)
			}
		})
	}
}
