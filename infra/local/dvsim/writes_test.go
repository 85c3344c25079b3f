package dvsim

import (
	"fmt"
	"strings"
	"testing"
)

// changeset builds a $batch body of one changeset holding the given "METHOD path body" requests.
func changeset(parts ...[3]string) (contentType, body string) {
	var b strings.Builder
	b.WriteString("--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_1\r\n\r\n")
	for i, p := range parts {
		fmt.Fprintf(&b, "--changeset_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n", i+1)
		fmt.Fprintf(&b, "%s /api/data/v9.2/%s HTTP/1.1\r\nContent-Type: application/json\r\n\r\n%s\r\n", p[0], p[1], p[2])
	}
	b.WriteString("--changeset_1--\r\n--batch_1--\r\n")
	return "multipart/mixed; boundary=batch_1", b.String()
}

// Every row write is counted in the table it went to, bulk targets one by one; writes a failed changeset or bulk
// call undid are not counted, so "a rerun made no writes" can be asserted.
func TestWritesCountEveryRowWrite(t *testing.T) {
	type want map[string]WriteCounts
	tests := []struct {
		name string
		do   func(t *testing.T, r *Running, account, order string) answer
		want want
	}{
		{"create", func(t *testing.T, r *Running, _, _ string) answer {
			return send(t, r, "POST", "accounts", `{"name":"new"}`)
		}, want{"accounts": {Creates: 1}}},
		{"update repeating the stored value", func(t *testing.T, r *Running, account, _ string) answer {
			return send(t, r, "PATCH", "accounts("+account+")", `{"name":"Customer 1"}`)
		}, want{"accounts": {Updates: 1, Unchanged: 1}}},
		{"update changing only the case is a change", func(t *testing.T, r *Running, account, _ string) answer {
			return send(t, r, "PATCH", "accounts("+account+")", `{"name":"CUSTOMER 1"}`)
		}, want{"accounts": {Updates: 1}}},
		{"update of a column the row never had", func(t *testing.T, r *Running, account, _ string) answer {
			return send(t, r, "PATCH", "accounts("+account+")", `{"name":"Customer 1","telephone1":"+49 1"}`)
		}, want{"accounts": {Updates: 1}}},
		{"state change repeating the state", func(t *testing.T, r *Running, account, _ string) answer {
			return send(t, r, "PATCH", "accounts("+account+")", `{"statecode":0,"statuscode":1}`)
		}, want{"accounts": {Updates: 1, Unchanged: 1}}},
		{"state change", func(t *testing.T, r *Running, account, _ string) answer {
			return send(t, r, "PATCH", "accounts("+account+")", `{"statecode":1,"statuscode":2}`)
		}, want{"accounts": {StateChanges: 1}}},
		{"state change with a column", func(t *testing.T, r *Running, account, _ string) answer {
			return send(t, r, "PATCH", "accounts("+account+")", `{"statecode":1,"statuscode":2,"name":"x"}`)
		}, want{"accounts": {Updates: 1, StateChanges: 1}}},
		{"upsert that creates", func(t *testing.T, r *Running, _, _ string) answer {
			return send(t, r, "PATCH", "accounts(accountnumber='A-9')", `{"name":"nine"}`)
		}, want{"accounts": {Creates: 1}}},
		{"bulk targets one by one", func(t *testing.T, r *Running, _, _ string) answer {
			var targets []string
			for i := 0; i < 3; i++ {
				targets = append(targets, fmt.Sprintf(`{"@odata.type":"Microsoft.Dynamics.CRM.account","@odata.id":"accounts(accountnumber='B-%d')","name":"b"}`, i))
			}
			return send(t, r, "POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", `{"Targets":[`+strings.Join(targets, ",")+`]}`)
		}, want{"accounts": {Creates: 3}}},
		{"failed bulk call", func(t *testing.T, r *Running, account, _ string) answer {
			return send(t, r, "POST", "accounts/Microsoft.Dynamics.CRM.UpdateMultiple", `{"Targets":[
				{"@odata.type":"Microsoft.Dynamics.CRM.account","accountid":"`+account+`","name":"ok"},
				{"@odata.type":"Microsoft.Dynamics.CRM.account","accountid":"`+account+`","creditlimit":"not a number"}]}`)
		}, want{}},
		{"failed changeset", func(t *testing.T, r *Running, _, _ string) answer {
			ct, body := changeset([3]string{"POST", "accounts", `{"name":"first"}`}, [3]string{"POST", "accounts", `{"nope":1}`})
			return send(t, r, "POST", "$batch", body, "Content-Type", ct)
		}, want{}},
		{"close action", func(t *testing.T, r *Running, _, order string) answer {
			return send(t, r, "POST", "salesorders/Microsoft.Dynamics.CRM.FulfillSalesOrder",
				`{"OrderClose":{"salesorderid@odata.bind":"/salesorders(`+order+`)"},"Status":100001}`)
		}, want{"salesorders": {StateChanges: 1}}},
		{"delete cascading to lines", func(t *testing.T, r *Running, _, order string) answer {
			return send(t, r, "DELETE", "salesorders("+order+")", "")
		}, want{"salesorders": {Deletes: 1}, "salesorderdetails": {Deletes: 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := start(t, Options{})
			seeded, err := r.Seed(SeedOptions{Accounts: 1, Products: 1, Orders: 1, LinesPerOrder: 2})
			if err != nil {
				t.Fatal(err)
			}
			before := map[string]WriteCounts{}
			for _, set := range []string{"accounts", "salesorders", "salesorderdetails", "products"} {
				before[set] = r.Writes(set)
			}
			version := r.Version()
			a := tc.do(t, r, seeded.Accounts[0], seeded.Orders[0])
			if len(tc.want) > 0 && a.status >= 400 {
				t.Fatalf("status %d %s %s", a.status, a.code, a.message)
			}
			for set, b := range before {
				if got := r.Writes(set).Sub(b); got != tc.want[set] {
					t.Errorf("%s: writes %+v; want %+v", set, got, tc.want[set])
				}
			}
			if len(tc.want) == 0 && r.Version() != version {
				t.Errorf("version moved from %d to %d with nothing written", version, r.Version())
			}
		})
	}
}
