package orderpush_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/valuemap"
)

const validMapping = `{
  "header": {"salesOrderType": "OR", "salesOrganization": "1010", "distributionChannel": "10", "organizationDivision": "00", "defaultCurrency": "EUR"},
  "reference": {"mode": "extensionField", "field": "YY1_D365OrderID_SDH", "maxLength": 36},
  "writeBack": {"statusDescriptionColumn": "submitstatusdescription"}
}`

// withReference is validMapping with another reference section.
func withReference(ref string) string {
	return strings.Replace(validMapping, `{"mode": "extensionField", "field": "YY1_D365OrderID_SDH", "maxLength": 36}`, ref, 1)
}

const header = `"header": {"salesOrderType": "OR", "salesOrganization": "1010", "distributionChannel": "10", "organizationDivision": "00"}`
const reference = `"reference": {"mode": "orderNumber"}`

func TestParseMappingReportsEveryProblemTogether(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		values *valuemap.Set // nil: none given
		want   []string      // each must appear in the one error
	}{
		{
			name: "lengths and required header values",
			json: `{"header": {"salesOrderType": "ORDER", "salesOrganization": "", "distributionChannel": "100", "organizationDivision": "000", "defaultCurrency": "euro"},
			        ` + reference + `, "writeBack": {"statusDescriptionColumn": "x"}}`,
			values: values(t),
			want: []string{
				`header.salesOrderType "ORDER" is longer than SAP's 4 characters`,
				"header.salesOrganization is required",
				`header.distributionChannel "100" is longer than SAP's 2 characters`,
				`header.organizationDivision "000" is longer than SAP's 2 characters`,
				`header.defaultCurrency "euro" is not an ISO 4217 code`,
			},
		},
		{
			name: "rules: when and set keys, empty and long values",
			json: `{"header": {"salesOrderType": "OR", "salesOrganization": "1010", "distributionChannel": "10", "organizationDivision": "00",
			          "rules": [
			            {"when": {"country": "US"}, "set": {"salesOrganization": "1710"}},
			            {"when": {"currency": "USD"}, "set": {"plant": "1710", "currency": "USD"}},
			            {"when": {"currency": "GBP"}, "set": {"salesOrganization": "", "distributionChannel": "123"}},
			            {"when": {}, "set": {"salesOrganization": "1710"}},
			            {"when": {"currency": "CHF"}}
			          ]},
			        ` + reference + `, "writeBack": {"statusDescriptionColumn": "x"}}`,
			values: values(t),
			want: []string{
				"header.rules[0].when.country: can match only currency, customerAccountNumber, paymentTerms",
				"header.rules[1].set.plant: can set only",
				"header.rules[1].set.currency: can set only",
				`header.rules[2].set.salesOrganization "" must be 1-4 characters`,
				`header.rules[2].set.distributionChannel "123" must be 1-2 characters`,
				"header.rules[3] needs when and set",
				"header.rules[4] needs when and set",
			},
		},
		{
			name: "write-back columns and the read column",
			json: `{` + header + `, ` + reference + `, "read": {"purchaseOrderColumn": "New_CustomerPO"},
			        "writeBack": {"sapNumberColumn": "", "statusDescriptionColumn": "", "submitDateColumn": "submitdate"}}`,
			values: values(t),
			want: []string{
				"writeBack needs sapNumberColumn or statusDescriptionColumn",
				`read.purchaseOrderColumn "New_CustomerPO" is not a Dataverse column logical name`,
			},
		},
		{
			name: "no value maps",
			json: validMapping, values: nil,
			want: []string{"no value maps were given"},
		},
		{
			name: "value maps without payment terms",
			json: validMapping, values: unitsOnly(t),
			want: []string{`value maps: checking value maps: no "paymentTerms" map`},
		},
		{
			name:   "units and payment terms are no longer the mapping's",
			json:   strings.Replace(validMapping, `"writeBack"`, `"units": {"Each": "EA"}, "writeBack"`, 1),
			values: values(t),
			want:   []string{"parsing mapping", `unknown field "units"`},
		},
		{"no reference", `{` + header + `, "writeBack": {"statusDescriptionColumn": "x"}}`, values(t),
			[]string{`reference.mode "" must be extensionField, headerText or orderNumber`}},
		{"an unknown reference mode", withReference(`{"mode": "purchaseOrder"}`), values(t),
			[]string{`reference.mode "purchaseOrder" must be`}},
		{"an extension field that is not a custom header field", withReference(`{"mode": "extensionField", "field": "D365OrderID", "maxLength": 36}`), values(t),
			[]string{`reference.field "D365OrderID" is not a custom header field name`}},
		{"an extension field with a bad character", withReference(`{"mode": "extensionField", "field": "YY1_D365-Order_SDH", "maxLength": 36}`), values(t),
			[]string{`reference.field "YY1_D365-Order_SDH" is not a custom header field name`}},
		{"an extension field too short for a GUID", withReference(`{"mode": "extensionField", "field": "YY1_D365OrderID_SDH", "maxLength": 25}`), values(t),
			[]string{"reference.maxLength 25: the field must hold at least 26 characters"}},
		{"an extension field without its length", withReference(`{"mode": "extensionField", "field": "YY1_D365OrderID_SDH"}`), values(t),
			[]string{"reference.maxLength 0"}},
		{"a header text without text ID or language", withReference(`{"mode": "headerText"}`), values(t),
			[]string{`reference.textId "" must be an SAP text ID`, `reference.language "" must be a two-letter SAP language key`}},
		{"a header text with a lower-case, long text ID", withReference(`{"mode": "headerText", "textId": "z0001", "language": "ENG"}`), values(t),
			[]string{`reference.textId "z0001"`, `reference.language "ENG"`}},
		{"unknown key", `{"header": {"salesOrderType": "OR", "salesOrganization": "1010", "distributionChannel": "10", "organizationDivision": "00", "plant": "1010"},
			` + reference + `, "writeBack": {"statusDescriptionColumn": "x"}}`, values(t), []string{"parsing mapping", `unknown field "plant"`}},
		{"not JSON", `header: OR`, values(t), []string{"parsing mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := orderpush.ParseMapping([]byte(tt.json), tt.values)
			if err == nil {
				t.Fatalf("ParseMapping accepted it: %+v", m)
			}
			if m != nil {
				t.Errorf("a mapping came back with the error: %+v", m)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func unitsOnly(t *testing.T) *valuemap.Set {
	t.Helper()
	s, err := valuemap.Parse([]byte(`{"units": {"toSAP": {"Each": "EA"}, "fromSAP": {"EA": "Each"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseMappingAccepts(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		check func(t *testing.T, m *orderpush.Mapping)
	}{
		{"rules", strings.Replace(validMapping, `"defaultCurrency": "EUR"`, `"defaultCurrency": "EUR",
		  "rules": [{"when": {"currency": "USD", "paymentTerms": "2", "customerAccountNumber": "17100001"},
		             "set": {"salesOrderType": "TA", "salesOrganization": "1710", "distributionChannel": "20", "organizationDivision": "01"}}]`, 1),
			func(t *testing.T, m *orderpush.Mapping) {
				if len(m.Header.Rules) != 1 || m.Header.Rules[0].Set["salesOrganization"] != "1710" {
					t.Errorf("rules %+v", m.Header.Rules)
				}
			}},
		{"an extension field of exactly 26 characters, ZZ1_", withReference(`{"mode": "extensionField", "field": "ZZ1_D365_SDH", "maxLength": 26}`),
			func(t *testing.T, m *orderpush.Mapping) {
				if m.Reference.Field != "ZZ1_D365_SDH" || m.Reference.MaxLength != 26 {
					t.Errorf("reference %+v", m.Reference)
				}
			}},
		{"a header text", withReference(`{"mode": "headerText", "textId": "Z001", "language": "EN"}`),
			func(t *testing.T, m *orderpush.Mapping) {
				if m.Reference.Mode != orderpush.RefHeaderText || m.Reference.TextID != "Z001" {
					t.Errorf("reference %+v", m.Reference)
				}
			}},
		{"the order number", withReference(`{"mode": "orderNumber", "comment": "agreed with sales"}`),
			func(t *testing.T, m *orderpush.Mapping) {
				if m.Reference.Mode != orderpush.RefOrderNumber {
					t.Errorf("reference %+v", m.Reference)
				}
			}},
		{"a purchase order column", strings.Replace(validMapping, `"writeBack"`, `"read": {"purchaseOrderColumn": "new_customerpo"}, "writeBack"`, 1),
			func(t *testing.T, m *orderpush.Mapping) {
				if m.Read.PurchaseOrderColumn != "new_customerpo" {
					t.Errorf("read %+v", m.Read)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := orderpush.ParseMapping([]byte(tt.json), values(t))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}
}

func TestLoadMapping(t *testing.T) {
	t.Run("the shipped defaults", func(t *testing.T) {
		m := loadShipped(t)
		if m.Header.SalesOrderType == "" || m.Header.DefaultCurrency != "EUR" || m.WriteBack.StatusDescriptionColumn == "" ||
			m.Reference.Mode != orderpush.RefExtensionField || m.Reference.Field != refField || m.Reference.MaxLength != 36 {
			t.Errorf("shipped mapping %+v", m)
		}
	})
	t.Run("the shipped file on disk equals the embedded one", func(t *testing.T) {
		disk, err := orderpush.LoadMapping("mapping.json", values(t))
		if err != nil {
			t.Fatal(err)
		}
		emb := loadShipped(t)
		if disk.Header.SalesOrganization != emb.Header.SalesOrganization || disk.Reference != emb.Reference || disk.WriteBack != emb.WriteBack {
			t.Errorf("disk %+v, embedded %+v", disk, emb)
		}
	})
	t.Run("a copy", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "mapping.json")
		if err := os.WriteFile(p, []byte(strings.Replace(validMapping, `"1010"`, `"2010"`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := orderpush.LoadMapping(p, values(t))
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.SalesOrganization != "2010" {
			t.Errorf("sales organization %q", m.Header.SalesOrganization)
		}
	})
	t.Run("a missing file", func(t *testing.T) {
		_, err := orderpush.LoadMapping(filepath.Join(t.TempDir(), "absent.json"), values(t))
		if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "reading mapping file") {
			t.Errorf("err = %v, want a wrapped not-exist", err)
		}
	})
	t.Run("an invalid copy", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "mapping.json")
		if err := os.WriteFile(p, []byte(strings.Replace(validMapping, `"OR"`, `"ORDER"`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := orderpush.LoadMapping(p, values(t)); err == nil || !strings.Contains(err.Error(), "salesOrderType") {
			t.Errorf("err = %v", err)
		}
	})
}

func fieldsOf(t *testing.T, err error) []problem.FieldError {
	t.Helper()
	var pe *problem.Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *problem.Error", err, err)
	}
	return pe.Fields
}

func fieldNames(fs []problem.FieldError) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Field)
	}
	return out
}
