package orderpush_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/problem"
)

const validMapping = `{
  "header": {"salesOrderType": "OR", "salesOrganization": "1010", "distributionChannel": "10", "organizationDivision": "00", "defaultCurrency": "EUR"},
  "paymentTerms": {"1": "0001"},
  "units": {"Each": "EA"},
  "writeBack": {"statusDescriptionColumn": "submitstatusdescription"}
}`

func TestParseMappingReportsEveryProblemTogether(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []string // each must appear in the one error
	}{
		{
			name: "lengths and required header values",
			json: `{"header": {"salesOrderType": "ORDER", "salesOrganization": "", "distributionChannel": "100", "organizationDivision": "000", "defaultCurrency": "euro"},
			        "writeBack": {"statusDescriptionColumn": "x"}}`,
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
			        "writeBack": {"statusDescriptionColumn": "x"}}`,
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
			name: "value maps and write-back columns",
			json: `{"header": {"salesOrderType": "OR", "salesOrganization": "1010", "distributionChannel": "10", "organizationDivision": "00"},
			        "paymentTerms": {"1": "00001", "2": ""}, "units": {"Each": "EACH", "Box": ""},
			        "writeBack": {"sapNumberColumn": "", "statusDescriptionColumn": "", "submitDateColumn": "submitdate"}}`,
			want: []string{
				`paymentTerms["1"] "00001" must be 1-4 characters`,
				`paymentTerms["2"] "" must be 1-4 characters`,
				`units["Each"] "EACH" must be 1-3 characters`,
				`units["Box"] "" must be 1-3 characters`,
				"writeBack needs sapNumberColumn or statusDescriptionColumn",
			},
		},
		{
			name: "unknown key",
			json: `{"header": {"salesOrderType": "OR", "salesOrganization": "1010", "distributionChannel": "10", "organizationDivision": "00", "plant": "1010"},
			        "writeBack": {"statusDescriptionColumn": "x"}}`,
			want: []string{"parsing mapping", `unknown field "plant"`},
		},
		{
			name: "not JSON",
			json: `header: OR`,
			want: []string{"parsing mapping"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := orderpush.ParseMapping([]byte(tt.json))
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

func TestParseMappingAcceptsValidRules(t *testing.T) {
	b := strings.Replace(validMapping, `"defaultCurrency": "EUR"`, `"defaultCurrency": "EUR",
	  "rules": [{"when": {"currency": "USD", "paymentTerms": "2", "customerAccountNumber": "17100001"},
	             "set": {"salesOrderType": "TA", "salesOrganization": "1710", "distributionChannel": "20", "organizationDivision": "01"}}]`, 1)
	m, err := orderpush.ParseMapping([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Header.Rules) != 1 || m.Header.Rules[0].Set["salesOrganization"] != "1710" {
		t.Errorf("rules %+v", m.Header.Rules)
	}
}

func TestLoadMapping(t *testing.T) {
	t.Run("the shipped defaults", func(t *testing.T) {
		m, err := orderpush.LoadMapping("")
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.SalesOrderType == "" || m.Header.DefaultCurrency != "EUR" || m.Units["Each"] != "EA" || m.WriteBack.StatusDescriptionColumn == "" {
			t.Errorf("shipped mapping %+v", m)
		}
	})
	t.Run("the shipped file on disk equals the embedded one", func(t *testing.T) {
		disk, err := orderpush.LoadMapping("mapping.json")
		if err != nil {
			t.Fatal(err)
		}
		emb, _ := orderpush.LoadMapping("")
		if disk.Header.SalesOrganization != emb.Header.SalesOrganization || len(disk.Units) != len(emb.Units) {
			t.Errorf("disk %+v, embedded %+v", disk, emb)
		}
	})
	t.Run("a copy", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "mapping.json")
		if err := os.WriteFile(p, []byte(strings.Replace(validMapping, `"1010"`, `"2010"`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := orderpush.LoadMapping(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.SalesOrganization != "2010" {
			t.Errorf("sales organization %q", m.Header.SalesOrganization)
		}
	})
	t.Run("a missing file", func(t *testing.T) {
		_, err := orderpush.LoadMapping(filepath.Join(t.TempDir(), "absent.json"))
		if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "reading mapping file") {
			t.Errorf("err = %v, want a wrapped not-exist", err)
		}
	})
	t.Run("an invalid copy", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "mapping.json")
		if err := os.WriteFile(p, []byte(strings.Replace(validMapping, `"OR"`, `"ORDER"`, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := orderpush.LoadMapping(p); err == nil || !strings.Contains(err.Error(), "salesOrderType") {
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

func shippedMapping(t *testing.T) *orderpush.Mapping {
	t.Helper()
	m, err := orderpush.LoadMapping("")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMapBuildsTheSAPPayload(t *testing.T) {
	m := shippedMapping(t)
	o := inlineOrder()
	o.Lines = append(o.Lines, orderpush.OrderLine{ProductNumber: " TG13 ", Quantity: "0.1"}, orderpush.OrderLine{ProductNumber: "TG14", Quantity: "999999999999.999", Unit: "Box"})
	so, err := m.Map(o, "PO-4711")
	if err != nil {
		t.Fatal(err)
	}
	if so.SalesOrderType != "OR" || so.SalesOrganization != "1010" || so.DistributionChannel != "10" || so.OrganizationDivision != "00" {
		t.Errorf("org data %+v", so)
	}
	if so.SoldToParty != soldTo || so.PurchaseOrderByCustomer != "PO-4711" || so.TransactionCurrency != "EUR" || so.CustomerPaymentTerms != "0001" {
		t.Errorf("header %+v", so)
	}
	if got := so.RequestedDeliveryDate.Format("2006-01-02"); got != "2026-04-01" {
		t.Errorf("delivery date %s", got)
	}
	want := []struct{ item, material, qty, unit string }{
		{"10", "TG11", "2", "EA"}, {"20", "TG12", "1.005", "KG"}, {"30", "TG13", "0.1", ""}, {"40", "TG14", "999999999999.999", "BOX"},
	}
	if len(so.Items) != len(want) {
		t.Fatalf("%d items, want %d", len(so.Items), len(want))
	}
	for i, w := range want {
		it := so.Items[i]
		// The decimal keeps its text: no float ever rounds 1.005 or 0.1.
		if it.SalesOrderItem != w.item || it.Material != w.material || it.RequestedQuantity.String() != w.qty || it.RequestedQuantityUnit != w.unit {
			t.Errorf("item %d = {%s %s %s %s}, want %+v", i, it.SalesOrderItem, it.Material, it.RequestedQuantity, it.RequestedQuantityUnit, w)
		}
	}
}

func TestMapItemNumbersRunToTheLastLine(t *testing.T) {
	o := inlineOrder()
	o.Lines = nil
	for range orderpush.MaxLines {
		o.Lines = append(o.Lines, orderpush.OrderLine{ProductNumber: "TG11", Quantity: "1"})
	}
	so, err := shippedMapping(t).Map(o, "PO")
	if err != nil {
		t.Fatal(err)
	}
	if got := so.Items[len(so.Items)-1].SalesOrderItem; got != "9990" {
		t.Errorf("last item %q, want 9990", got)
	}
}

func TestMapReportsEveryProblemAtOnce(t *testing.T) {
	m := shippedMapping(t)
	m.Header.DefaultCurrency = ""
	o := inlineOrder()
	o.Currency = ""
	o.CustomerAccountNumber = "CUSTOMER-00042"
	o.PaymentTerms = "9"
	o.Lines = []orderpush.OrderLine{
		{ProductNumber: "TG11", Quantity: "1", Unit: "Dozen"},
		{ProductNumber: strings.Repeat("M", 41), Quantity: "1.0005"},
		{ProductNumber: "TG12", Quantity: "1e3"},
		{ProductNumber: "TG13", Quantity: "1234567890123.5"},
	}
	po := strings.Repeat("P", 36)
	_, err := m.Map(o, po)
	if problem.KindOf(err) != problem.Invalid {
		t.Fatalf("err = %v, want invalid", err)
	}
	want := []string{"currency", "customerAccountNumber", "purchaseOrderNumber", "paymentTerms", "lines/0/unit",
		"lines/1/productNumber", "lines/1/quantity", "lines/2/quantity", "lines/3/quantity"}
	got := fieldNames(fieldsOf(t, err))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("fields %v\nwant   %v", got, want)
	}
}

func TestMapPurchaseOrderLength(t *testing.T) {
	m := shippedMapping(t)
	tests := []struct {
		po string
		ok bool
	}{{strings.Repeat("P", 35), true}, {strings.Repeat("P", 36), false}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d characters", len(tt.po)), func(t *testing.T) {
			_, err := m.Map(inlineOrder(), tt.po)
			if (err == nil) != tt.ok {
				t.Errorf("Map with a %d-character reference: err = %v", len(tt.po), err)
			}
		})
	}
}

func TestMapRules(t *testing.T) {
	b := strings.Replace(validMapping, `"defaultCurrency": "EUR"`, `"defaultCurrency": "EUR",
	  "rules": [
	    {"when": {"currency": "USD", "customerAccountNumber": "VIP"}, "set": {"salesOrganization": "1720", "distributionChannel": "20"}},
	    {"when": {"currency": "USD"}, "set": {"salesOrganization": "1710"}},
	    {"when": {"currency": "USD"}, "set": {"salesOrganization": "9999"}},
	    {"when": {"paymentTerms": "1"}, "set": {"salesOrderType": "TA"}}
	  ]`, 1)
	m, err := orderpush.ParseMapping([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, currency, customer, terms string
		defaultCurrency                 string
		org, channel, orderType         string
	}{
		{"no rule matches", "EUR", soldTo, "", "EUR", "1010", "10", "OR"},
		{"USD goes to 1710; the first match wins over the third", "USD", soldTo, "", "EUR", "1710", "10", "OR"},
		{"all of when must match", "USD", "VIP", "", "EUR", "1720", "20", "OR"},
		{"only the first match applies, not a later one too", "USD", soldTo, "1", "EUR", "1710", "10", "OR"},
		{"payment terms rule", "EUR", soldTo, "1", "EUR", "1010", "10", "TA"},
		{"the default currency takes part in rules", "", soldTo, "", "USD", "1710", "10", "OR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mm := *m
			mm.Header.DefaultCurrency = tt.defaultCurrency
			o := inlineOrder()
			o.Currency, o.CustomerAccountNumber, o.PaymentTerms = tt.currency, tt.customer, tt.terms
			o.Lines = []orderpush.OrderLine{{ProductNumber: "TG11", Quantity: "1", Unit: "Each"}}
			so, err := mm.Map(o, "PO")
			if err != nil {
				t.Fatal(err)
			}
			if so.SalesOrganization != tt.org || so.DistributionChannel != tt.channel || so.SalesOrderType != tt.orderType {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", so.SalesOrganization, so.DistributionChannel, so.SalesOrderType, tt.org, tt.channel, tt.orderType)
			}
			wantCur := tt.currency
			if wantCur == "" {
				wantCur = tt.defaultCurrency
			}
			if so.TransactionCurrency != wantCur {
				t.Errorf("currency %q, want %q", so.TransactionCurrency, wantCur)
			}
			// A rule never changes the mapping itself.
			if m.Header.SalesOrganization != "1010" {
				t.Fatalf("the mapping changed: %+v", m.Header)
			}
		})
	}
}

func TestShippedRuleSendsUSDTo1710(t *testing.T) {
	o := inlineOrder()
	o.Currency = "USD"
	so, err := shippedMapping(t).Map(o, "PO")
	if err != nil {
		t.Fatal(err)
	}
	if so.SalesOrganization != "1710" || so.TransactionCurrency != "USD" {
		t.Errorf("USD order: %s %s", so.SalesOrganization, so.TransactionCurrency)
	}
}
