package invoices

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/dataverse"
)

const lineColumns = "invoicedetailid,lineitemnumber,_productid_value,_uomid_value,quantity,priceperunit,manualdiscountamount,tax,isproductoverridden,productdescription"

// current reads the invoice of a billing document with its lines; found is false when D365 has none.
func (s *Service) current(ctx context.Context, number string) (invoice, bool, error) {
	m := s.Mapping
	sel := []string{"invoiceid", "statecode", "statuscode", "name", "totalamount", "totaltax", "totallineitemamount", m.ChangedColumn}
	for _, c := range []string{m.BillingDateColumn, m.ClearingStatusColumn} {
		if c != "" {
			sel = append(sel, c)
		}
	}
	for _, l := range lookups {
		sel = append(sel, l.column)
	}
	sort.Strings(sel)
	rec, err := s.Dataverse.Retrieve(ctx, "invoices", dataverse.AltKey(m.KeyColumn, number), &dataverse.RetrieveOptions{
		Select: sel, Expand: []string{"invoice_details($select=" + lineColumns + ")"}})
	switch {
	case dataverse.IsKind(err, dataverse.KindNotFound):
		return invoice{}, false, nil
	case err != nil:
		return invoice{}, false, classify.Dataverse(err, "reading the D365 invoice of SAP billing document "+number)
	}
	inv := invoice{ID: rec.String("invoiceid"), ETag: rec.ETag(), Columns: dataverse.Record{}, Binds: map[string]string{},
		Total: rec.Number("totalamount").String(), Tax: rec.Number("totaltax").String(), Net: rec.Number("totallineitemamount").String()}
	st, _ := strconv.Atoi(rec.Number("statecode").String())
	inv.State = state(st)
	for _, c := range []string{"name", m.BillingDateColumn, m.ClearingStatusColumn} {
		if c != "" {
			inv.Columns[c] = rec.String(c)
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, rec.String(m.ChangedColumn)); err == nil {
		inv.Changed = t
	}
	for nav, l := range lookups {
		if v := rec.String(l.column); v != "" {
			inv.Binds[nav] = strings.ToLower(v)
		}
	}
	for _, d := range rec.Records("invoice_details") {
		n, _ := strconv.Atoi(d.Number("lineitemnumber").String())
		l := line{ID: d.String("invoicedetailid"), Item: n, Quantity: ratOf(d["quantity"]), PerUnit: ratOf(d["priceperunit"]),
			Discount: ratOf(d["manualdiscountamount"]), Tax: ratOf(d["tax"])}
		if d.Bool("isproductoverridden") {
			l.Description = d.String("productdescription")
		} else {
			l.Product, l.Unit = strings.ToLower(d.String("_productid_value")), strings.ToLower(d.String("_uomid_value"))
		}
		inv.Lines = append(inv.Lines, l)
	}
	sort.Slice(inv.Lines, func(i, j int) bool { return inv.Lines[i].Item < inv.Lines[j].Item })
	return inv, true, nil
}

// product is a D365 product a material may be invoiced as, with the units of its unit group by name.
type product struct {
	id, group string
	units     map[string]string
}

// products finds the D365 products of the materials (by productnumber) that are active, with their units. A
// material D365 lacks (or has retired) is absent: its line is a write-in.
func (s *Service) products(ctx context.Context, materials []string) (map[string]product, error) {
	out := map[string]product{}
	const chunk = 25 // keeps the filter well inside the URL limit
	for i := 0; i < len(materials); i += chunk {
		part := materials[i:min(i+chunk, len(materials))]
		var or []string
		for _, m := range part {
			f, err := dataverse.Filterf("productnumber eq %s", m)
			if err != nil {
				return nil, err
			}
			or = append(or, f)
		}
		q := &dataverse.Query{Select: []string{"productid", "productnumber", "statecode", "_defaultuomscheduleid_value"}, Filter: strings.Join(or, " or ")}
		for rec, err := range s.Dataverse.List(ctx, "products", q) {
			if err != nil {
				return nil, classify.Dataverse(err, "reading the D365 products of a billing document")
			}
			if st := rec.Number("statecode").String(); st != "0" && st != "3" {
				continue // draft or retired: not sellable, so the line is a write-in
			}
			out[rec.String("productnumber")] = product{id: strings.ToLower(rec.String("productid")),
				group: strings.ToLower(rec.String("_defaultuomscheduleid_value")), units: map[string]string{}}
		}
	}
	groups := map[string]map[string]string{}
	for k, p := range out {
		if p.group == "" {
			continue
		}
		units, ok := groups[p.group]
		if !ok {
			units = map[string]string{}
			f, err := dataverse.Filterf("_uomscheduleid_value eq %s", dataverse.GUID(p.group))
			if err != nil {
				return nil, err
			}
			for rec, err := range s.Dataverse.List(ctx, "uoms", &dataverse.Query{Select: []string{"uomid", "name"}, Filter: f}) {
				if err != nil {
					return nil, classify.Dataverse(err, "reading the units of a D365 unit group")
				}
				units[rec.String("name")] = strings.ToLower(rec.String("uomid"))
			}
			groups[p.group] = units
		}
		p.units = units
		out[k] = p
	}
	return out, nil
}

// order reads the D365 order a billing document bills: its customer, price list and currency.
func (s *Service) order(ctx context.Context, id string) (dataverse.Record, bool, error) {
	rec, err := s.Dataverse.Retrieve(ctx, "salesorders", dataverse.ID(id), &dataverse.RetrieveOptions{
		Select: []string{"salesorderid", "_customerid_value", "_pricelevelid_value", "_transactioncurrencyid_value"}})
	switch {
	case dataverse.IsKind(err, dataverse.KindNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, classify.Dataverse(err, fmt.Sprintf("reading D365 order %s", id))
	}
	return rec, true, nil
}
