package dvsim

import (
	"fmt"
	"strings"
	"testing"
)

// An invoice's state is set by PATCHing statecode and statuscode: a status reason must belong to its state, a
// state alone takes its default reason, the deprecated Closed state is refused, and a paid or canceled invoice
// moves only back to Active, or from Paid to Canceled.
func TestInvoiceStates(t *testing.T) {
	type step struct {
		body   string
		status int
		code   string
	}
	ok := func(body string) step { return step{body, 204, ""} }
	bad := func(body, code string) step { return step{body, 400, code} }
	tests := []struct {
		name  string
		steps []step
		state string // statecode/statuscode at the end
	}{
		{"a new invoice is Active/New", nil, "0/1"},
		{"billed, still active", []step{ok(`{"statuscode":4}`)}, "0/4"},
		{"paid in full", []step{ok(`{"statecode":2,"statuscode":100001}`)}, "2/100001"},
		{"partly paid", []step{ok(`{"statecode":2,"statuscode":100002}`)}, "2/100002"},
		{"paid, the state's default reason", []step{ok(`{"statecode":2}`)}, "2/100001"},
		{"canceled", []step{ok(`{"statecode":3,"statuscode":100003}`)}, "3/100003"},
		{"a reason of another state", []step{bad(`{"statecode":2,"statuscode":100003}`, codeInvalidStateStatus)}, "0/1"},
		{"a reason alone, of another state", []step{bad(`{"statuscode":100001}`, codeInvalidStateStatus)}, "0/1"},
		{"Closed is deprecated", []step{bad(`{"statecode":1,"statuscode":3}`, codeInvalidStateStatus)}, "0/1"},
		{"an unknown state", []step{bad(`{"statecode":9}`, codeInvalidStateStatus)}, "0/1"},
		{"paid, then reactivated and edited", []step{ok(`{"statecode":2}`), ok(`{"statecode":0,"statuscode":1}`), ok(`{"description":"credited"}`)}, "0/1"},
		{"canceled, then reactivated", []step{ok(`{"statecode":3}`), ok(`{"statecode":0}`)}, "0/1"},
		{"paid, then canceled", []step{ok(`{"statecode":2}`), ok(`{"statecode":3}`)}, "3/100003"},
		{"canceled twice", []step{ok(`{"statecode":3}`), bad(`{"statecode":3,"statuscode":100003}`, codeCannotCancelInvoice)}, "3/100003"},
		{"canceled, then paid", []step{ok(`{"statecode":3}`), bad(`{"statecode":2}`, codeReadOnly)}, "3/100003"},
		{"paid, then another paid reason", []step{ok(`{"statecode":2}`), bad(`{"statuscode":100002}`, codeReadOnly)}, "2/100001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBilling(t, Options{})
			b.create(t, "90000400", b.header(nil))
			for i, s := range tc.steps {
				a := send(t, b.Running, "PATCH", byKey("90000400"), s.body)
				if a.status != s.status || a.code != s.code {
					t.Fatalf("step %d %s: %d %q %q; want %d %q", i, s.body, a.status, a.code, a.message, s.status, s.code)
				}
			}
			inv, _ := b.read(t, "90000400")
			if got := fmt.Sprintf("%v/%v", inv["statecode"], inv["statuscode"]); got != tc.state {
				t.Errorf("state %s; want %s", got, tc.state)
			}
		})
	}
	t.Run("a create with a reason of another state", func(t *testing.T) {
		b := newBilling(t, Options{})
		a := send(t, b.Running, "PATCH", byKey("90000401"), jsonBody(t, b.header(map[string]any{"statuscode": num("100001")})))
		if a.status != 400 || a.code != codeInvalidStateStatus {
			t.Fatalf("%d %q %q", a.status, a.code, a.message)
		}
	})
}

// A paid or canceled invoice is read-only, and so are its lines: edits of the header, and creates, updates and
// deletes of lines, are refused until it is reactivated. The lines carry the invoice's state.
func TestClosedInvoiceIsReadOnly(t *testing.T) {
	for _, closing := range []struct{ name, body, state string }{
		{"paid", `{"statecode":2,"statuscode":100001}`, "2"},
		{"canceled", `{"statecode":3,"statuscode":100003}`, "3"},
	} {
		t.Run(closing.name, func(t *testing.T) {
			b := newBilling(t, Options{})
			b.create(t, "90000500", b.header(nil), b.line("90000500", nil))
			_, lines := b.read(t, "90000500")
			line := "invoicedetails(" + lines[0]["invoicedetailid"].(string) + ")"
			if a := send(t, b.Running, "PATCH", byKey("90000500"), closing.body); a.status != 204 {
				t.Fatalf("closing: %d %s", a.status, a.message)
			}
			if _, lines := b.read(t, "90000500"); fmt.Sprint(lines[0]["invoicestatecode"]) != closing.state {
				t.Errorf("line invoicestatecode %v; want %s", lines[0]["invoicestatecode"], closing.state)
			}
			refused := []struct {
				name, method, path, body string
				header                   []string
				code                     string
			}{
				{"an edit of the header", "PATCH", byKey("90000500"), `{"description":"late"}`, nil, codeReadOnly},
				{"an edit with the reactivation in the same request", "PATCH", byKey("90000500"), `{"statecode":0,"freightamount":1}`, nil, codeReadOnly},
				{"an upsert of the header", "PATCH", byKey("90000500"), `{"name":"again"}`, []string{"If-Match", "*"}, codeReadOnly},
				{"a new line", "POST", "invoicedetails", jsonBody(t, b.line("90000500", nil)), nil, codeReadOnly},
				{"an edit of a line", "PATCH", line, `{"quantity":2}`, nil, codeReadOnly},
				{"a line moved away", "PATCH", line, jsonBody(t, map[string]any{"invoiceid@odata.bind": "/" + byKey("90000501")}), nil, codeReadOnly},
				{"a line deleted", "DELETE", line, "", nil, codeDeleteReadOnly},
			}
			b.create(t, "90000501", b.header(nil))
			for _, r := range refused {
				version := b.Version()
				a := send(t, b.Running, r.method, r.path, r.body, r.header...)
				if a.status != 400 || a.code != r.code {
					t.Errorf("%s: %d %q %q; want 400 %q", r.name, a.status, a.code, a.message, r.code)
				}
				if b.Version() != version {
					t.Errorf("%s: a refused write moved the version", r.name)
				}
			}
			if a := send(t, b.Running, "PATCH", byKey("90000500"), `{"statecode":0,"statuscode":1}`); a.status != 204 {
				t.Fatalf("reactivating: %d %s", a.status, a.message)
			}
			if a := send(t, b.Running, "PATCH", line, `{"quantity":2}`); a.status != 204 {
				t.Fatalf("an edit of a line after reactivation: %d %s", a.status, a.message)
			}
			inv, lines := b.read(t, "90000500")
			if fmt.Sprint(lines[0]["invoicestatecode"]) != "0" || inv["totalamount"] != num("23.00") {
				t.Errorf("after reactivation: line state %v, total %v", lines[0]["invoicestatecode"], inv["totalamount"])
			}
		})
	}
}

// A line bound by alternate key to a closed invoice fails its changeset like any other part.
func TestClosedInvoiceRefusesLinesInAChangeset(t *testing.T) {
	b := newBilling(t, Options{})
	b.create(t, "90000600", b.header(nil))
	if a := send(t, b.Running, "PATCH", byKey("90000600"), `{"statecode":2}`); a.status != 204 {
		t.Fatalf("paying: %d %s", a.status, a.message)
	}
	out := batch(t, b.Running, part{"POST", "invoicedetails", jsonBody(t, b.line("90000600", nil)), nil})
	if !strings.Contains(out, "HTTP/1.1 400") || !strings.Contains(out, codeReadOnly) {
		t.Fatalf("batch answer:\n%s", out)
	}
	if n := b.Count("invoicedetails"); n != 0 {
		t.Errorf("%d lines on a paid invoice", n)
	}
}
