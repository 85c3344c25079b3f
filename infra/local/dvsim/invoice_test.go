package dvsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// billingDoc is the custom column an integration keys invoices by: SAP's billing document number.
const billingDoc = "d365sap_sapbillingdocument"

// billing is a simulator with the billing key on invoices, an account, and two products on the seeded price list
// (product 1 at 11.50, product 2 at 12.50, in the seeded unit).
type billing struct {
	*Running
	seeded Seeded
}

func newBilling(t *testing.T, o Options) *billing {
	t.Helper()
	o.ExtraColumns = map[string][]Column{"invoice": {{Name: billingDoc, Type: String, MaxLength: 10}}}
	o.ExtraKeys = map[string][][]string{"invoice": {{billingDoc}}}
	r := start(t, o)
	seeded, err := r.Seed(SeedOptions{Accounts: 1, Products: 2})
	if err != nil {
		t.Fatal(err)
	}
	return &billing{Running: r, seeded: seeded}
}

// byKey is the invoice's address by its billing document.
func byKey(doc string) string { return "invoices(" + billingDoc + "='" + doc + "')" }

// merged is base with extra applied; a nil in extra removes the key.
func merged(base, extra map[string]any) map[string]any {
	for k, v := range extra {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	return base
}

// header is an invoice body on the seeded account and price list, without its key (the URL carries it).
func (b *billing) header(extra map[string]any) map[string]any {
	return merged(map[string]any{"name": "Billing document", "customerid_account@odata.bind": "/accounts(" + b.seeded.Accounts[0] + ")",
		"pricelevelid@odata.bind": "/pricelevels(" + b.seeded.PriceLevel + ")"}, extra)
}

// line is an invoice line of one unit of product 1, bound to the invoice by its billing document.
func (b *billing) line(doc string, extra map[string]any) map[string]any {
	return merged(map[string]any{"invoiceid@odata.bind": "/" + byKey(doc), "productid@odata.bind": "/products(" + b.seeded.Products[0] + ")",
		"uomid@odata.bind": "/uoms(" + b.seeded.UoM + ")", "quantity": json.Number("1")}, extra)
}

// create makes an invoice by create-only upsert, and its lines.
func (b *billing) create(t *testing.T, doc string, header map[string]any, lines ...map[string]any) {
	t.Helper()
	if a := send(t, b.Running, "PATCH", byKey(doc), jsonBody(t, header), "If-None-Match", "*"); a.status != 204 {
		t.Fatalf("invoice %s: %d %s %s", doc, a.status, a.code, a.message)
	}
	for i, l := range lines {
		if a := send(t, b.Running, "POST", "invoicedetails", jsonBody(t, l)); a.status != 204 {
			t.Fatalf("line %d: %d %s %s", i, a.status, a.code, a.message)
		}
	}
}

// read returns the invoice and its lines in line number order.
func (b *billing) read(t *testing.T, doc string) (map[string]any, []map[string]any) {
	t.Helper()
	a := send(t, b.Running, "GET", byKey(doc)+"?$expand=invoice_details($orderby=lineitemnumber%20asc)", "")
	if a.status != 200 {
		t.Fatalf("reading %s: %d %s %s", doc, a.status, a.code, a.message)
	}
	var lines []map[string]any
	for _, l := range a.body["invoice_details"].([]any) {
		lines = append(lines, l.(map[string]any))
	}
	return a.body, lines
}

// part is one request of a changeset; header holds name, value pairs.
type part struct {
	method, path, body string
	header             []string
}

func changesetOf(parts ...part) (contentType, body string) {
	var b strings.Builder
	b.WriteString("--batch_1\r\nContent-Type: multipart/mixed; boundary=changeset_1\r\n\r\n")
	for i, p := range parts {
		fmt.Fprintf(&b, "--changeset_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: %d\r\n\r\n", i+1)
		fmt.Fprintf(&b, "%s /api/data/v9.2/%s HTTP/1.1\r\nContent-Type: application/json\r\n", p.method, p.path)
		for j := 0; j+1 < len(p.header); j += 2 {
			fmt.Fprintf(&b, "%s: %s\r\n", p.header[j], p.header[j+1])
		}
		fmt.Fprintf(&b, "\r\n%s\r\n", p.body)
	}
	b.WriteString("--changeset_1--\r\n--batch_1--\r\n")
	return "multipart/mixed; boundary=batch_1", b.String()
}

// batch posts a $batch and returns the multipart answer as text.
func batch(t *testing.T, r *Running, parts ...part) string {
	t.Helper()
	ct, body := changesetOf(parts...)
	req, err := http.NewRequest("POST", r.URL+apiPrefix+"$batch", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+r.IssueToken("test"))
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An invoice is created once per billing document: a create-only upsert by the alternate key, then the same
// upsert refused as Dataverse refuses it; the key is unique whatever the message, and other columns are no key.
func TestInvoiceCreateOnlyUpsertByAlternateKey(t *testing.T) {
	b := newBilling(t, Options{})
	type step struct {
		method, path string
		body         map[string]any
		header       []string
		status       int
		code, text   string
	}
	steps := []struct {
		name string
		step
	}{
		{"first create-only upsert creates", step{"PATCH", byKey("90000001"), b.header(nil), []string{"If-None-Match", "*"}, 204, "", ""}},
		{"second create-only upsert is refused", step{"PATCH", byKey("90000001"), b.header(nil), []string{"If-None-Match", "*"}, 412, "", "A record with matching key values already exists."}},
		{"update-only upsert of a missing key", step{"PATCH", byKey("90000002"), b.header(nil), []string{"If-Match", "*"}, 404, "", "Does Not Exist"}},
		{"a create repeating the key value", step{"POST", "invoices", b.header(map[string]any{billingDoc: "90000001"}), nil, 412, codeDuplicate, "A record with matching key values already exists."}},
		{"update-only upsert of the existing key", step{"PATCH", byKey("90000001"), map[string]any{"description": "updated"}, []string{"If-Match", "*"}, 204, "", ""}},
		{"addressed by a column that is no key", step{"GET", "invoices(name='Billing document')", nil, nil, 400, codeInvalidArgument, "not an alternate key of invoice"}},
		{"upserted by a column that is no key", step{"PATCH", "invoices(invoicenumber='INV-1')", b.header(nil), []string{"If-None-Match", "*"}, 400, codeInvalidArgument, "not an alternate key of invoice"}},
		{"a line bound by a column that is no key", step{"POST", "invoicedetails", b.line("x", map[string]any{"invoiceid@odata.bind": "/invoices(name='Billing document')"}), nil, 400, codeInvalidArgument, "not an alternate key of invoice"}},
		{"a line bound by a key that matches nothing", step{"POST", "invoicedetails", b.line("99999999", nil), nil, 404, codeNotFound, "Does Not Exist"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			body := ""
			if s.body != nil {
				body = jsonBody(t, s.body)
			}
			a := send(t, b.Running, s.method, s.path, body, s.header...)
			if a.status != s.status || a.code != s.code || !strings.Contains(a.message, s.text) {
				t.Fatalf("%d %q %q; want %d %q %q", a.status, a.code, a.message, s.status, s.code, s.text)
			}
		})
	}
	if n := len(b.Find("invoices", billingDoc, "90000001")); n != 1 {
		t.Errorf("%d invoices for 90000001; want 1", n)
	}
	t.Run("without the key in Options the column is no key", func(t *testing.T) {
		r := start(t, Options{ExtraColumns: map[string][]Column{"invoice": {{Name: billingDoc, Type: String}}}})
		a := send(t, r, "PATCH", byKey("90000001"), `{"name":"x"}`, "If-None-Match", "*")
		if a.status != 400 || !strings.Contains(a.message, "not an alternate key") {
			t.Fatalf("%d %s", a.status, a.message)
		}
	})
	t.Run("keys on a table that does not exist or on a missing column are refused", func(t *testing.T) {
		for _, keys := range []map[string][][]string{{"contoso_widget": {{"name"}}}, {"invoice": {{"nosuchcolumn"}}}} {
			if _, err := New(Options{ExtraKeys: keys}); err == nil {
				t.Errorf("ExtraKeys %v accepted", keys)
			}
		}
	})
}

// Header and lines go in one changeset, the lines bound to the header by its alternate key; when any part fails,
// nothing of the changeset stays: no header, no orphan line, no version moved.
func TestInvoiceChangesetBindsLinesByAlternateKey(t *testing.T) {
	b := newBilling(t, Options{})
	b.create(t, "90000010", b.header(nil), b.line("90000010", nil))
	createOnly := []string{"If-None-Match", "*"}
	headerPart := func(doc string) part {
		return part{"PATCH", byKey(doc), jsonBody(t, b.header(nil)), createOnly}
	}
	linePart := func(doc string, n int) part {
		return part{"POST", "invoicedetails", jsonBody(t, b.line(doc, map[string]any{"lineitemnumber": json.Number(fmt.Sprint(n))})), nil}
	}
	tests := []struct {
		name   string
		parts  []part
		answer string // in the batch response
		lines  map[string]int
	}{
		{"header and lines created together", []part{headerPart("90000011"), linePart("90000011", 1), linePart("90000011", 2)},
			"HTTP/1.1 204", map[string]int{"90000011": 2, "90000010": 1}},
		{"the header exists: refused at the header, no line added", []part{headerPart("90000010"), linePart("90000010", 2)},
			"A record with matching key values already exists.", map[string]int{"90000010": 1}},
		{"a later part fails: the new header and its lines are undone", []part{headerPart("90000012"), linePart("90000012", 1), headerPart("90000010")},
			"HTTP/1.1 412", map[string]int{"90000012": -1, "90000010": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			version, invoices, lines := b.Version(), b.Writes("invoices"), b.Writes("invoicedetails")
			out := batch(t, b.Running, tc.parts...)
			if !strings.Contains(out, tc.answer) {
				t.Fatalf("batch answer lacks %q:\n%s", tc.answer, out)
			}
			failed := strings.Contains(out, "HTTP/1.1 4")
			for doc, want := range tc.lines {
				rows := b.Find("invoices", billingDoc, doc)
				if want < 0 {
					if len(rows) != 0 {
						t.Errorf("invoice %s exists after the failed changeset", doc)
					}
					continue
				}
				if len(rows) != 1 {
					t.Fatalf("invoice %s: %d rows", doc, len(rows))
				}
				if got := len(b.Find("invoicedetails", "invoiceid", rows[0]["invoiceid"])); got != want {
					t.Errorf("invoice %s: %d lines; want %d", doc, got, want)
				}
			}
			if failed && b.Version() != version {
				t.Errorf("version moved from %d to %d in a failed changeset", version, b.Version())
			}
			wantInv, wantLines := WriteCounts{}, WriteCounts{}
			if !failed {
				wantInv, wantLines = WriteCounts{Creates: 1}, WriteCounts{Creates: 2} // the pricing's writes are not the client's
			}
			if got := b.Writes("invoices").Sub(invoices); got != wantInv {
				t.Errorf("invoice writes %+v; want %+v", got, wantInv)
			}
			if got := b.Writes("invoicedetails").Sub(lines); got != wantLines {
				t.Errorf("line writes %+v; want %+v", got, wantLines)
			}
		})
	}
	if n := b.Count("invoicedetails"); n != 3 {
		t.Errorf("%d lines in all; want 3", n)
	}
}

// The lines come with the invoice through $expand=invoice_details (the relationship's name in Invoice.cdm.json),
// deep insert creates them, and deleting the invoice deletes them.
func TestInvoiceLinesExpandDeepInsertAndCascade(t *testing.T) {
	b := newBilling(t, Options{})
	var lines []any
	for n := 3; n >= 1; n-- {
		l := b.line("", map[string]any{"invoiceid@odata.bind": nil, "lineitemnumber": json.Number(fmt.Sprint(n)), "quantity": json.Number(fmt.Sprint(n))})
		lines = append(lines, l)
	}
	created := send(t, b.Running, "POST", "invoices", jsonBody(t, b.header(map[string]any{billingDoc: "90000020", "invoice_details": lines})),
		"Prefer", "return=representation")
	if created.status != 201 || created.body["totalamount"] != json.Number("69.00") {
		t.Fatalf("deep insert: %d %s, total %v; want 201, 69.00", created.status, created.message, created.body["totalamount"])
	}
	a := send(t, b.Running, "GET", byKey("90000020")+"?$select=name,totalamount&$expand=invoice_details($select=lineitemnumber,baseamount;$orderby=lineitemnumber%20desc)", "")
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.message)
	}
	got := []string{}
	for _, l := range a.body["invoice_details"].([]any) {
		m := l.(map[string]any)
		got = append(got, fmt.Sprint(m["lineitemnumber"], ":", m["baseamount"]))
	}
	if want := "3:34.50 2:23.00 1:11.50"; strings.Join(got, " ") != want || a.body["totalamount"] != json.Number("69.00") {
		t.Errorf("lines %v, total %v; want %s, 69.00", got, a.body["totalamount"], want)
	}
	if a := send(t, b.Running, "DELETE", byKey("90000020"), ""); a.status != 204 {
		t.Fatalf("delete: %d %s", a.status, a.message)
	}
	if n := b.Count("invoicedetails"); n != 0 {
		t.Errorf("%d lines left after deleting their invoice", n)
	}
}

// Fault injection is table-agnostic: an invoice written before the connection drops is committed, and an injected
// 500 writes nothing.
func TestFaultsApplyToInvoices(t *testing.T) {
	b := newBilling(t, Options{})
	b.SetFaults(Faults{CommitDrop: 1, Only: []string{"PATCH"}})
	req, _ := http.NewRequest("PATCH", b.URL+apiPrefix+byKey("90000030"), strings.NewReader(jsonBody(t, b.header(nil))))
	req.Header.Set("Authorization", "Bearer "+b.IssueToken("test"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("If-None-Match", "*")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d; want the connection dropped", resp.StatusCode)
	}
	if n := len(b.Find("invoices", billingDoc, "90000030")); n != 1 {
		t.Fatalf("%d invoices after a dropped commit; want 1", n)
	}
	b.SetFaults(Faults{Error500: 1, Only: []string{"POST"}})
	if a := send(t, b.Running, "POST", "invoicedetails", jsonBody(t, b.line("90000030", nil))); a.status != 500 {
		t.Fatalf("line: %d; want the injected 500", a.status)
	}
	b.SetFaults(Faults{})
	if n := b.Count("invoicedetails"); n != 0 {
		t.Errorf("%d lines after an injected 500", n)
	}
}
