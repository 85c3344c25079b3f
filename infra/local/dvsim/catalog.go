package dvsim

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
)

// The product catalog rules of Dynamics 365 Sales, applied where its plug-ins apply them: on every create and update
// through the API, whichever message carries it (POST, upsert, CreateMultiple/UpdateMultiple/UpsertMultiple,
// $batch). Sources: the product and productpricelevel table references and "Publish, revise, revert, retire, and
// activate products" (MicrosoftDocs/dynamics-365-customer-engagement, ce/sales/developer/), the error codes in
// powerapps-docs developer/data-platform/includes/data-service-errors.md, and the column requirement levels in
// maker/data-platform/create-edit-field-solution-explorer.md: a save through the API enforces only SystemRequired
// columns, so name and quantitydecimal (ApplicationRequired) may be left out, while the catalog plug-in refuses a
// product without a unit group or a default unit.
//
// Insert (seeding) is not an API create: its products start Active, as a published catalog is, and need no units.

// Error codes of the catalog rules (data-service-errors.md).
const (
	codeProductNoNumber        = "0x80043b05" // ProductNoProductNumber
	codeMissingUomScheduleID   = "0x80043b0a" // MissingUomScheduleId
	codeMissingUomID           = "0x80043b0d" // MissingUomId
	codeUnitNotInSchedule      = "0x80043b16" // UnitNotInSchedule
	codeInvalidStateStatus     = "0x80048408" // InvalidStateCodeStatusCode
	codeInvalidStateForPublish = "0x8004F90A" // InvalidStateForPublish
	codeInvalidStateTransition = "0x8004F00E" // InvalidStateTransition
	codeActiveToActive         = "0x8004F982" // ProductFromActiveToActiveState
	codeActiveToDraft          = "0x8004F912" // ProductFromActiveToDraftState
	codeDraftToDraft           = "0x8004F981" // ProductFromDraftToDraftState
	codeDraftToRetired         = "0x8004F978" // ProductFromDraftToRetiredState
	codeDraftToRevised         = "0x8004F913" // ProductFromDraftToRevisedState: also a retired product
	codeRetiredToActive        = "0x8004F977" // ProductFromRetiredToActiveState
	codeRetiredToDraft         = "0x8004F979" // ProductFromRetiredToDraftState
	codeRetiredToRetired       = "0x8004F980" // ProductFromRetiredToRetiredState
	codeReviseOnlyActive       = "0x8004F883" // RecordCanOnlyBeRevisedFromActiveState
	codeMissingPriceLevelID    = "0x80043b12" // MissingPriceLevelId
	codeMissingProductID       = "0x80043b11" // MissingProductId
	codeProductInvalidUnit     = "0x80043b14" // ProductInvalidUnit
	codeDuplicatePriceListItem = "0x80043b08" // DuplicateProductPriceLevel
)

// Product states (statecode) and their one status reason each (statuscode), from the product table reference.
const (
	productActive        = 0 // status 1 Active
	productRetired       = 1 // status 2 Retired
	productDraft         = 2 // status 0 Draft
	productUnderRevision = 3 // status 3 Under Revision
)

var productStatus = map[int]int{productActive: 1, productRetired: 2, productDraft: 0, productUnderRevision: 3}

var productStateName = map[int]string{productActive: "Active", productRetired: "Retired", productDraft: "Draft",
	productUnderRevision: "Under Revision"}

func intValue(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	return i, err == nil
}

func jsonInt(i int) json.Number { return json.Number(strconv.Itoa(i)) }

// beforeCreate applies the catalog rules to a new row's values (the store lock is held).
func (s *Server) beforeCreate(x *tx, td *tableData, values map[string]any) *apiError {
	switch td.def.Entity {
	case "product":
		return s.productCreate(x, values)
	case "productpricelevel":
		return s.priceListItem(nil, values)
	case "invoice":
		return s.invoiceCreate(values)
	case "invoicedetail":
		return s.invoiceLineWrite(nil, values)
	}
	return nil
}

// beforeUpdate applies them to an update of cur.
func (s *Server) beforeUpdate(x *tx, td *tableData, cur *row, values map[string]any) *apiError {
	switch td.def.Entity {
	case "product":
		return s.productUpdate(cur, values)
	case "salesorder":
		return salesOrderUpdate(cur, values)
	case "productpricelevel":
		return s.priceListItem(cur, values)
	case "invoice":
		return s.invoiceUpdate(cur, values)
	case "invoicedetail":
		return s.invoiceLineWrite(cur, values)
	}
	return nil
}

func (s *Server) productCreate(x *tx, values map[string]any) *apiError {
	// The initial state is the catalog's, whatever the body says (UNVERIFIED whether Dataverse honours or refuses a
	// statecode in the create body; taking the initial state never grants a state the real service would not).
	state := productDraft
	if x.seed || s.opts.CreateProductsWithoutParentInActiveState && values["parentproductid"] == nil {
		state = productActive
	}
	values["statecode"], values["statuscode"] = jsonInt(state), jsonInt(productStatus[state])
	if err := checkProductColumns(values, values); err != nil {
		return err
	}
	if x.seed {
		return nil
	}
	return s.checkProductUnits(values)
}

func (s *Server) productUpdate(cur *row, values map[string]any) *apiError {
	merged := make(map[string]any, len(cur.values)+len(values))
	for k, v := range cur.values {
		merged[k] = v
	}
	for k, v := range values {
		merged[k] = v
	}
	if err := checkProductColumns(values, merged); err != nil {
		return err
	}
	_, unit := values["defaultuomid"]
	_, group := values["defaultuomscheduleid"]
	if unit || group {
		if err := s.checkProductUnits(merged); err != nil {
			return err
		}
	}
	return s.productTransition(cur, values)
}

// checkProductColumns checks the columns the platform itself checks: productnumber is SystemRequired, and
// quantitydecimal lies between 0 and 5.
func checkProductColumns(values, merged map[string]any) *apiError {
	if merged["productnumber"] == nil {
		// UNVERIFIED which answers first, the catalog plug-in (this code) or the platform's required-column check.
		return errf(400, codeProductNoNumber, "The product number can not be null.")
	}
	if v, ok := values["quantitydecimal"]; ok && v != nil {
		if n, _ := intValue(v); n < 0 || n > 5 {
			// The platform's range check; the message text is UNVERIFIED.
			return errf(400, codeValidation, "A validation error occurred.  The value %v of 'quantitydecimal' on record of type 'product' is outside the valid range. Accepted Values: 0 to 5", v)
		}
	}
	return nil
}

// checkProductUnits: a product needs a unit group and a default unit that belongs to it.
func (s *Server) checkProductUnits(p map[string]any) *apiError {
	group, _ := p["defaultuomscheduleid"].(string)
	if group == "" {
		return errf(400, codeMissingUomScheduleID, "The unit schedule id is missing.")
	}
	unit, _ := p["defaultuomid"].(string)
	if unit == "" {
		return errf(400, codeMissingUomID, "The unit id is missing.")
	}
	if u, ok := s.store.tables["uoms"].rows[unit]; !ok || u.values["uomscheduleid"] != group {
		return errf(400, codeUnitNotInSchedule, "The unit does not exist in the specified unit schedule.")
	}
	return nil
}

// productTransition checks a change of statecode/statuscode (a SetState, which the Web API does with a PATCH)
// against the product lifecycle: Draft -> Active (publish); Active -> Under Revision (revise) or Retired;
// Under Revision -> Active or Retired; Retired -> Active only for a product without a parent family. A status reason
// left out becomes the state's default.
func (s *Server) productTransition(cur *row, values map[string]any) *apiError {
	sv, hasState := values["statecode"]
	rv, hasStatus := values["statuscode"]
	if !hasState && !hasStatus {
		return nil
	}
	from, _ := intValue(cur.values["statecode"])
	to := from
	if hasState {
		n, ok := intValue(sv)
		if _, known := productStatus[n]; !ok || !known {
			return errf(400, codeInvalidStateStatus, "State code is invalid or state code is valid but status code is invalid for a specified state code.")
		}
		to = n
	}
	if hasStatus {
		if n, ok := intValue(rv); !ok || n != productStatus[to] {
			return errf(400, codeInvalidStateStatus, "State code is invalid or state code is valid but status code is invalid for a specified state code.")
		}
	} else {
		values["statuscode"] = jsonInt(productStatus[to])
	}
	parent, _ := cur.values["parentproductid"].(string)
	if p, ok := values["parentproductid"]; ok {
		parent, _ = p.(string)
	}
	name := fmt.Sprint(cur.values["name"])
	switch {
	case from == productDraft && to == productActive, from == productUnderRevision && to == productActive:
		if parent != "" {
			if p, ok := s.store.tables["products"].rows[parent]; ok {
				if st, _ := intValue(p.values["statecode"]); st != productActive {
					// The rule is documented; the code it answers with is UNVERIFIED.
					return errf(400, codeInvalidStateForPublish, "A child product can be published only when its parent product family is published.")
				}
			}
		}
		return nil
	case from == productActive && (to == productUnderRevision || to == productRetired):
		return nil
	case from == productUnderRevision && to == productRetired:
		return nil
	case from == productRetired && to == productActive:
		if parent != "" {
			return errf(400, codeRetiredToActive, "You can't set a retired property to an active state.")
		}
		return nil
	case from == productActive && to == productActive:
		return errf(400, codeActiveToActive, "Product is already in Active State.")
	case from == productDraft && to == productDraft:
		return errf(400, codeDraftToDraft, "Product is already in Draft State.")
	case from == productRetired && to == productRetired:
		return errf(400, codeRetiredToRetired, "Product is already in Retired State.")
	case from == productUnderRevision && to == productUnderRevision:
		return errf(400, codeReviseOnlyActive, "You can only revise an active product.")
	case from == productActive && to == productDraft:
		return errf(400, codeActiveToDraft, "You can't set a published product to the draft state.")
	case from == productDraft && to == productRetired:
		return errf(400, codeDraftToRetired, "You can't retire this product because %s is in draft state. A product should be in Active/ Under Revision state for retiring.", name)
	case (from == productDraft || from == productRetired) && to == productUnderRevision:
		return errf(400, codeDraftToRevised, "You can't revise a draft or a retired product.")
	case from == productRetired && to == productDraft:
		return errf(400, codeRetiredToDraft, "It is not possible to move product from Retired to Draft State.")
	}
	// Under Revision -> Draft: no dedicated error is documented (the generic code is UNVERIFIED here).
	return errf(400, codeInvalidStateTransition, "The product (Id=%s) entity or component has attempted to transition from an invalid state: %s.",
		cur.id, productStateName[from])
}

// priceListItem checks a new price list item (cur nil) or an update of one: a price list, a product and a unit of
// the product's unit group, at most one item per product and unit on a price list; amount keeps
// organization.pricingdecimalprecision decimals (its PrecisionSource is 1, the organization's pricing precision).
func (s *Server) priceListItem(cur *row, values map[string]any) *apiError {
	item := values
	if cur != nil {
		item = make(map[string]any, len(cur.values)+len(values))
		for k, v := range cur.values {
			item[k] = v
		}
		for k, v := range values {
			item[k] = v
		}
	}
	if v, ok := values["amount"]; ok && v != nil {
		values["amount"] = roundDecimal(v.(json.Number), s.opts.PricingDecimalPrecision)
	}
	list, _ := item["pricelevelid"].(string)
	product, _ := item["productid"].(string)
	unit, _ := item["uomid"].(string)
	switch {
	case list == "":
		return errf(400, codeMissingPriceLevelID, "The price level id is missing.")
	case product == "":
		return errf(400, codeMissingProductID, "The product id is missing.")
	case unit == "":
		// uomid is application-required; that the catalog plug-in refuses an item without it is UNVERIFIED.
		return errf(400, codeMissingUomID, "The unit id is missing.")
	}
	p := s.store.tables["products"].rows[product]
	if group, _ := p.values["defaultuomscheduleid"].(string); group != "" {
		if u := s.store.tables["uoms"].rows[unit]; u == nil || u.values["uomscheduleid"] != group {
			return errf(400, codeProductInvalidUnit, "The specified unit is not valid for this product.")
		}
		if _, given := item["uomscheduleid"]; !given || item["uomscheduleid"] == nil {
			values["uomscheduleid"] = group // UNVERIFIED that the plug-in fills it in
		}
	}
	values["productnumber"] = p.values["productnumber"]
	for _, other := range s.store.tables["productpricelevels"].referring("productid", product) {
		if (cur == nil || other.id != cur.id) && other.values["pricelevelid"] == list && other.values["uomid"] == unit {
			// A plug-in error: 400 as plug-in errors are, UNVERIFIED for this one.
			return errf(400, codeDuplicatePriceListItem, "This product and unit combination has a price for this price list.")
		}
	}
	return nil
}

// roundDecimal rounds n to places decimals, half to even as .NET's decimal.Round does (UNVERIFIED which mode
// Dataverse uses; XrmMockup, a CRM emulator, rounds this way), and writes exactly places decimals.
func roundDecimal(n json.Number, places int) json.Number {
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return n
	}
	return roundRat(r, places)
}

// roundRat is roundDecimal for an exact value.
func roundRat(r *big.Rat, places int) json.Number {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	q, m := new(big.Int).QuoRem(scaled.Num(), scaled.Denom(), new(big.Int))
	if c := new(big.Int).Mul(new(big.Int).Abs(m), big.NewInt(2)).Cmp(scaled.Denom()); c > 0 || c == 0 && q.Bit(0) == 1 {
		q.Add(q, big.NewInt(int64(scaled.Num().Sign())))
	}
	sign := ""
	if q.Sign() < 0 {
		sign = "-"
		q.Abs(q)
	}
	digits := fmt.Sprintf("%0*s", places+1, q.String())
	if places == 0 {
		return json.Number(sign + digits)
	}
	return json.Number(sign + digits[:len(digits)-places] + "." + digits[len(digits)-places:])
}
