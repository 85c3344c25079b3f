package trigger

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseDefinition reads function.json as an operator may edit it: what is accepted has exactly one trigger,
// which Trigger returns; it writes out and reads back to the same definition; and routes and methods derive
// from it without panicking. Seeds are the app's own function.json files.
func FuzzParseDefinition(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "..", "functions", "*", "function.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no function.json files found: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{`{}`, `{"bindings":[]}`, `{"bindings":null}`, `[]`,
		`{"bindings":[{"type":"timerTrigger","direction":"in","name":"t","schedule":"0 * * * * *"},{"type":"queueTrigger","direction":"in","name":"q"}]}`,
		`{"bindings":[{"type":"httpTrigger","direction":"out","name":"req"}]}`, `{"bindings":[{"type":"Trigger","direction":"in"}]}`,
		`{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":[],"route":"/orders/{id?}/"}],"disabled":true}`,
		`{"bindings":[{"type":"httpTrigger","direction":"in","methods":["get",7]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDefinition(b)
		if err != nil {
			return
		}
		trig := d.Trigger()
		n := 0
		for _, bd := range d.Bindings {
			if strings.HasSuffix(bd.Type, "Trigger") && bd.Direction == "in" {
				n++
			}
		}
		if n != 1 || !strings.HasSuffix(trig.Type, "Trigger") || trig.Direction != "in" {
			t.Fatalf("accepted with %d triggers; Trigger() = %+v", n, trig)
		}
		// Written out and read back it is the same: the packager copies what the app reads.
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseDefinition(out)
		if err != nil {
			t.Fatalf("re-encoded definition %s refused: %v", out, err)
		}
		if out2, _ := json.Marshal(again); !bytes.Equal(out, out2) {
			t.Fatalf("round trip changed the definition:\n%s\n%s", out, out2)
		}
		if r := d.Route("fn"); strings.HasPrefix(r, "/") || strings.HasSuffix(r, "/") {
			t.Fatalf("route %q keeps its slashes", r)
		}
		for _, m := range d.Methods() {
			if m != strings.ToUpper(m) {
				t.Fatalf("method %q not upper case", m)
			}
		}
		_ = d.Forwardable()
	})
}
