package sapsim

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBillingDeltaPoll: a poller reads what changed since its last high-water mark, oldest first, page by page,
// with the OData V2 literals of the kit's sap-odata.md; a revision moves a document to the end.
func TestBillingDeltaPoll(t *testing.T) {
	c, clock, _ := billingSim(t, Options{PageSize: 2, BillingDocuments: 3})
	s := c.srv
	order := enterOrder(t, s)
	var docs []string
	for _, item := range []string{"10", "20", "30"} {
		d, err := s.Deliver(order, map[string]string{item: map[string]string{"10": "7", "20": "250", "30": "3"}[item]})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.BillDelivery(d)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
		clock.advance(time.Minute)
	}
	if err := s.ReviseBilling(docs[0], "10", "80.00"); err != nil {
		t.Fatal(err)
	}
	b1, b2, b3 := docs[0], docs[1], docs[2]
	second := c.getBilling(b2).changed(t).Format("2006-01-02T15:04:05.000Z")
	poll := func(t *testing.T, query string) []string {
		t.Helper()
		var got []string
		next := bdPath + "A_BillingDocument?" + query
		for pages := 0; next != ""; pages++ {
			if pages > 10 {
				t.Fatal("more than 10 pages")
			}
			resp, body := c.do("GET", next, "", nil)
			var page struct {
				D struct {
					Results []wireBilling
					Next    string `json:"__next"`
				}
			}
			if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %d %v %.300s", next, resp.StatusCode, err, body)
			}
			for _, r := range page.D.Results {
				got = append(got, r.BillingDocument)
			}
			next = strings.TrimPrefix(page.D.Next, c.base)
		}
		return got
	}
	q := func(filter string, extra ...string) string {
		v := url.Values{"$filter": {filter}, "$orderby": {"LastChangeDateTime asc,BillingDocument asc"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"since the kit's example, paged", q("LastChangeDateTime gt datetimeoffset'2024-06-01T10:00:00Z'"), []string{b2, b3, b1}},
		{"ge includes the mark", q("LastChangeDateTime ge datetimeoffset'" + second + "'"), []string{b2, b3, b1}},
		{"gt excludes it", q("LastChangeDateTime gt datetimeoffset'" + second + "'"), []string{b3, b1}},
		{"top and skip", q("LastChangeDateTime gt datetimeoffset'2024-06-01T10:00:00Z'", "$top", "1", "$skip", "1"), []string{b3}},
		{"generated history too", q("LastChangeDateTime ge datetimeoffset'2024-01-01T00:00:00Z'"), []string{"90000000", "90000001", "90000002", b2, b3, b1}},
		{"not cleared, by payer", q("InvoiceClearingStatus ne 'C' and PayerParty eq '" + CustomerID(0) + "'"), []string{b2, b3, b1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := poll(t, tc.query); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("a literal of the wrong kind is refused", func(t *testing.T) {
		resp, body := c.do("GET", bdPath+"A_BillingDocument?"+q("LastChangeDateTime gt datetime'2024-06-01T10:00:00'"), "", nil)
		if resp.StatusCode != 400 {
			t.Fatalf("%d %.300s", resp.StatusCode, body)
		}
	})
}

// TestReviseAndClearBilling: a revision moves an item's net, and tax and totals follow through a manual condition;
// clearing sets the clearing status. Both stamp the document; only the revision raises an event.
func TestReviseAndClearBilling(t *testing.T) {
	c, clock, rec := billingSim(t, Options{})
	s := c.srv
	order := enterOrder(t, s)
	d, _ := s.Deliver(order, nil)
	b, err := s.BillDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	rec.take()
	last := c.getBilling(b).changed(t)
	for _, tc := range []struct {
		name, item, net string
		manual          bool // an RB00 condition is expected afterwards
	}{
		{"lower", "10", "80.00", true},
		{"higher", "20", "3000.01", true},
		{"back to the price", "10", "86.42", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock.advance(time.Second)
			if err := s.ReviseBilling(b, tc.item, tc.net); err != nil {
				t.Fatal(err)
			}
			doc := c.getBilling(b)
			checkInvariants(t, doc)
			i := slices.IndexFunc(doc.Items.Results, func(it wireItem) bool { return it.BillingDocumentItem == tc.item })
			it := doc.Items.Results[i]
			hasManual := slices.ContainsFunc(it.Elements.Results, func(e wireElement) bool {
				return e.ConditionType == "RB00" && e.ConditionIsManuallyChanged
			})
			if it.NetAmount != tc.net || hasManual != tc.manual || !doc.changed(t).After(last) {
				t.Fatalf("item %+v, document changed %v (before %v)", it, doc.changed(t), last)
			}
			last = doc.changed(t)
			if got := rec.take(); !slices.Equal(got, []string{"Changed " + b}) {
				t.Fatalf("events %v", got)
			}
		})
	}
	for _, bad := range []struct{ doc, item, net string }{{b, "10", "-1.00"}, {b, "10", "1.234"}, {b, "10", "x"}, {b, "99", "1.00"}, {"90000000", "10", "1.00"}} {
		if err := s.ReviseBilling(bad.doc, bad.item, bad.net); err == nil {
			t.Fatalf("revising %v was accepted", bad)
		}
	}
	for _, status := range []string{"B", "C"} {
		clock.advance(time.Second)
		if err := s.ClearBilling(b, status); err != nil {
			t.Fatal(err)
		}
		doc := c.getBilling(b)
		if doc.InvoiceClearingStatus != status || !doc.changed(t).After(last) {
			t.Fatalf("after clearing %s: %q, changed %v", status, doc.InvoiceClearingStatus, doc.changed(t))
		}
		last = doc.changed(t)
	}
	if got := rec.take(); len(got) != 0 {
		t.Fatalf("clearing raised %v", got)
	}
	for _, bad := range [][2]string{{b, "D"}, {b, ""}, {"90000001", "C"}} {
		if err := s.ClearBilling(bad[0], bad[1]); err == nil {
			t.Fatalf("clearing %v was accepted", bad)
		}
	}
	if _, err := s.CancelBilling("90000000"); !errors.Is(err, ErrNoSuchDocument) {
		t.Fatalf("cancelling generated history: %v", err)
	}
}
