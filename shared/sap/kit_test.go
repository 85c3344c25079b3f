package sap

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"
)

// kitDir finds the reference kit at ../shared beside the repository root. Without it the test skips, except in CI
// (CI=true), where it fails.
func kitDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	kit := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(filepath.Join(kit, "sap", "edmx")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the reference kit is missing at %s (CI=true, so this is a failure)", kit)
		}
		t.Skipf("the reference kit is missing at %s; skipping", kit)
	}
	return kit
}

type edmxDoc struct {
	Schemas []struct {
		Namespace    string     `xml:"Namespace,attr"`
		EntityTypes  []edmxType `xml:"EntityType"`
		ComplexTypes []edmxType `xml:"ComplexType"`
	} `xml:"DataServices>Schema"`
}

type edmxType struct {
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
	} `xml:"Property"`
	Navs []struct {
		Name string `xml:"Name,attr"`
	} `xml:"NavigationProperty"`
}

func loadEDMX(t testing.TB, kit, service string) map[string]edmxType {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kit, "sap", "edmx", service+".edmx"))
	if err != nil {
		t.Fatalf("reading EDMX of %s: %v", service, err)
	}
	var doc edmxDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parsing EDMX of %s: %v", service, err)
	}
	out := map[string]edmxType{}
	for _, s := range doc.Schemas {
		for _, et := range append(s.EntityTypes, s.ComplexTypes...) {
			out[et.Name] = et
		}
	}
	return out
}
