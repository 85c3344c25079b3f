package sap

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Product is A_Product (with to_Description when expanded).
type Product struct {
	Product             string                       `json:"Product"`
	ProductType         string                       `json:"ProductType"`
	BaseUnit            string                       `json:"BaseUnit"`
	ProductGroup        string                       `json:"ProductGroup"`
	Division            string                       `json:"Division"`
	IsMarkedForDeletion bool                         `json:"IsMarkedForDeletion"`
	CreationDate        DateTime                     `json:"CreationDate"`
	LastChangeDateTime  DateTimeOffset               `json:"LastChangeDateTime"`
	Descriptions        Expanded[ProductDescription] `json:"to_Description"`
}

// ProductDescription is A_ProductDescription.
type ProductDescription struct {
	Product            string `json:"Product"`
	Language           string `json:"Language"`
	ProductDescription string `json:"ProductDescription"`
}

// ProductQuery selects products changed after Since.
type ProductQuery struct {
	Since time.Time
	// WithDescriptions expands to_Description.
	WithDescriptions bool
	// InlineCount asks for the number of rows with the first page (Rows.Count), for progress and ETA.
	InlineCount bool
	PageSize    int
	Top         int
}

// ProductsChangedSince streams products whose LastChangeDateTime is after q.Since, oldest change first (ties by
// product), so that a reader can checkpoint at any row: every row before it has been read.
func (c *Client) ProductsChangedSince(ctx context.Context, q ProductQuery) *Rows[Product] {
	query := Query{
		Filter:      Gt("LastChangeDateTime", DateTimeOffset{q.Since}),
		Select:      []string{"Product", "ProductType", "BaseUnit", "ProductGroup", "Division", "IsMarkedForDeletion", "CreationDate", "LastChangeDateTime"},
		OrderBy:     []string{"LastChangeDateTime", "Product"},
		PageSize:    q.PageSize,
		Top:         q.Top,
		InlineCount: q.InlineCount,
	}
	if q.WithDescriptions {
		query.Expand = []string{"to_Description"}
		query.Select = append(query.Select, "to_Description")
	}
	return newRows[Product](ctx, c, ServiceProduct, "A_Product", query)
}

// StockRow is one A_MatlStkInAcctMod row: the quantity of a material in one stock bucket.
type StockRow struct {
	Material                  string  `json:"Material"`
	Plant                     string  `json:"Plant"`
	StorageLocation           string  `json:"StorageLocation"`
	Batch                     string  `json:"Batch"`
	Supplier                  string  `json:"Supplier"`
	Customer                  string  `json:"Customer"`
	WBSElementInternalID      string  `json:"WBSElementInternalID"`
	SDDocument                string  `json:"SDDocument"`
	SDDocumentItem            string  `json:"SDDocumentItem"`
	InventorySpecialStockType string  `json:"InventorySpecialStockType"`
	InventoryStockType        string  `json:"InventoryStockType"`
	MaterialBaseUnit          string  `json:"MaterialBaseUnit"`
	Quantity                  Decimal `json:"MatlWrhsStkQtyInMatlBaseUnit"`
}

// StockQuery narrows stock (every field optional).
type StockQuery struct {
	Material string
	Plant    string
	// Plants keeps rows of any of these plants.
	Plants []string
	// StockType keeps rows of one InventoryStockType ("01" is unrestricted use).
	StockType string
	// After keeps rows of materials after this one; with ByMaterial, a reader resumes where it stopped.
	After string
	// ByMaterial orders the rows by material (then plant and storage location), so one material's rows are
	// adjacent and a reader can sum them as they pass.
	ByMaterial bool
	// InlineCount asks for the number of rows with the first page (Rows.Count).
	InlineCount bool
	PageSize    int
	Top         int
}

var stockSelect = []string{"Material", "Plant", "StorageLocation", "Batch", "Supplier", "Customer",
	"WBSElementInternalID", "SDDocument", "SDDocumentItem", "InventorySpecialStockType", "InventoryStockType",
	"MaterialBaseUnit", "MatlWrhsStkQtyInMatlBaseUnit"}

// Stock streams stock rows per material and plant.
func (c *Client) Stock(ctx context.Context, q StockQuery) *Rows[StockRow] {
	var fs []Filter
	if q.Material != "" {
		fs = append(fs, Eq("Material", q.Material))
	}
	if q.Plant != "" {
		fs = append(fs, Eq("Plant", q.Plant))
	}
	if len(q.Plants) > 0 {
		ps := make([]Filter, len(q.Plants))
		for i, p := range q.Plants {
			ps[i] = Eq("Plant", p)
		}
		fs = append(fs, Or(ps...))
	}
	if q.StockType != "" {
		fs = append(fs, Eq("InventoryStockType", q.StockType))
	}
	if q.After != "" {
		fs = append(fs, Gt("Material", q.After))
	}
	var order []string
	if q.ByMaterial {
		order = []string{"Material", "Plant", "StorageLocation"}
	}
	return newRows[StockRow](ctx, c, ServiceMaterial, "A_MatlStkInAcctMod",
		Query{Filter: And(fs...), Select: stockSelect, OrderBy: order, PageSize: q.PageSize, Top: q.Top, InlineCount: q.InlineCount})
}

// PriceCondition is A_SlsPrcgCndnRecdValidity (the validity and the key fields of a condition record) with its
// record (rate, unit, currency) expanded.
type PriceCondition struct {
	ConditionRecord            string   `json:"ConditionRecord"`
	ConditionValidityStartDate DateTime `json:"ConditionValidityStartDate"`
	ConditionValidityEndDate   DateTime `json:"ConditionValidityEndDate"`
	ConditionType              string   `json:"ConditionType"`
	Material                   string   `json:"Material"`
	Customer                   string   `json:"Customer"`
	SalesOrganization          string   `json:"SalesOrganization"`
	DistributionChannel        string   `json:"DistributionChannel"`
	// ConditionReleaseStatus is "" for a released record; "A" blocked, "B"/"C" released for simulation only.
	ConditionReleaseStatus string          `json:"ConditionReleaseStatus"`
	Record                 ConditionRecord `json:"to_SlsPrcgConditionRecord"`
}

// ConditionRecord is A_SlsPrcgConditionRecord. ConditionTable names the key combination the record was made for
// (e.g. "304" material, "305" customer/material); ConditionCalculationType says how the rate applies ("C" per
// quantity, "A" a percentage, whose ConditionRateValueUnit is "%").
type ConditionRecord struct {
	ConditionRecord          string         `json:"ConditionRecord"`
	ConditionType            string         `json:"ConditionType"`
	ConditionTable           string         `json:"ConditionTable"`
	ConditionCalculationType string         `json:"ConditionCalculationType"`
	ConditionRateValue       Decimal        `json:"ConditionRateValue"`
	ConditionRateValueUnit   string         `json:"ConditionRateValueUnit"`
	ConditionCurrency        string         `json:"ConditionCurrency"`
	ConditionQuantity        Decimal        `json:"ConditionQuantity"`
	ConditionQuantityUnit    string         `json:"ConditionQuantityUnit"`
	ConditionIsDeleted       bool           `json:"ConditionIsDeleted"`
	LastChangeDateTime       DateTimeOffset `json:"LastChangeDateTime"`
}

// PriceQuery selects price conditions valid on ValidOn (zero: every validity); empty fields are not filtered.
type PriceQuery struct {
	ConditionType       string // e.g. "PPR0"
	Material            string
	Customer            string
	SalesOrganization   string
	DistributionChannel string
	ValidOn             time.Time
	// ConditionTypes keeps validities of any of these types (with ConditionType, of that one too).
	ConditionTypes []string
	// ByMaterial orders the validities by material, so one material's are adjacent and a reader can pick among
	// them as they pass.
	ByMaterial bool
	// After keeps validities of materials after this one; with ByMaterial, a reader resumes where it stopped.
	// With AfterRecord too, it keeps After's own validities of condition records after AfterRecord as well: a
	// reader paging by (Material, ConditionRecord) resumes inside a material with many records.
	After, AfterRecord string
	// MaterialsOnly leaves out validities of key combinations without a material (customer-only records).
	MaterialsOnly bool
	// InlineCount asks for the number of rows with the first page (Rows.Count).
	InlineCount bool
	PageSize    int
	Top         int
}

// PriceConditions streams condition validities with their records.
func (c *Client) PriceConditions(ctx context.Context, q PriceQuery) *Rows[PriceCondition] {
	var fs []Filter
	for _, f := range []struct{ name, v string }{{"ConditionType", q.ConditionType}, {"Material", q.Material},
		{"Customer", q.Customer}, {"SalesOrganization", q.SalesOrganization}, {"DistributionChannel", q.DistributionChannel}} {
		if f.v != "" {
			fs = append(fs, Eq(f.name, f.v))
		}
	}
	if len(q.ConditionTypes) > 0 {
		ts := make([]Filter, len(q.ConditionTypes))
		for i, ct := range q.ConditionTypes {
			ts[i] = Eq("ConditionType", ct)
		}
		fs = append(fs, Or(ts...))
	}
	if !q.ValidOn.IsZero() {
		day := DateTime{q.ValidOn.UTC().Truncate(24 * time.Hour)}
		fs = append(fs, Le("ConditionValidityStartDate", day), Ge("ConditionValidityEndDate", day))
	}
	if q.MaterialsOnly {
		fs = append(fs, Ne("Material", ""))
	}
	switch {
	case q.After != "" && q.AfterRecord != "":
		fs = append(fs, Or(Gt("Material", q.After), And(Eq("Material", q.After), Gt("ConditionRecord", q.AfterRecord))))
	case q.After != "":
		fs = append(fs, Gt("Material", q.After))
	}
	var order []string
	if q.ByMaterial {
		order = []string{"Material", "ConditionRecord"}
	}
	return newRows[PriceCondition](ctx, c, ServicePricing, "A_SlsPrcgCndnRecdValidity",
		Query{Filter: And(fs...), Expand: []string{"to_SlsPrcgConditionRecord"}, OrderBy: order, PageSize: q.PageSize,
			Top: q.Top, InlineCount: q.InlineCount})
}

// AvailabilityRecord is the result of DetermineAvailabilityAt.
type AvailabilityRecord struct {
	PeriodStartUTCDateTime      DateTime `json:"PeriodStartUTCDateTime"`
	PeriodEndUTCDateTime        DateTime `json:"PeriodEndUTCDateTime"`
	AvailableQuantityInBaseUnit Decimal  `json:"AvailableQuantityInBaseUnit"`
	BaseUnit                    string   `json:"BaseUnit"`
}

// AvailabilityQuery are the parameters of the DetermineAvailabilityAt function import.
type AvailabilityQuery struct {
	SupplyingPlant  string
	Material        string
	ATPCheckingRule string // e.g. "A"
	At              time.Time
}

// DetermineAvailabilityAt asks how much of a material a plant can promise at a time.
func (c *Client) DetermineAvailabilityAt(ctx context.Context, q AvailabilityQuery) (AvailabilityRecord, error) {
	var parts []string
	for _, p := range []struct {
		name string
		v    any
	}{{"SupplyingPlant", q.SupplyingPlant}, {"Material", q.Material}, {"ATPCheckingRule", q.ATPCheckingRule},
		{"RequestedUTCDateTime", q.At}} {
		lit, err := Literal(p.v)
		if err != nil {
			return AvailabilityRecord{}, err
		}
		parts = append(parts, p.name+"="+escapeQuery(lit))
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, service: ServiceAvailability,
		path: "DetermineAvailabilityAt", query: strings.Join(parts, "&")})
	var raw json.RawMessage
	if err == nil {
		err = decodeEntity(resp, &raw)
	}
	if err != nil {
		return AvailabilityRecord{}, fmt.Errorf("determining availability of %s in %s: %w", q.Material, q.SupplyingPlant, err)
	}
	// A V2 function import returning a complex type wraps it in a member named after the function.
	var wrapped struct {
		R *AvailabilityRecord `json:"DetermineAvailabilityAt"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && wrapped.R != nil {
		return *wrapped.R, nil
	}
	var rec AvailabilityRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return AvailabilityRecord{}, fmt.Errorf("decoding availability: %w", err)
	}
	return rec, nil
}
