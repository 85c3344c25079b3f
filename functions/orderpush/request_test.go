package orderpush_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/problem"
)

const upperID = "6F1C2B9E-3A4D-4E5F-8A7B-1C2D3E4F5A6B"

// orderJSON is an inline order with the given lines JSON.
func orderJSON(id, lines string) string {
	return `{"order":{"salesorderid":"` + id + `","customerAccountNumber":"17100001","lines":` + lines + `}}`
}

func TestParseRequestRejects(t *testing.T) {
	var many []string
	for range orderpush.MaxLines + 1 {
		many = append(many, `{"productNumber":"TG11","quantity":1}`)
	}
	tests := []struct {
		name   string
		body   string
		fields []string // the field errors, in order
		reason string   // a word of the first reason
	}{
		{"empty", "", []string{""}, "salesorderid"},
		{"blank", " \n\t", []string{""}, "salesorderid"},
		{"not JSON", "salesorderid=" + orderID, []string{""}, "invalid character"},
		{"an array", `[{"salesorderid":"` + orderID + `"}]`, []string{""}, "must be an object, not array"},
		{"unknown field", `{"salesorderid":"` + orderID + `","priority":1}`, []string{"priority"}, `unknown field "priority"`},
		{"unknown field in the order", `{"order":{"salesorderid":"` + orderID + `","customerAccountNumber":"1","lines":[{"productNumber":"TG11","quantity":1}],"x":1}}`, []string{"order/x"}, `unknown field "x"`},
		{"unknown field in a line", orderJSON(orderID, `[{"productNumber":"TG11","quantity":1,"price":"9.99"}]`), []string{"order/lines/0/price"}, `unknown field "price"`},
		{"unknown field in the second line, after a known one spelt otherwise", orderJSON(orderID, `[{"productNumber":"TG11","quantity":1},{"PRODUCTNUMBER":"TG11","quantity":1,"qty":2}]`),
			[]string{"order/lines/1/qty"}, `unknown field "qty"`},
		{"unknown field inside an unknown field", `{"salesorderid":"` + orderID + `","x":{"y":1}}`, []string{"x"}, `unknown field "x"`},
		{"neither", `{}`, []string{"salesorderid"}, "give salesorderid"},
		{"null", `null`, []string{"salesorderid"}, "give salesorderid"},
		{"both", `{"salesorderid":"` + orderID + `","order":{"salesorderid":"` + orderID + `"}}`, []string{"order"}, "not both"},
		{"not a GUID", `{"salesorderid":"ORD-01001"}`, []string{"salesorderid"}, "GUID"},
		{"a GUID in braces", `{"salesorderid":"{` + orderID + `}"}`, []string{"salesorderid"}, "GUID"},
		{"a GUID with a suffix", `{"salesorderid":"` + orderID + `x"}`, []string{"salesorderid"}, "GUID"},
		{"salesorderid a number", `{"salesorderid":42}`, []string{"salesorderid"}, "must be a string, not number"},
		{"order a string", `{"order":"` + orderID + `"}`, []string{"order"}, "must be an object, not string"},
		{"lines an object", orderJSON(orderID, `{}`), []string{"order/lines"}, "must be an array, not object"},
		{"a line a number", orderJSON(orderID, `[{"productNumber":"TG11","quantity":1}, 7]`), []string{"order/lines/1"}, "must be an object, not number"},
		{"a line number a string", orderJSON(orderID, `[{"productNumber":"TG11","quantity":1},{"productNumber":"TG11","quantity":1,"lineItemNumber":"2"}]`),
			[]string{"order/lines/1/lineItemNumber"}, "must be a whole number, not string"},
		{"a line number too large", orderJSON(orderID, `[{"productNumber":"TG11","quantity":1,"lineItemNumber":1e400}]`),
			[]string{"order/lines/0/lineItemNumber"}, "must be a whole number, not number 1e400"},
		{"salesorderid twice", `{"salesorderid":"` + orderID + `","salesorderid":"` + upperID + `"}`, []string{"salesorderid"}, "given twice"},
		{"salesorderid twice in other cases", `{"salesOrderId":"` + orderID + `","SALESORDERID":"` + upperID + `"}`, []string{"SALESORDERID"}, "given twice"},
		{"a line member twice", orderJSON(orderID, `[{"productNumber":"TG11","quantity":1},{"productNumber":"TG11","quantity":1,"Quantity":9}]`),
			[]string{"order/lines/1/Quantity"}, "given twice"},
		{"order twice", `{"order":{},"order":{"salesorderid":"` + orderID + `"}}`, []string{"order"}, "given twice"},
		{"trailing object", `{"salesorderid":"` + orderID + `"} {}`, []string{""}, "trailing data"},
		{"trailing garbage", `{"salesorderid":"` + orderID + `"}x`, []string{""}, "trailing data"},
		{"quantity not a number (string)", orderJSON(orderID, `[{"productNumber":"TG11","quantity":"two"}]`), []string{"order/lines/0/quantity"}, "Number"},
		{"quantity of the second line an empty string", orderJSON(orderID, `[{"productNumber":"TG11","quantity":"1"},{"productNumber":"+1","quantity":""}]`),
			[]string{"order/lines/1/quantity"}, "Number"},
		{"quantity with a plus (string)", orderJSON(orderID, `[{"productNumber":"+1","quantity":"+1"}]`), []string{"order/lines/0/quantity"}, "Number"},
		{"quantity with a space (string)", orderJSON(orderID, `[{"productNumber":"TG11","quantity":" 5"}]`), []string{"order/lines/0/quantity"}, "Number"},
		{"quantity with an exponent (number)", orderJSON(orderID, `[{"productNumber":"TG11","quantity":1e3}]`), []string{"order/lines/0/quantity"}, "not a decimal"},
		{"quantity with an exponent (string)", orderJSON(orderID, `[{"productNumber":"TG11","quantity":"1e3"}]`), []string{"order/lines/0/quantity"}, "not a decimal"},
		{"quantity zero", orderJSON(orderID, `[{"productNumber":"TG11","quantity":0}]`), []string{"order/lines/0/quantity"}, "greater than zero"},
		{"quantity negative (string)", orderJSON(orderID, `[{"productNumber":"TG11","quantity":"-1.5"}]`), []string{"order/lines/0/quantity"}, "greater than zero"},
		{"quantity missing", orderJSON(orderID, `[{"productNumber":"TG11"}]`), []string{"order/lines/0/quantity"}, "required"},
		{"quantity a boolean", orderJSON(orderID, `[{"productNumber":"TG11","quantity":true}]`), []string{"order/lines/0/quantity"}, "must be a number, not bool"},
		{"no lines", orderJSON(orderID, `[]`), []string{"order/lines"}, "at least one line"},
		{"too many lines", orderJSON(orderID, "["+strings.Join(many, ",")+"]"), []string{"order/lines"}, "has 1000 lines; at most 999"},
		{
			"every problem of an inline order at once",
			`{"order":{"salesorderid":"nope","customerAccountNumber":" ","requestedDeliveryDate":"01.04.2026","currency":"eur",
			  "lines":[{"productNumber":"","quantity":"1"},{"productNumber":"TG12","quantity":"-0"}]}}`,
			[]string{"order/salesorderid", "order/customerAccountNumber", "order/requestedDeliveryDate", "order/currency", "order/lines/0/productNumber", "order/lines/1/quantity"},
			"GUID",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := orderpush.ParseRequest([]byte(tt.body))
			if problem.KindOf(err) != problem.Invalid {
				t.Fatalf("err = %v, want invalid (request %+v)", err, r)
			}
			fs := fieldsOf(t, err)
			if got := fieldNames(fs); !slices.Equal(got, tt.fields) {
				t.Errorf("fields %q, want %q", got, tt.fields)
			}
			if len(fs) > 0 && !strings.Contains(fs[0].Reason, tt.reason) {
				t.Errorf("reason %q lacks %q", fs[0].Reason, tt.reason)
			}
		})
	}
}

func TestParseRequestAccepts(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		id     string
		inline bool
		qty    []string
	}{
		{"an id", `{"salesorderid":"` + orderID + `"}`, orderID, false, nil},
		{"an upper-case id is lower-cased", `{"salesorderid":"` + upperID + `"}`, orderID, false, nil},
		{"whitespace around", "\n {\"salesorderid\":\"" + orderID + "\"} \n", orderID, false, nil},
		{"an inline order with an upper-case id", orderJSON(upperID, `[{"productNumber":"TG11","quantity":1.005}]`), orderID, true, []string{"1.005"}},
		{
			"quantities as JSON numbers and as strings keep their text",
			orderJSON(orderID, `[{"productNumber":"TG11","quantity":0.1},{"productNumber":"TG12","quantity":"2.500"},{"productNumber":"TG13","quantity":123456789012.345}]`),
			orderID, true, []string{"0.1", "2.500", "123456789012.345"},
		},
		{"the same member name in different objects", orderJSON(orderID, `[{"productNumber":"TG11","quantity":1},{"productNumber":"TG12","quantity":2}]`), orderID, true, []string{"1", "2"}},
		{"999 lines", orderJSON(orderID, "["+strings.Repeat(`{"productNumber":"TG11","quantity":1},`, orderpush.MaxLines-1)+`{"productNumber":"TG11","quantity":1}]`), orderID, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := orderpush.ParseRequest([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.SalesOrderID != tt.id {
				t.Errorf("SalesOrderID %q, want %q", r.SalesOrderID, tt.id)
			}
			if (r.Order != nil) != tt.inline {
				t.Fatalf("inline order %v, want %v", r.Order != nil, tt.inline)
			}
			if r.Order == nil {
				return
			}
			if r.Order.SalesOrderID != tt.id {
				t.Errorf("order's id %q, want %q", r.Order.SalesOrderID, tt.id)
			}
			for i, q := range tt.qty {
				if got := string(r.Order.Lines[i].Quantity); got != q {
					t.Errorf("line %d quantity %q, want %q", i, got, q)
				}
			}
		})
	}
}

// An answer names the problem without repeating the input: a 3 MB unknown member or account number comes back as
// a short prefix, not a 4 MB 400.
func TestReasonsDoNotEchoHugeInput(t *testing.T) {
	huge := strings.Repeat("A", 3<<20)
	for _, body := range []string{
		`{"` + huge + `":1}`,
		`{"order":{"salesorderid":"6f1c2b9e-3a4d-4e5f-8a7b-1c2d3e4f5a6b","customerAccountNumber":"` + huge + `","lines":[{"productNumber":"P","quantity":"1"}]}}`,
	} {
		_, err := orderpush.ParseRequest([]byte(body))
		if err != nil && len(err.Error()) > 2000 {
			t.Errorf("a %d-byte request gave a %d-byte error", len(body), len(err.Error()))
		}
		if err == nil {
			continue // the long account number is the mapping's to refuse
		}
		for _, f := range fieldsOf(t, err) {
			if len(f.Field) > 200 {
				t.Errorf("a %d-byte field name", len(f.Field))
			}
		}
	}
}
