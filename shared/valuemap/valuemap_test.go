package valuemap

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultsLookUpBothDirections(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatalf("Load(\"\"): %v", err)
	}
	if err := s.Require(Units, PaymentTerms); err != nil {
		t.Fatal(err)
	}
	units, terms := s.Must(Units), s.Must(PaymentTerms)
	tests := []struct {
		name    string
		look    func(string) (string, bool)
		in, out string
		ok      bool
	}{
		{"primary unit goes to EA", units.SAP, "Primary Unit", "EA", true},
		{"each goes to EA", units.SAP, "Each", "EA", true},
		{"EA reads back as Each, as the file states", units.D365, "EA", "Each", true},
		{"box goes to BOX", units.SAP, "Box", "BOX", true},
		{"litre reads back", units.D365, "L", "Litre", true},
		{"names are case-sensitive", units.SAP, "each", "", false},
		{"unknown SAP unit", units.D365, "CS", "", false},
		{"payment terms option 3", terms.SAP, "3", "0003", true},
		{"payment terms key reads back", terms.D365, "0004", "4", true},
		{"option values are not padded", terms.SAP, "03", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.look(tt.in)
			if got != tt.out || ok != tt.ok {
				t.Errorf("lookup(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.out, tt.ok)
			}
		})
	}
}

func TestShippedDefaultsKeepTheOrderPushValues(t *testing.T) {
	// The order push's mapping.json held these one-way maps before they moved here; the move must not change them.
	var old struct {
		PaymentTerms map[string]string `json:"paymentTerms"`
		Units        map[string]string `json:"units"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "functions", "orderpush", "mapping.json"))
	if err != nil {
		t.Skipf("the order push mapping is gone: %v", err)
	}
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatal(err)
	}
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if old.Units != nil && !reflect.DeepEqual(s.Must(Units).ToSAP, old.Units) {
		t.Errorf("units toSAP = %v, the order push had %v", s.Must(Units).ToSAP, old.Units)
	}
	if old.PaymentTerms != nil && !reflect.DeepEqual(s.Must(PaymentTerms).ToSAP, old.PaymentTerms) {
		t.Errorf("paymentTerms toSAP = %v, the order push had %v", s.Must(PaymentTerms).ToSAP, old.PaymentTerms)
	}
}

func TestLoadReadsAFile(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "custom.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Must(Units).SAP("Carton"); got != "KAR" {
		t.Errorf("Carton = %q, want KAR", got)
	}
	if _, ok := s.Get(PaymentTerms); ok {
		t.Error("Get(paymentTerms) found a map the file does not have")
	}
	err = s.Require(Units, PaymentTerms)
	if err == nil || !strings.Contains(err.Error(), `"paymentTerms"`) {
		t.Errorf("Require = %v, want it to name paymentTerms", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load = %v, want an error wrapping os.ErrNotExist", err)
	}
}

func TestMustPanicsNamingTheKind(t *testing.T) {
	s, err := Parse([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"units"`) {
			t.Errorf("recovered %v, want a panic naming units", r)
		}
	}()
	s.Must(Units)
}

func TestNilMapFindsNothing(t *testing.T) {
	var m *Map
	if _, ok := m.SAP("Each"); ok {
		t.Error("nil map found a SAP code")
	}
	if _, ok := m.D365("EA"); ok {
		t.Error("nil map found a D365 value")
	}
}

func TestMarshalJSONRoundTrips(t *testing.T) {
	s, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal(defaults)): %v\n%s", err, b)
	}
	if !reflect.DeepEqual(s, again) {
		t.Errorf("round trip changed the set:\n%s", b)
	}
}
