// Package valuemap gives the value maps between Dynamics 365 and SAP (units, payment terms, ...), one Map per kind,
// with both directions written out in the file. The reverse direction is never inferred: two D365 values may
// share one SAP code ("Primary Unit" and "Each" are both EA), so which one SAP's code reads back as is a decision
// the file has to state.
package valuemap

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Kinds of value map the app knows. The SAP field each one fills sets the longest code it may hold.
const (
	Units        = "units"
	PaymentTerms = "paymentTerms"
)

//go:embed valuemaps.json
var defaults []byte

// Map is the value map of one kind. ToSAP takes a D365 value to its SAP code, FromSAP an SAP code to its D365 value;
// a Map from Parse has both directions agreeing (see Parse). Treat it as read-only: it is shared by every caller.
type Map struct {
	Kind    string
	Comment string
	ToSAP   map[string]string
	FromSAP map[string]string
}

// SAP returns the SAP code for a D365 value. Values are matched exactly, case and spaces included.
func (m *Map) SAP(d365 string) (string, bool) {
	if m == nil {
		return "", false
	}
	v, ok := m.ToSAP[d365]
	return v, ok
}

// D365 returns the D365 value for an SAP code. Codes are matched exactly.
func (m *Map) D365(sap string) (string, bool) {
	if m == nil {
		return "", false
	}
	v, ok := m.FromSAP[sap]
	return v, ok
}

// Set is every value map read from one file.
type Set struct {
	Comment string
	maps    map[string]*Map
}

// Load reads the value-map file at path, or the shipped defaults (valuemaps.json beside this code) when path is
// empty, and validates it.
func Load(path string) (*Set, error) {
	if path == "" {
		s, err := Parse(defaults)
		if err != nil {
			return nil, fmt.Errorf("loading the shipped value maps: %w", err)
		}
		return s, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading value maps: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("loading value maps from %s: %w", path, err)
	}
	return s, nil
}

// Parse decodes and validates a value-map file. A file that is not JSON, or not shaped like one, fails with the
// decoder's error; every other problem (unknown or repeated fields, empty or over-long values, directions that
// disagree) is collected and returned together as an *InvalidError.
func Parse(b []byte) (*Set, error) {
	s, problems, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("parsing value maps: %w", err)
	}
	for _, kind := range s.Kinds() {
		problems = append(problems, check(s.maps[kind])...)
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, &InvalidError{Problems: problems}
	}
	return s, nil
}

// InvalidError lists every problem found in a value-map file, sorted, so one start-up shows them all.
type InvalidError struct {
	Problems []string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("validating value maps: %d problem(s): %s", len(e.Problems), strings.Join(e.Problems, "; "))
}

// Get returns the map of one kind, if the file has it.
func (s *Set) Get(kind string) (*Map, bool) {
	m, ok := s.maps[kind]
	return m, ok
}

// Must returns the map of one kind and panics when the file lacks it. Call Require at start-up first, so a missing
// kind stops the app there rather than in the middle of a request.
func (s *Set) Must(kind string) *Map {
	m, ok := s.maps[kind]
	if !ok {
		panic(fmt.Sprintf("valuemap: the value maps have no %q map (they have %s)", kind, strings.Join(s.Kinds(), ", ")))
	}
	return m
}

// Require reports, in one error, every kind the set lacks.
func (s *Set) Require(kinds ...string) error {
	var missing []string
	for _, k := range kinds {
		if _, ok := s.maps[k]; !ok {
			missing = append(missing, fmt.Sprintf("%q", k))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("checking value maps: no %s map in the file", strings.Join(missing, ", "))
	}
	return nil
}

// Kinds returns the kinds in the set, sorted.
func (s *Set) Kinds() []string {
	return sortedKeys(s.maps)
}

type kindJSON struct {
	Comment string            `json:"comment,omitempty"`
	ToSAP   map[string]string `json:"toSAP"`
	FromSAP map[string]string `json:"fromSAP"`
}

// MarshalJSON writes the set in the file format Parse reads, so a set can be written back out or compared.
func (s *Set) MarshalJSON() ([]byte, error) {
	out := make(map[string]any, len(s.maps)+1)
	if s.Comment != "" {
		out["comment"] = s.Comment
	}
	for k, m := range s.maps {
		kj := kindJSON{Comment: m.Comment, ToSAP: m.ToSAP, FromSAP: m.FromSAP}
		// A nil map would be written as null, which Parse refuses.
		if kj.ToSAP == nil {
			kj.ToSAP = map[string]string{}
		}
		if kj.FromSAP == nil {
			kj.FromSAP = map[string]string{}
		}
		out[k] = kj
	}
	return json.Marshal(out)
}
