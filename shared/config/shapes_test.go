package config

import "testing"

func TestShapes(t *testing.T) {
	tests := []struct {
		name string
		m    matcher
		ok   []string
		bad  []string
	}{
		{"guid", guidShape, []string{"11111111-2222-3333-4444-555555555555", "ABCDEF01-abcd-4ef0-8123-456789abcdef"},
			[]string{"", "11111111-2222-3333-4444-55555555555", "11111111x2222-3333-4444-555555555555", "g1111111-2222-3333-4444-555555555555", "11111111-2222-3333-4444-5555555555555"}},
		{"sap client", sapClient, []string{"000", "100", "999"}, []string{"", "10", "1000", "1a0"}},
		{"account name", accountName, []string{"abc", "prodacct01", "abcdefghijklmnopqrstuvwx"}, []string{"ab", "Prod", "prod_acct", "abcdefghijklmnopqrstuvwxy"}},
		{"table name", tableName, []string{"abc", "integrationstate", "State2"}, []string{"ab", "2state", "state-table", "state_table"}},
		{"queue or container", storageName, []string{"abc", "sap-events", "a1-b2-c3", "dead-letters"},
			[]string{"ab", "-abc", "abc-", "a--b", "SAP", "sap_events", "s p"}},
		{"cron name", cronNames, []string{"Mon", "jan"}, []string{"Mo", "Mond", "M0n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.ok {
				if !tt.m.MatchString(s) {
					t.Errorf("%q refused", s)
				}
			}
			for _, s := range tt.bad {
				if tt.m.MatchString(s) {
					t.Errorf("%q accepted", s)
				}
			}
		})
	}
}
