package dvsim

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/kit"
)

// kitDir is the reference kit (see infra/local/kit).
func kitDir(t *testing.T) string { return kit.Dir(t, "dataverse") }

// cdmAttributes reads attributes.tsv: entity, attribute, type.
func cdmAttributes(t *testing.T) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(kitDir(t), "dataverse", "cdm", "attributes.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 {
			continue
		}
		if out[parts[0]] == nil {
			out[parts[0]] = map[string]string{}
		}
		out[parts[0]][parts[1]] = parts[2]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// compatible: option sets are Int32 on the wire and listed as String enumerations in the CDM files.
func compatible(sim Type, cdm string) bool {
	if sim == OptionSet {
		return cdm == "String" || cdm == "Int32"
	}
	return string(sim) == cdm
}

// beyondCDM are tables the kit's CDM files do not describe, with their string lengths as Microsoft's table
// reference gives them (learn.microsoft.com/dynamics365/sales/developer/entities/uomschedule: Unit Group, name
// 200, baseuomname 100, description a memo), so the simulator still enforces the real lengths.
var beyondCDM = map[string]map[string]int{
	"uomschedule": {"name": 200, "baseuomname": 100, "description": 2000},
}

// Every column the simulator accepts, and so every column the client or the product can write to it,
// exists in the CDM list with a compatible type.
func TestColumnsMatchCDM(t *testing.T) {
	cdm := cdmAttributes(t)
	for _, tb := range StandardTables() {
		if beyondCDM[tb.Entity] != nil {
			continue
		}
		t.Run(tb.Set, func(t *testing.T) {
			attrs, ok := cdm[tb.Entity]
			if !ok {
				t.Fatalf("entity %s not in the CDM list", tb.Entity)
			}
			if attrs[tb.Key] != "Guid" {
				t.Errorf("key %s: CDM type %q, want Guid", tb.Key, attrs[tb.Key])
			}
			for _, c := range tb.Columns {
				got, ok := attrs[c.Name]
				if !ok {
					t.Errorf("column %s.%s is not in the CDM list", tb.Entity, c.Name)
					continue
				}
				if !compatible(c.Type, got) {
					t.Errorf("column %s.%s: simulator type %s, CDM type %s", tb.Entity, c.Name, c.Type, got)
				}
			}
			for _, k := range tb.AltKeys {
				for _, col := range k {
					if attrs[col] != "String" {
						t.Errorf("alternate key %s.%s: CDM type %q", tb.Entity, col, attrs[col])
					}
				}
			}
		})
	}
}

func TestCustomColumnsAreAccepted(t *testing.T) {
	s, err := New(Options{ExtraColumns: map[string][]Column{"salesorder": {{Name: "sap_salesorder", Type: String}}}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.Insert("salesorders", map[string]any{"name": "SO", "sap_salesorder": "0000012345"})
	if err != nil {
		t.Fatal(err)
	}
	row, _ := s.Get("salesorders", id)
	if row["sap_salesorder"] != "0000012345" {
		t.Errorf("row = %v", row)
	}
	if _, err := New(Options{ExtraColumns: map[string][]Column{"salesorder": {{Name: "name", Type: String}}}}); err == nil {
		t.Error("a duplicate column was accepted")
	}
}

// cdmMaxLengths reads semanticDomain.maxLength of every attribute in the CDM entity files.
func cdmMaxLengths(t *testing.T) map[string]int {
	t.Helper()
	files := map[string]string{"salesorder": "SalesOrder.cdm.json", "salesorderdetail": "SalesOrderDetail.cdm.json",
		"account": "Account.cdm.json", "product": "Product.cdm.json", "pricelevel": "PriceLevel.cdm.json",
		"productpricelevel": "ProductPriceLevel.cdm.json", "uom": "UoM.cdm.json", "invoice": "Invoice.cdm.json",
		"invoicedetail": "InvoiceDetail.cdm.json"}
	out := map[string]int{}
	for entity, f := range files {
		b, err := os.ReadFile(filepath.Join(kitDir(t), "dataverse", "cdm", f))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if name, ok := x["name"].(string); ok {
					if sd, ok := x["semanticDomain"].(map[string]any); ok {
						if n, ok := sd["maxLength"].(float64); ok {
							if _, seen := out[entity+"."+name]; !seen {
								out[entity+"."+name] = int(n)
							}
						}
					}
				}
				for _, c := range x {
					walk(c)
				}
			case []any:
				for _, c := range x {
					walk(c)
				}
			}
		}
		walk(doc)
	}
	return out
}

// String columns enforce the CDM's maximum lengths.
func TestMaxLengthsMatchCDM(t *testing.T) {
	lengths := cdmMaxLengths(t)
	for _, tb := range StandardTables() {
		for _, c := range tb.Columns {
			if c.Type != String {
				continue
			}
			want, ok := lengths[tb.Entity+"."+c.Name]
			if beyond := beyondCDM[tb.Entity]; beyond != nil {
				want, ok = beyond[c.Name]
			}
			if !ok {
				t.Errorf("%s.%s: no maxLength in the CDM files", tb.Entity, c.Name)
				continue
			}
			if c.MaxLength != want {
				t.Errorf("%s.%s: MaxLength %d, CDM %d", tb.Entity, c.Name, c.MaxLength, want)
			}
		}
	}
}
