package dvsim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Type is a column's Dataverse attribute type, named as in the CDM attribute list.
type Type string

// The attribute types the simulator knows. OptionSet columns are Int32 on the wire and listed as String
// (an enumeration) in the CDM files.
const (
	String         Type = "String"
	Int32          Type = "Int32"
	Int64          Type = "Int64"
	Decimal        Type = "Decimal"
	Boolean        Type = "Boolean"
	Guid           Type = "Guid"
	DateTimeOffset Type = "DateTimeOffset"
	OptionSet      Type = "OptionSet"
)

// Column is one attribute of a table. A Guid column with Targets is a lookup: it is written with
// "<nav>@odata.bind" (one nav name per target set) and read as "_<name>_value".
type Column struct {
	Name      string
	Type      Type
	ReadOnly  bool              // set by the server; a write is rejected
	MaxLength int               // String columns: most characters (0: no limit)
	Targets   map[string]string // lookups: navigation property name -> target entity set
}

// Collection is a one-to-many navigation property (e.g. salesorder.order_details).
type Collection struct {
	Set        string // the related entity set
	ForeignKey string // the lookup column on the related table
}

// Table describes one entity set.
type Table struct {
	Entity      string // logical name, e.g. "salesorder"
	Set         string // entity set name, e.g. "salesorders"
	Key         string // primary key column
	AltKeys     [][]string
	Columns     []Column
	Collections map[string]Collection
	Bulk        bool // supports CreateMultiple/UpdateMultiple/UpsertMultiple
}

func lookup(name string, targets ...string) Column {
	t := map[string]string{}
	for i := 0; i+1 < len(targets); i += 2 {
		t[targets[i]] = targets[i+1]
	}
	return Column{Name: name, Type: Guid, Targets: t}
}

func cols(spec string) []Column {
	var out []Column
	for _, f := range strings.Fields(spec) {
		parts := strings.Split(f, ":")
		c := Column{Name: parts[0], Type: Type(parts[1])}
		if len(parts) == 3 {
			n, err := strconv.Atoi(parts[2])
			if err != nil {
				panic("bad column spec " + f)
			}
			c.MaxLength = n
		}
		out = append(out, c)
	}
	return out
}

// computed lists read-only Decimal columns the server calculates.
func computed(names string) []Column {
	var out []Column
	for _, n := range strings.Fields(names) {
		out = append(out, Column{Name: n, Type: Decimal, ReadOnly: true})
	}
	return out
}

func audit() []Column {
	return []Column{
		{Name: "createdon", Type: DateTimeOffset, ReadOnly: true},
		{Name: "modifiedon", Type: DateTimeOffset, ReadOnly: true},
		{Name: "versionnumber", Type: Int64, ReadOnly: true},
	}
}

// StandardTables returns the tables the product uses, with the columns it reads and writes. Names and types
// follow the CDM attribute list (the test in schema_test.go checks every one of them against it).
func StandardTables() []Table {
	return []Table{
		{
			Entity: "salesorder", Set: "salesorders", Key: "salesorderid",
			Columns: append(append(cols(`name:String:300 ordernumber:String:100 description:String:2000
				statecode:OptionSet statuscode:OptionSet submitstatus:Int32 submitstatusdescription:String:2000
				submitdate:DateTimeOffset lastbackofficesubmit:DateTimeOffset datefulfilled:DateTimeOffset
				requestdeliveryby:DateTimeOffset paymenttermscode:OptionSet totalamount:Decimal
				freightamount:Decimal discountamount:Decimal`),
				lookup("customerid", "customerid_account", "accounts"),
				lookup("pricelevelid", "pricelevelid", "pricelevels"),
				lookup("transactioncurrencyid", "transactioncurrencyid", "transactioncurrencies")),
				audit()...),
			Collections: map[string]Collection{"order_details": {Set: "salesorderdetails", ForeignKey: "salesorderid"}},
		},
		{
			Entity: "salesorderdetail", Set: "salesorderdetails", Key: "salesorderdetailid",
			Columns: append(append(cols(`quantity:Decimal priceperunit:Decimal ispriceoverridden:Boolean
				isproductoverridden:Boolean productdescription:String:500 quantityshipped:Decimal
				quantitybackordered:Decimal quantitycancelled:Decimal lineitemnumber:Int32 sequencenumber:Int32 extendedamount:Decimal
				requestdeliveryby:DateTimeOffset description:String:2000`),
				lookup("salesorderid", "salesorderid", "salesorders"),
				lookup("productid", "productid", "products"),
				lookup("uomid", "uomid", "uoms")),
				audit()...),
			Bulk: true,
		},
		{
			// The totals are the pricing engine's (pricing.go); the 2017 entity reference lists them valid for update
			// (and invalid for create), so whether Dataverse refuses a write of them or silently recalculates is
			// UNVERIFIED: refusing it keeps an integration from relying on a value that would not stick.
			Entity: "invoice", Set: "invoices", Key: "invoiceid",
			Columns: append(append(append(cols(`name:String:300 invoicenumber:String:100 description:String:2000
				statecode:OptionSet statuscode:OptionSet paymenttermscode:OptionSet datedelivered:DateTimeOffset
				duedate:DateTimeOffset lastbackofficesubmit:DateTimeOffset ispricelocked:Boolean discountamount:Decimal
				discountpercentage:Decimal freightamount:Decimal`),
				computed(`totallineitemamount totallineitemdiscountamount totaldiscountamount totalamountlessfreight
					totaltax totalamount`)...),
				lookup("customerid", "customerid_account", "accounts"),
				lookup("pricelevelid", "pricelevelid", "pricelevels"),
				lookup("transactioncurrencyid", "transactioncurrencyid", "transactioncurrencies"),
				lookup("salesorderid", "salesorderid", "salesorders")),
				audit()...),
			Collections: map[string]Collection{"invoice_details": {Set: "invoicedetails", ForeignKey: "invoiceid"}},
		},
		{
			// Computed and copied columns are set by the pricing engine (pricing.go). The invoicedetail table
			// reference lists CreateMultiple and UpdateMultiple (and, in its current version, UpsertMultiple).
			Entity: "invoicedetail", Set: "invoicedetails", Key: "invoicedetailid",
			Columns: append(append(append(cols(`quantity:Decimal priceperunit:Decimal manualdiscountamount:Decimal tax:Decimal
				ispriceoverridden:Boolean isproductoverridden:Boolean productdescription:String:500 lineitemnumber:Int32
				sequencenumber:Int32 description:String:2000`),
				computed(`volumediscountamount baseamount extendedamount`)...),
				Column{Name: "pricingerrorcode", Type: OptionSet, ReadOnly: true},
				Column{Name: "invoiceispricelocked", Type: Boolean, ReadOnly: true},
				Column{Name: "invoicestatecode", Type: OptionSet, ReadOnly: true},
				lookup("invoiceid", "invoiceid", "invoices"),
				lookup("productid", "productid", "products"),
				lookup("uomid", "uomid", "uoms")),
				audit()...),
			Bulk: true,
		},
		{
			Entity: "account", Set: "accounts", Key: "accountid", AltKeys: [][]string{{"accountnumber"}},
			Columns: append(cols(`name:String:160 accountnumber:String:20 paymenttermscode:OptionSet
				address1_line1:String:250 address1_city:String:80 address1_postalcode:String:20 address1_country:String:80
				telephone1:String:50 emailaddress1:String:100 creditonhold:Boolean creditlimit:Decimal
				statecode:OptionSet statuscode:OptionSet description:String:2000`), audit()...),
			Bulk: true,
		},
		{
			Entity: "product", Set: "products", Key: "productid", AltKeys: [][]string{{"productnumber"}},
			Columns: append(append(cols(`name:String:100 productnumber:String:100 quantityonhand:Decimal description:String:2000
				statecode:OptionSet statuscode:OptionSet price:Decimal standardcost:Decimal currentcost:Decimal
				quantitydecimal:Int32`),
				lookup("defaultuomid", "defaultuomid", "uoms"),
				lookup("defaultuomscheduleid", "defaultuomscheduleid", "uomschedules"),
				lookup("pricelevelid", "pricelevelid", "pricelevels"),
				lookup("parentproductid", "parentproductid", "products")),
				audit()...),
			Bulk: true,
		},
		{
			Entity: "pricelevel", Set: "pricelevels", Key: "pricelevelid",
			Columns: append(append(cols(`name:String:100 description:String:2000 begindate:DateTimeOffset enddate:DateTimeOffset
				statecode:OptionSet statuscode:OptionSet`),
				lookup("transactioncurrencyid", "transactioncurrencyid", "transactioncurrencies")), audit()...),
		},
		{
			Entity: "productpricelevel", Set: "productpricelevels", Key: "productpricelevelid",
			Columns: append(append(append(cols(`amount:Decimal`),
				// Copied from the product; not valid for create or update.
				Column{Name: "productnumber", Type: String, MaxLength: 100, ReadOnly: true}),
				lookup("pricelevelid", "pricelevelid", "pricelevels"),
				lookup("productid", "productid", "products"),
				lookup("uomid", "uomid", "uoms"),
				lookup("uomscheduleid", "uomscheduleid", "uomschedules")), audit()...),
		},
		{
			// A unit group: every product has one, and its default unit must be one of the group's units.
			Entity: "uomschedule", Set: "uomschedules", Key: "uomscheduleid",
			Columns: append(cols(`name:String:200 description:String:2000 baseuomname:String:100
				statecode:OptionSet statuscode:OptionSet`), audit()...),
		},
		{
			Entity: "uom", Set: "uoms", Key: "uomid",
			Columns: append(append(cols(`name:String:100 quantity:Decimal isschedulebaseuom:Boolean`),
				lookup("uomscheduleid", "uomscheduleid", "uomschedules"),
				lookup("baseuom", "baseuom", "uoms")), audit()...),
		},
	}
}

var identRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// validate checks a table definition (used for custom columns passed in Options).
func (t *Table) validate() error {
	if !identRE.MatchString(t.Entity) || !identRE.MatchString(t.Set) || t.Key == "" {
		return fmt.Errorf("table %q: entity, set and key are required", t.Set)
	}
	seen := map[string]bool{t.Key: true}
	for _, c := range t.Columns {
		if !identRE.MatchString(c.Name) {
			return fmt.Errorf("table %s: bad column name %q", t.Set, c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("table %s: duplicate column %q", t.Set, c.Name)
		}
		seen[c.Name] = true
	}
	for _, k := range t.AltKeys {
		for _, c := range k {
			if !seen[c] {
				return fmt.Errorf("table %s: alternate key column %q is not a column", t.Set, c)
			}
		}
	}
	return nil
}

func (t *Table) column(name string) (Column, bool) {
	if name == t.Key {
		return Column{Name: t.Key, Type: Guid}, true
	}
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// navTarget resolves "<nav>" of a single-valued navigation property to its lookup column and target set.
func (t *Table) navTarget(nav string) (Column, string, bool) {
	for _, c := range t.Columns {
		if set, ok := c.Targets[nav]; ok {
			return c, set, true
		}
	}
	return Column{}, "", false
}

func (t *Table) columnNames() []string {
	names := []string{t.Key}
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}
