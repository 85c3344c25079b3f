package sap

import (
	"fmt"
	"reflect"
	"strings"
)

// fieldSpec is what SAP's EDMX says about a property the client writes.
type fieldSpec struct {
	Type      string // Edm type
	MaxLength int    // Edm.String
	Precision int    // Edm.Decimal
	Scale     int
}

// writableFields are the properties the client sends, per entity type, as SAP's EDMX defines them (checked against
// ../shared/sap/edmx by TestWritableFieldsMatchEDMX).
var writableFields = map[string]map[string]fieldSpec{
	"A_SalesOrderType": {
		"SalesOrderType":            {Type: "Edm.String", MaxLength: 4},
		"SalesOrganization":         {Type: "Edm.String", MaxLength: 4},
		"DistributionChannel":       {Type: "Edm.String", MaxLength: 2},
		"OrganizationDivision":      {Type: "Edm.String", MaxLength: 2},
		"SoldToParty":               {Type: "Edm.String", MaxLength: 10},
		"PurchaseOrderByCustomer":   {Type: "Edm.String", MaxLength: 35},
		"CustomerPurchaseOrderDate": {Type: "Edm.DateTime"},
		"SalesOrderDate":            {Type: "Edm.DateTime"},
		"RequestedDeliveryDate":     {Type: "Edm.DateTime"},
		"TransactionCurrency":       {Type: "Edm.String", MaxLength: 5},
		"CustomerPaymentTerms":      {Type: "Edm.String", MaxLength: 4},
		"ShippingCondition":         {Type: "Edm.String", MaxLength: 2},
		"IncotermsClassification":   {Type: "Edm.String", MaxLength: 3},
		"IncotermsLocation1":        {Type: "Edm.String", MaxLength: 70},
		"DeliveryBlockReason":       {Type: "Edm.String", MaxLength: 2},
		"HeaderBillingBlockReason":  {Type: "Edm.String", MaxLength: 2},
	},
	"A_SalesOrderItemType": {
		"SalesOrderItem":          {Type: "Edm.String", MaxLength: 6},
		"Material":                {Type: "Edm.String", MaxLength: 40},
		"MaterialByCustomer":      {Type: "Edm.String", MaxLength: 35},
		"SalesOrderItemText":      {Type: "Edm.String", MaxLength: 40},
		"RequestedQuantity":       {Type: "Edm.Decimal", Precision: 15, Scale: 3},
		"RequestedQuantityUnit":   {Type: "Edm.String", MaxLength: 3},
		"SalesOrderItemCategory":  {Type: "Edm.String", MaxLength: 4},
		"ProductionPlant":         {Type: "Edm.String", MaxLength: 4},
		"StorageLocation":         {Type: "Edm.String", MaxLength: 4},
		"ShippingPoint":           {Type: "Edm.String", MaxLength: 4},
		"PurchaseOrderByCustomer": {Type: "Edm.String", MaxLength: 35},
	},
	"A_SalesOrderTextType": {
		"Language":   {Type: "Edm.String", MaxLength: 2},
		"LongTextID": {Type: "Edm.String", MaxLength: 4},
		"LongText":   {Type: "Edm.String"},
	},
	"A_BusinessPartnerType": {
		"OrganizationBPName1":      {Type: "Edm.String", MaxLength: 40},
		"OrganizationBPName2":      {Type: "Edm.String", MaxLength: 40},
		"SearchTerm1":              {Type: "Edm.String", MaxLength: 20},
		"BusinessPartnerIsBlocked": {Type: "Edm.Boolean"},
	},
	"A_CustomerSalesAreaType": {
		"CustomerPaymentTerms":      {Type: "Edm.String", MaxLength: 4},
		"IncotermsClassification":   {Type: "Edm.String", MaxLength: 3},
		"ShippingCondition":         {Type: "Edm.String", MaxLength: 2},
		"CustomerPriceGroup":        {Type: "Edm.String", MaxLength: 2},
		"OrderIsBlockedForCustomer": {Type: "Edm.String", MaxLength: 2},
	},
}

// validatePayload checks a write payload (a struct with JSON tags, nested slices for deep inserts) against
// writableFields before it goes out, so an over-long value fails here with a clear message instead of a 400.
// Problems the caller found already (extension fields) are reported with them.
func validatePayload(entityType string, v any, nested map[string]string, found ...string) error {
	problems := found
	checkStruct(entityType, reflect.ValueOf(v), nested, "", &problems)
	if len(problems) > 0 {
		return &ValidationError{Problems: problems}
	}
	return nil
}

func checkStruct(entityType string, rv reflect.Value, nested map[string]string, prefix string, problems *[]string) {
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return
		}
		rv = rv.Elem()
	}
	specs := writableFields[entityType]
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fv := rv.Field(i)
		if child, ok := nested[name]; ok {
			for j := range fv.Len() {
				checkStruct(child, fv.Index(j), nested, fmt.Sprintf("%s%s[%d].", prefix, name, j), problems)
			}
			continue
		}
		spec, ok := specs[name]
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s%s is not a writable property of %s", prefix, name, entityType))
			continue
		}
		val := fv.Interface()
		if ps, ok := val.(*string); ok {
			if ps == nil {
				continue
			}
			val = *ps
		}
		switch x := val.(type) {
		case string:
			if n := Length(x); spec.MaxLength > 0 && n > spec.MaxLength {
				*problems = append(*problems, fmt.Sprintf("%s%s is %d characters, more than %d", prefix, name, n, spec.MaxLength))
			}
		case Decimal:
			if !x.FitsEDM(spec.Precision, spec.Scale) {
				*problems = append(*problems, fmt.Sprintf("%s%s %s does not fit Edm.Decimal(%d,%d)", prefix, name, x, spec.Precision, spec.Scale))
			}
		}
	}
}
