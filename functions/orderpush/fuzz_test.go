package orderpush

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/valuemap"
)

// The push's parsers take input from callers (the request body), from operators (the mapping file) and from
// storage (the order kept on a ledger entry, which anyone with access to the table can change). None may panic;
// what they accept must be usable.

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{``, `{}`, `[]`, `{"salesorderid":"0f0f0f0f-0000-4000-8000-000000000000"}`,
		`{"order":{"salesorderid":"0f0f0f0f-0000-4000-8000-000000000000","customerAccountNumber":"1","lines":[{"productNumber":"P","quantity":"1.5"}]}}`,
		`{"salesorderid":"x"} {}`, `{"order":{"lines":[{"quantity":1e400}]}}`, "{\"salesorderid\":\"\u0000\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body)
		if err != nil {
			return
		}
		if !IsOrderID(r.SalesOrderID) {
			t.Fatalf("accepted a request whose order id %q is not a GUID", r.SalesOrderID)
		}
		if r.Order != nil && len(r.Order.Lines) == 0 {
			t.Fatal("accepted an inline order without lines")
		}
	})
}

func FuzzParseMapping(f *testing.F) {
	values, err := valuemap.Load("")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(defaultMapping)
	f.Add([]byte(`{"header":{},"reference":{"mode":"headerText","textId":"Z001","language":"EN"},"writeBack":{}}`))
	f.Add([]byte(`{"reference":{"mode":"extensionField","field":"YY1_X_SDH","maxLength":25}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMapping(b, values)
		if err != nil {
			return
		}
		// An accepted mapping maps a plain order, or names what is wrong with it; it never panics.
		o := &Order{SalesOrderID: "0f0f0f0f-0000-4000-8000-000000000000", OrderNumber: "ORD-1", CustomerAccountNumber: "17100001",
			Lines: []OrderLine{{ProductNumber: "TG11", Quantity: "1"}}}
		ref, err := m.Reference.For(o)
		if err != nil {
			return
		}
		_, _ = m.Map(context.Background(), o, ref, nil)
	})
}

type nullArchive struct{}

func (nullArchive) Put(context.Context, string, string, string, time.Time, string, any) (string, error) {
	return "", errors.New("no archive")
}
func (nullArchive) Get(context.Context, string, any) error { return errors.New("no archive") }

func FuzzUnpackOrder(f *testing.F) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"salesorderid":"x","lines":[]}`))
	_ = zw.Close()
	f.Add(`{"salesorderid":"0f0f0f0f-0000-4000-8000-000000000000","customerAccountNumber":"1","lines":[]}`)
	f.Add(gzPrefix + base64.StdEncoding.EncodeToString(buf.Bytes()))
	f.Add(gzPrefix + "!!!")
	f.Add(blobPrefix + "salesorder/x/order.json.gz")
	s := &Service{Archive: nullArchive{}}
	f.Fuzz(func(t *testing.T, p string) {
		o, err := s.unpackOrder(context.Background(), p)
		if err == nil && o == nil {
			t.Fatal("no order and no error")
		}
	})
}
