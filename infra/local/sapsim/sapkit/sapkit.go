// Package sapkit finds the reference kit (../shared beside the repository) for tests and reads SAP's EDMX from it.
package sapkit

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/d365sap/d365sap/infra/local/kit"
)

// Dir is the reference kit, with SAP's EDMX files (see infra/local/kit).
func Dir(t testing.TB) string { return kit.Dir(t, filepath.Join("sap", "edmx")) }

// Doc is the part of an EDMX document the tests compare: schemas with their entity and complex types.
type Doc struct {
	Schemas []struct {
		Namespace    string       `xml:"Namespace,attr"`
		EntityTypes  []EntityType `xml:"EntityType"`
		ComplexTypes []EntityType `xml:"ComplexType"`
	} `xml:"DataServices>Schema"`
}

// EntityType is an EDMX EntityType or ComplexType: keys, properties with their facets, navigation properties.
type EntityType struct {
	Name string `xml:"Name,attr"`
	Keys []struct {
		Name string `xml:"Name,attr"`
	} `xml:"Key>PropertyRef"`
	Props []struct {
		Name            string `xml:"Name,attr"`
		Type            string `xml:"Type,attr"`
		MaxLength       string `xml:"MaxLength,attr"`
		Precision       string `xml:"Precision,attr"`
		Scale           string `xml:"Scale,attr"`
		Nullable        string `xml:"Nullable,attr"`
		ConcurrencyMode string `xml:"ConcurrencyMode,attr"`
		// Filterable is sap:filterable ("false" for a property $filter may not name).
		Filterable string `xml:"http://www.sap.com/Protocols/SAPData filterable,attr"`
	} `xml:"Property"`
	Navs []struct {
		Name string `xml:"Name,attr"`
	} `xml:"NavigationProperty"`
}

// LoadEDMX reads the EDMX of a service from the kit and indexes its types by name.
func LoadEDMX(t testing.TB, kit, service string) map[string]EntityType {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kit, "sap", "edmx", service+".edmx"))
	if err != nil {
		t.Fatalf("reading EDMX of %s: %v", service, err)
	}
	var doc Doc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parsing EDMX of %s: %v", service, err)
	}
	out := map[string]EntityType{}
	for _, s := range doc.Schemas {
		for _, et := range append(s.EntityTypes, s.ComplexTypes...) {
			out[et.Name] = et
		}
	}
	return out
}
