package dataverse_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/kit"
	"github.com/d365sap/d365sap/shared/dataverse"
)

// kitDir is the reference kit (see infra/local/kit).
func kitDir(t *testing.T) string { return kit.Dir(t, "dataverse") }

func cdm(t *testing.T) map[string]string {
	f, err := os.Open(filepath.Join(kitDir(t), "dataverse", "cdm", "attributes.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) == 3 {
			out[p[0]+"."+p[1]] = p[2]
		}
	}
	return out
}

// Every column the client reads or writes for the order push is in the CDM list with a compatible type.
func TestOrderColumnsInCDM(t *testing.T) {
	attrs := cdm(t)
	status := 2
	wb, err := dataverse.OrderWriteBack{SubmitStatus: &status, SubmitStatusDescription: "SAP order 12345 created",
		SubmitDate: time.Now(), LastBackOfficeSubmit: time.Now()}.Record()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"submitstatus": "Int32", "submitstatusdescription": "String", "submitdate": "DateTimeOffset",
		"lastbackofficesubmit": "DateTimeOffset"}
	for col := range wb {
		if got := attrs["salesorder."+col]; got != want[col] {
			t.Errorf("write-back column salesorder.%s: CDM type %q, want %q", col, got, want[col])
		}
	}
	check := func(entity string, cols []string) {
		for _, c := range cols {
			name := c
			if strings.HasPrefix(c, "_") && strings.HasSuffix(c, "_value") {
				name = strings.TrimSuffix(strings.TrimPrefix(c, "_"), "_value")
				if attrs[entity+"."+name] != "Guid" {
					t.Errorf("lookup %s.%s is not a Guid in the CDM list", entity, name)
				}
				continue
			}
			if _, ok := attrs[entity+"."+name]; !ok {
				t.Errorf("column %s.%s is not in the CDM list", entity, name)
			}
		}
	}
	check("salesorder", dataverse.SalesOrderColumns)
	check("salesorderdetail", dataverse.SalesOrderDetailColumns)
}

// The order read and write-back work end to end against the simulator, including the constructed
// write-back sample from the kit and a configurable custom column for the SAP number.
func TestOrderReadAndWriteBack(t *testing.T) {
	so := dvsim.Options{ExtraColumns: map[string][]dvsim.Column{"salesorder": {{Name: "sap_salesorder", Type: dvsim.String}}}}
	e := newEnv(t, so, nil)
	seeded, err := e.sim.Seed(dvsim.SeedOptions{Accounts: 1, Products: 2, Orders: 1, LinesPerOrder: 2})
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	id := seeded.Orders[0]
	order, err := e.client.Retrieve(c, "salesorders", dataverse.ID(id), &dataverse.RetrieveOptions{
		Select: dataverse.SalesOrderColumns, Expand: dataverse.SalesOrderExpand()})
	if err != nil {
		t.Fatal(err)
	}
	if order.Record("customerid_account").String("accountnumber") != "0000100001" || len(order.Records("order_details")) != 2 {
		t.Fatalf("order = %v", order)
	}
	for _, l := range order.Records("order_details") {
		if !strings.HasPrefix(l.Record("productid").String("productnumber"), "MAT-") {
			t.Errorf("line product = %v", l["productid"])
		}
	}
	status := 2
	wb, err := dataverse.OrderWriteBack{SubmitStatus: &status, SubmitStatusDescription: "SAP order created",
		SubmitDate: time.Date(2026, 6, 30, 10, 0, 0, 0, time.UTC), SAPNumberColumn: "sap_salesorder", SAPNumber: "0000012345"}.Record()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Update(c, "salesorders", dataverse.ID(id), wb, &dataverse.UpdateOptions{ETag: order.ETag()}); err != nil {
		t.Fatalf("write-back: %v", err)
	}
	row, _ := e.sim.Get("salesorders", id)
	if row["sap_salesorder"] != "0000012345" || row["submitstatus"] != json.Number("2") || row["submitdate"] != "2026-06-30T10:00:00Z" {
		t.Errorf("row = %v", row)
	}

	raw, err := os.ReadFile(filepath.Join(kitDir(t), "dataverse", "samples", "salesorder-status-writeback.constructed.http"))
	if err != nil {
		t.Fatal(err)
	}
	// The body is the JSON object that starts a line; "{org}" and "{token}" placeholders come before it.
	start := bytes.Index(raw, []byte("\n{")) + 1
	end := bytes.Index(raw[start:], []byte("\n}")) + start + 1
	var sample dataverse.Record
	dec := json.NewDecoder(bytes.NewReader(raw[start : end+1]))
	dec.UseNumber()
	if err := dec.Decode(&sample); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Update(c, "salesorders", dataverse.ID(id), sample, nil); err != nil {
		t.Fatalf("the kit's write-back sample was rejected: %v", err)
	}
	if _, err := (dataverse.OrderWriteBack{SAPNumber: "1"}).Record(); err == nil {
		t.Error("a SAP number without a column was accepted")
	}
}
