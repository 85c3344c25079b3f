package dvsim

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// An or of eq terms on one column matches as its terms would one by one, whether the column is the primary key
// (read by key), a one-column alternate key (read through its index) or a plain column (scanned); text compares
// without case, an and with another condition still applies it, and an id that does not exist matches nothing.
func TestFilterOfEqTermsMatchesEveryTerm(t *testing.T) {
	r := start(t, Options{})
	ids := map[string]string{}
	for i, name := range []string{"Alpha", "Beta", "Gamma", "Delta"} {
		id, err := r.Insert("accounts", map[string]any{"name": name, "accountnumber": fmt.Sprintf("N-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	missing := "00000000-0000-0000-0000-00000000dead"
	tests := []struct {
		name, filter string
		want         []string
	}{
		{"primary key", fmt.Sprintf("accountid eq %s or accountid eq %s or accountid eq %s", ids["Alpha"], ids["Gamma"], missing), []string{"Alpha", "Gamma"}},
		{"primary key in upper case", "accountid eq " + strings.ToUpper(ids["Beta"]), []string{"Beta"}},
		{"alternate key", "accountnumber eq 'N-1' or accountnumber eq 'n-3' or accountnumber eq 'N-9'", []string{"Beta", "Delta"}},
		{"plain column", "name eq 'alpha' or name eq 'DELTA'", []string{"Alpha", "Delta"}},
		{"and narrows the key set", fmt.Sprintf("name ne 'Alpha' and (accountid eq %s or accountid eq %s)", ids["Alpha"], ids["Beta"]), []string{"Beta"}},
		{"key set and a condition after it", fmt.Sprintf("(accountid eq %s or accountid eq %s) and name eq 'Alpha'", ids["Alpha"], ids["Beta"]), []string{"Alpha"}},
		{"or across columns scans", fmt.Sprintf("accountid eq %s or name eq 'Gamma'", ids["Alpha"]), []string{"Alpha", "Gamma"}},
		{"not of a key set", fmt.Sprintf("not (accountid eq %s or accountid eq %s)", ids["Alpha"], ids["Beta"]), []string{"Delta", "Gamma"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, r, "GET", "accounts?"+query("$select", "name", "$filter", tc.filter), "")
			if a.status != 200 {
				t.Fatalf("status %d %s", a.status, a.message)
			}
			var got []string
			for _, v := range a.body["value"].([]any) {
				got = append(got, v.(map[string]any)["name"].(string))
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("matched %v; want %v", got, tc.want)
			}
		})
	}
}
