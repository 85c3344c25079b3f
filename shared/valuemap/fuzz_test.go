package valuemap

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics and that whatever it accepts is consistent: each direction undoes the
// other, codes fit SAP, and the set survives being written out and read back.
func FuzzParse(f *testing.F) {
	f.Add(defaults)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"units": {"toSAP": {"Primary Unit": "EA", "Each": "EA"}, "fromSAP": {"EA": "Each"}}}`))
	f.Add([]byte(`{"units": {"toSAP": {"Each": "EA", "Each": "PC"}, "fromSAP": {"EA": "Each"}}}`))
	f.Add([]byte(`{"paymentTerms": {"toSAP": {"1": 1}, "fromSAP": {"0001": ["1"]}}, "x": {"a": [1, {"b": null}]}}`))
	f.Add([]byte(`{"units": {"toSAP": {"St\u00fcck": "\u00dcST"}, "fromSAP": {"\u00dcST": "St\u00fcck"}}}`))
	f.Add([]byte("{\"units\": {\"toSAP\": {\"\xff\": \"EA\"}, \"fromSAP\": {\"EA\": \"\xff\"}}}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		for _, kind := range s.Kinds() {
			m := s.Must(kind)
			max := limits[kind].max
			for d, c := range m.ToSAP {
				if c == "" || utf8.RuneCountInString(c) > max {
					t.Fatalf("%s: accepted SAP code %q for %q", kind, c, d)
				}
				back, ok := m.D365(c)
				if !ok {
					t.Fatalf("%s: SAP code %q from %q has no way back", kind, c, d)
				}
				if again, _ := m.SAP(back); again != c {
					t.Fatalf("%s: %q -> %q -> %q -> %q", kind, d, c, back, again)
				}
			}
			for c, d := range m.FromSAP {
				if got, ok := m.SAP(d); !ok || got != c {
					t.Fatalf("%s: fromSAP[%q] = %q but toSAP[%q] = %q, %v", kind, c, d, d, got, ok)
				}
			}
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Marshal(s)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("round trip changed the set:\nin:  %q\nout: %s", b, out)
		}
	})
}
