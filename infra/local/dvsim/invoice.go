package dvsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The invoice rules of Dynamics 365 Sales: states, the read-only closed invoice, and the pricing (pricing.go) run
// on every write of an invoice or a line, whichever message carries it (POST, PATCH, upsert by key, deep insert,
// $batch changesets, bulk messages).
//
// Looked up: the invoice table reference (ce/developer/entities/invoice.md) gives SetState as "PATCH
// invoices(invoiceid), update statecode and statuscode" (no close message, unlike salesorder), statecode not valid
// for create, each state's DefaultStatus (Active 1, Paid 100001, Canceled 100003), and, as Invoice.cdm.json does,
// "Paid and canceled invoices are read-only and can't be edited unless they are reactivated": a closed invoice
// takes a state change back to Active and nothing else. The error codes are data-service-errors.md's:
// CannotUpdateBecauseItIsReadOnly, CannotDeleteAsItIsReadOnly, InvalidStateCodeStatusCode, and CannotCancelInvoice
// ("not in active or paid state": so a paid invoice may still be canceled). ispricelocked: "When the invoice pricing
// is locked, changes to underlying price lists (price levels) do not affect the prices" (LockInvoicePricing).
//
// UNVERIFIED: which of these errors the platform answers for a line written or deleted under a closed invoice
// (the read-only ones are used); that a paid invoice cannot move between its status reasons or a canceled one to
// Paid without reactivation; whether the platform refuses or ignores a statecode in a create body (the invoice
// starts Active whatever it says, as a product takes its initial state in catalog.go); whether a closed invoice can
// be deleted (allowed); the invoicenumber format ("INV-01001-X1Y2Z3", from a constructed sample); what a write-in
// line without a description or with a product is answered (refused); that changing the price list or unlocking
// reprices the lines.

// Invoice states (statecode).
const (
	invoiceActive   = 0
	invoiceClosed   = 1 // "Closed (deprecated)": refused
	invoicePaid     = 2
	invoiceCanceled = 3
)

// invoiceStatuses are the status reasons (statuscode) of each state that can be set.
var invoiceStatuses = map[int][]int{invoiceActive: {1, 2, 4, 5, 6}, invoicePaid: {100001, 100002}, invoiceCanceled: {100003}}

var invoiceDefaultStatus = map[int]int{invoiceActive: 1, invoicePaid: 100001, invoiceCanceled: 100003}

const (
	codeReadOnly            = "0x8004022e"        // CannotUpdateBecauseItIsReadOnly
	codeDeleteReadOnly      = "0x80040228"        // CannotDeleteAsItIsReadOnly
	codeCannotCancelInvoice = "0x80100001"        // CannotCancelInvoice
	codeWriteIn             = codeInvalidArgument // what a malformed write-in line is answered is UNVERIFIED
)

func errReadOnly() *apiError {
	return errf(400, codeReadOnly, "The object cannot be updated because it is read-only.")
}

func errStateStatus() *apiError {
	return errf(400, codeInvalidStateStatus, "State code is invalid or state code is valid but status code is invalid for a specified state code.")
}

func statusOf(state, status int) bool {
	for _, s := range invoiceStatuses[state] {
		if s == status {
			return true
		}
	}
	return false
}

func invoiceIsClosed(values map[string]any) bool {
	st, _ := intValue(values["statecode"])
	return st == invoicePaid || st == invoiceCanceled
}

// invoiceCreate: a new invoice is Active (New unless an Active status reason is given) and unlocked, numbered when
// no number is given, with zero totals.
func (s *Server) invoiceCreate(values map[string]any) *apiError {
	status := invoiceDefaultStatus[invoiceActive]
	if v, ok := values["statuscode"]; ok && v != nil {
		n, _ := intValue(v)
		if !statusOf(invoiceActive, n) {
			return errStateStatus()
		}
		status = n
	}
	values["statecode"], values["statuscode"] = jsonInt(invoiceActive), jsonInt(status)
	// ispricelocked is not valid for create (its DefaultValue is false); locking is an update or LockInvoicePricing.
	values["ispricelocked"] = false
	if values["invoicenumber"] == nil {
		suffix := strings.ToUpper(strings.ReplaceAll(newGUID(), "-", "")[:6])
		values["invoicenumber"] = fmt.Sprintf("INV-%05d-%s", 1001+len(s.store.tables["invoices"].rows), suffix)
	}
	if err := s.checkNumbers("invoice", values); err != nil {
		return err
	}
	for k, v := range s.invoiceTotals(&row{values: values}) {
		values[k] = v
	}
	return nil
}

// invoiceUpdate checks an update of cur: a closed invoice takes only a state change, a state change names a state
// and one of its status reasons (a state alone takes its default reason).
func (s *Server) invoiceUpdate(cur *row, values map[string]any) *apiError {
	from, _ := intValue(cur.values["statecode"])
	closed := invoiceIsClosed(cur.values)
	if closed {
		for k := range values {
			if k != "statecode" && k != "statuscode" {
				return errReadOnly()
			}
		}
	}
	sv, hasState := values["statecode"]
	rv, hasStatus := values["statuscode"]
	if hasState || hasStatus {
		to := from
		if hasState {
			n, ok := intValue(sv)
			if _, settable := invoiceStatuses[n]; !ok || !settable {
				return errStateStatus() // includes 1, Closed (deprecated)
			}
			to = n
		}
		if hasStatus {
			if n, ok := intValue(rv); !ok || !statusOf(to, n) {
				return errStateStatus()
			}
		} else if to != from {
			values["statuscode"] = jsonInt(invoiceDefaultStatus[to])
		}
		switch {
		case !closed, to == invoiceActive:
			// An active invoice moves freely; a closed one may be reactivated.
		case from == invoiceCanceled && to == invoiceCanceled:
			return errf(400, codeCannotCancelInvoice, "The invoice cannot be cancelled because it is not in active or paid state.")
		case from == invoicePaid && to == invoiceCanceled:
		default:
			return errReadOnly()
		}
	}
	return s.checkNumbers("invoice", values)
}

// invoiceLineWrite checks a new line (cur nil) or an update of one and computes its system columns into values.
// A line of a closed invoice, or moved to one, cannot be written.
func (s *Server) invoiceLineWrite(cur *row, values map[string]any) *apiError {
	invoices := s.store.tables["invoices"]
	if cur != nil {
		if inv, ok := invoices.rows[fmt.Sprint(cur.values["invoiceid"])]; ok && invoiceIsClosed(inv.values) {
			return errReadOnly()
		}
	}
	if err := s.checkNumbers("invoicedetail", values); err != nil {
		return err
	}
	line := map[string]any{}
	if cur != nil {
		for k, v := range cur.values {
			line[k] = v
		}
	}
	for k, v := range values {
		line[k] = v
	}
	if line["isproductoverridden"] == true {
		if d, _ := line["productdescription"].(string); strings.TrimSpace(d) == "" {
			return errf(400, codeWriteIn, "A write-in product (isproductoverridden) needs a productdescription.")
		}
		if line["productid"] != nil {
			return errf(400, codeWriteIn, "A write-in product (isproductoverridden) cannot name an existing product (productid).")
		}
	}
	id, _ := line["invoiceid"].(string)
	inv, ok := invoices.rows[id]
	if !ok {
		return nil // the required-column check of the write answers
	}
	if invoiceIsClosed(inv.values) {
		return errReadOnly()
	}
	for k, v := range s.priceLine(inv.values, line) {
		values[k] = v
	}
	return nil
}

// afterWrite runs the pricing a write of r (prev: the row before an update, nil for a create) sets off, and returns
// r as it now is.
func (s *Server) afterWrite(x *tx, td *tableData, r *row, prev *row) *row {
	switch td.def.Entity {
	case "invoice":
		s.invoiceChanged(x, r, prev)
	case "invoicedetail":
		s.updateTotals(x, r.values["invoiceid"])
		if prev != nil && prev.values["invoiceid"] != r.values["invoiceid"] {
			s.updateTotals(x, prev.values["invoiceid"])
		}
	}
	return td.rows[r.id]
}

// invoiceChanged copies the invoice's state and lock to its lines, reprices them when the price list or the lock
// changed on an active invoice, and updates the totals.
func (s *Server) invoiceChanged(x *tx, inv *row, prev *row) {
	changed := func(col string) bool {
		c, ok := compareValues(prev.values[col], inv.values[col])
		return !ok || c != 0
	}
	reprice := prev != nil && !invoiceIsClosed(inv.values) && (changed("pricelevelid") || changed("ispricelocked"))
	lines := s.store.tables["invoicedetails"]
	for _, l := range lines.referring("invoiceid", inv.id) {
		upd := map[string]any{"invoicestatecode": inv.values["statecode"], "invoiceispricelocked": inv.values["ispricelocked"] == true}
		if reprice {
			upd = s.priceLine(inv.values, l.values)
		}
		s.store.recalc(x, lines, l.id, upd)
	}
	s.updateTotals(x, inv.id)
}

func (s *Server) updateTotals(x *tx, invoiceID any) {
	invoices := s.store.tables["invoices"]
	id, _ := invoiceID.(string)
	if inv, ok := invoices.rows[id]; ok {
		s.store.recalc(x, invoices, id, s.invoiceTotals(inv))
	}
}

// beforeDelete refuses deleting a line of a closed invoice.
func (s *Server) beforeDelete(td *tableData, r *row) *apiError {
	if td.def.Entity != "invoicedetail" {
		return nil
	}
	if inv, ok := s.store.tables["invoices"].rows[fmt.Sprint(r.values["invoiceid"])]; ok && invoiceIsClosed(inv.values) {
		return errf(400, codeDeleteReadOnly, "The object cannot be deleted because it is read-only.")
	}
	return nil
}

// afterDelete updates the totals of a deleted line's invoice.
func (s *Server) afterDelete(x *tx, td *tableData, r *row) {
	if td.def.Entity == "invoicedetail" {
		s.updateTotals(x, r.values["invoiceid"])
	}
}

// recalc writes what the platform computes (prices, totals, copied columns) to a row inside x. The row's version
// moves, as it does when Dataverse's pricing updates a record, but the write is not the client's and is not counted
// in WriteCounts. A row that already holds the values is left as it is.
func (s *store) recalc(x *tx, t *tableData, id string, values map[string]any) {
	cur, ok := t.rows[id]
	if !ok || sameValues(cur.values, values) {
		return
	}
	x.save(t, id)
	r := cur.clone()
	t.unindex(cur)
	for k, v := range values {
		r.values[k] = v
	}
	r.version = s.nextVersion()
	r.values["versionnumber"] = json.Number(fmt.Sprint(r.version))
	r.values["modifiedon"] = s.now().UTC().Format(time.RFC3339)
	t.rows[id] = r
	t.index(r)
}
