package invoices

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
)

// state is an invoice's statecode as this package sets it.
type state int

const (
	active   state = 0
	paid     state = 2
	canceled state = 3
)

func (s state) String() string {
	switch s {
	case active:
		return "active"
	case paid:
		return "paid"
	case canceled:
		return "canceled"
	}
	return "state " + strconv.Itoa(int(s))
}

// fields are the statecode and statuscode that set a state (Paid: Complete; Canceled: Canceled).
func (s state) fields() dataverse.Record {
	status := map[state]int{paid: 100001, canceled: 100003}[s]
	return dataverse.Record{"statecode": json.Number(strconv.Itoa(int(s))), "statuscode": json.Number(strconv.Itoa(status))}
}

// invoice is what D365 should show for one billing document, or what it shows.
type invoice struct {
	ID, ETag string // of the row read (empty for a wanted one)
	// Columns are plain columns; Binds are lookups by navigation property ("customerid_account") to the bound
	// row's id.
	Columns dataverse.Record
	Binds   map[string]string
	Lines   []line
	State   state
	Changed time.Time
	// Totals as D365 computed them (read rows only).
	Total, Tax, Net string
}

// line is one invoicedetail: a product in a unit of its group, or a write-in.
type line struct {
	ID          string // invoicedetailid (read rows only)
	Item        int    // lineitemnumber: SAP's item number
	Product     string // productid; empty for a write-in
	Unit        string // uomid; empty for a write-in
	Description string // productdescription of a write-in
	Quantity    *big.Rat
	PerUnit     *big.Rat
	Discount    *big.Rat
	Tax         *big.Rat
}

// lookups maps a navigation property to the column D365 reads the bound id back from, and the set it binds.
var lookups = map[string]struct{ column, set string }{
	"customerid_account":    {"_customerid_value", "accounts"},
	"pricelevelid":          {"_pricelevelid_value", "pricelevels"},
	"transactioncurrencyid": {"_transactioncurrencyid_value", "transactioncurrencies"},
	"salesorderid":          {"_salesorderid_value", "salesorders"},
}

// record is the line as written, places the price's decimals.
func (l line) record(places int) dataverse.Record {
	r := dataverse.Record{
		"lineitemnumber":       json.Number(strconv.Itoa(l.Item)),
		"quantity":             json.Number(decimalText(l.Quantity, -1)),
		"priceperunit":         json.Number(decimalText(l.PerUnit, places)),
		"ispriceoverridden":    true,
		"manualdiscountamount": json.Number(decimalText(l.Discount, moneyPlaces)),
		"tax":                  json.Number(decimalText(l.Tax, moneyPlaces)),
	}
	if l.Product == "" {
		r["isproductoverridden"] = true
		r["productdescription"] = l.Description
	} else {
		r["isproductoverridden"] = false
		r["productid@odata.bind"] = "/products(" + l.Product + ")"
		r["uomid@odata.bind"] = "/uoms(" + l.Unit + ")"
	}
	return r
}

// same says whether a line read from D365 shows what l wants.
func (l line) same(got line) bool {
	return l.Item == got.Item && l.Product == got.Product && l.Unit == got.Unit &&
		(l.Product != "" || l.Description == got.Description) &&
		eq(l.Quantity, got.Quantity) && eq(l.PerUnit, got.PerUnit) && eq(l.Discount, got.Discount) && eq(l.Tax, got.Tax)
}

func eq(a, b *big.Rat) bool {
	if a == nil || b == nil {
		return a == nil && b == nil || a == nil && b.Sign() == 0 || b == nil && a.Sign() == 0
	}
	return a.Cmp(b) == 0
}

// decimalText writes r with places decimals, or as few as it needs (places < 0; r must then be a finite decimal).
func decimalText(r *big.Rat, places int) string {
	if r == nil {
		r = new(big.Rat)
	}
	if places >= 0 {
		return r.FloatString(places)
	}
	for p := 0; p <= 20; p++ {
		if fits(r, p) {
			return r.FloatString(p)
		}
	}
	return r.FloatString(20)
}

// ratOf reads a decimal column (a JSON number or a string).
func ratOf(v any) *big.Rat {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = x
	case nil:
		return new(big.Rat)
	default:
		s = fmt.Sprint(x)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return new(big.Rat)
	}
	return r
}
