package inventorysync

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/d365sap/d365sap/shared/sap"
)

//go:embed mapping.json
var defaultMapping []byte

// Mapping says what the sync loads. A stream whose section is absent does not run.
type Mapping struct {
	Comment string `json:"comment,omitempty"`
	// Language is the SAP language key (two characters, e.g. "EN") of the product descriptions read.
	Language string          `json:"language"`
	Products *ProductMapping `json:"products,omitempty"`
	Stock    *StockMapping   `json:"stock,omitempty"`
	Prices   *PriceMapping   `json:"prices,omitempty"`
}

// PriceMapping configures the prices stream: SAP sales price condition records valid today → D365 price list
// items (productpricelevel) on the price list mapped from the record's currency.
type PriceMapping struct {
	Comment string `json:"comment,omitempty"`
	// ConditionTypes are the condition types read ("PPR0" on S/4HANA, "PR00" with classic pricing).
	ConditionTypes []string `json:"conditionTypes"`
	// ConditionTables are the key combinations whose records count as a list price, best first (e.g. "304",
	// material with release status): where several match a material, the first in this order wins. A
	// customer-specific table (305) is a customer's price, not a list price, and belongs here only on purpose.
	ConditionTables     []string `json:"conditionTables"`
	SalesOrganization   string   `json:"salesOrganization"`
	DistributionChannel string   `json:"distributionChannel"`
	// PriceLists name the D365 price list (pricelevel.name) of each currency; a price in a currency not named
	// here is dead-lettered, never written to another currency's list.
	PriceLists []PriceList `json:"priceLists"`
}

// PriceList is the D365 price list of one currency.
type PriceList struct {
	Currency string `json:"currency"`
	Name     string `json:"name"`
}

// ProductMapping configures the products stream: SAP A_Product → D365 product by productnumber.
type ProductMapping struct {
	Comment string `json:"comment,omitempty"`
	// UnitGroup is the name of the D365 unit group (uomschedule) new products get; their default unit is the
	// D365 unit the value map gives for SAP's base unit, which must be a unit of this group.
	UnitGroup string `json:"unitGroup"`
	// QuantityDecimal is the product's quantitydecimal (0-5): the decimals D365 allows in quantities of it.
	QuantityDecimal int `json:"quantityDecimal"`
}

// StockMapping configures the stock stream: unrestricted-use stock summed per material → product.quantityonhand.
type StockMapping struct {
	Comment   string     `json:"comment,omitempty"`
	Locations []Location `json:"locations"`
	// QuantityPrecision is quantityonhand's precision in the org (2 out of the box). A sum with more decimals is
	// rounded down to it, never up, so D365 never shows more than the warehouse has; the run counts each one.
	QuantityPrecision int `json:"quantityPrecision"`
}

// Location is a plant and, optionally, the storage locations of it whose stock counts (none: all of them).
type Location struct {
	Plant            string   `json:"plant"`
	StorageLocations []string `json:"storageLocations,omitempty"`
}

// LoadMapping reads the mapping file at path, or the shipped mapping.json when path is empty.
func LoadMapping(path string) (*Mapping, error) {
	b := defaultMapping
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("reading inventory mapping: %w", err)
		}
	}
	return ParseMapping(b)
}

// ParseMapping decodes and validates a mapping, reporting every problem at once. SAP codes are measured as ABAP
// measures them (sap.Length: UTF-16 code units).
func ParseMapping(b []byte) (*Mapping, error) {
	var m Mapping
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("parsing inventory mapping: %w", err)
	}
	if dec.More() {
		return nil, errors.New("parsing inventory mapping: more than one JSON value")
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if n := sap.Length(m.Language); n != 2 {
		bad("language %q must be SAP's two-character language key (e.g. EN)", cut(m.Language))
	}
	if p := m.Products; p != nil {
		if strings.TrimSpace(p.UnitGroup) == "" || p.UnitGroup != strings.TrimSpace(p.UnitGroup) {
			bad("products.unitGroup %q must name a D365 unit group, without surrounding spaces", cut(p.UnitGroup))
		}
		if p.QuantityDecimal < 0 || p.QuantityDecimal > 5 {
			bad("products.quantityDecimal %d must be 0 to 5, as D365 allows", p.QuantityDecimal)
		}
	}
	if s := m.Stock; s != nil {
		if m.Products == nil {
			// Stock lands on products the products stream wrote; without it there is nothing to land on.
			bad("stock needs products: quantities land on the products that stream writes")
		}
		if len(s.Locations) == 0 {
			bad("stock.locations must name at least one plant")
		}
		seen := map[string]bool{}
		for i, l := range s.Locations {
			if n := sap.Length(l.Plant); n == 0 || n > 4 {
				bad("stock.locations[%d].plant %q must be 1-4 characters, as SAP's Plant", i, cut(l.Plant))
			}
			if seen[l.Plant] {
				bad("stock.locations[%d].plant %q is named twice", i, cut(l.Plant))
			}
			seen[l.Plant] = true
			for j, sl := range l.StorageLocations {
				if n := sap.Length(sl); n == 0 || n > 4 {
					bad("stock.locations[%d].storageLocations[%d] %q must be 1-4 characters, as SAP's StorageLocation", i, j, cut(sl))
				}
				if slices.Index(l.StorageLocations, sl) != j {
					bad("stock.locations[%d].storageLocations[%d] %q is named twice", i, j, cut(sl))
				}
			}
		}
		if s.QuantityPrecision < 0 || s.QuantityPrecision > 10 {
			bad("stock.quantityPrecision %d must be 0 to 10, as a Dataverse decimal column allows", s.QuantityPrecision)
		}
	}
	if p := m.Prices; p != nil {
		if m.Products == nil {
			bad("prices needs products: price list items land on the products that stream writes")
		}
		checkCodes := func(field string, codes []string, max int) {
			if len(codes) == 0 {
				bad("prices.%s must name at least one", field)
			}
			for i, c := range codes {
				if n := sap.Length(c); n == 0 || n > max || c != strings.TrimSpace(c) {
					bad("prices.%s[%d] %q must be 1-%d characters without spaces", field, i, cut(c), max)
				}
				if slices.Index(codes, c) != i {
					bad("prices.%s[%d] %q is named twice", field, i, cut(c))
				}
			}
		}
		checkCodes("conditionTypes", p.ConditionTypes, 4)
		checkCodes("conditionTables", p.ConditionTables, 3)
		if n := sap.Length(p.SalesOrganization); n == 0 || n > 4 {
			bad("prices.salesOrganization %q must be 1-4 characters", cut(p.SalesOrganization))
		}
		if n := sap.Length(p.DistributionChannel); n == 0 || n > 2 {
			bad("prices.distributionChannel %q must be 1-2 characters", cut(p.DistributionChannel))
		}
		if len(p.PriceLists) == 0 {
			bad("prices.priceLists must name the price list of at least one currency")
		}
		seen := map[string]bool{}
		for i, l := range p.PriceLists {
			if !currencyCode(l.Currency) {
				bad("prices.priceLists[%d].currency %q is not an ISO 4217 code", i, cut(l.Currency))
			}
			if seen[l.Currency] {
				bad("prices.priceLists[%d].currency %q is named twice", i, cut(l.Currency))
			}
			seen[l.Currency] = true
			if strings.TrimSpace(l.Name) == "" || l.Name != strings.TrimSpace(l.Name) {
				bad("prices.priceLists[%d].name %q must name a D365 price list, without surrounding spaces", i, cut(l.Name))
			}
		}
	}
	if m.Products == nil && m.Stock == nil && m.Prices == nil {
		bad("the mapping names no stream: give products, stock, prices")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("inventory mapping: %s", strings.Join(errs, "; "))
	}
	return &m, nil
}

// currencyCode reports whether s looks like an ISO 4217 code: three capital letters.
func currencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// priceList returns the price list name of a currency.
func (p *PriceMapping) priceList(currency string) (string, bool) {
	for _, l := range p.PriceLists {
		if l.Currency == currency {
			return l.Name, true
		}
	}
	return "", false
}

// counts reports whether stock in a plant and storage location is summed.
func (s *StockMapping) counts(plant, storageLocation string) bool {
	for _, l := range s.Locations {
		if l.Plant == plant {
			return len(l.StorageLocations) == 0 || slices.Contains(l.StorageLocations, storageLocation)
		}
	}
	return false
}

// digest identifies the parts of a mapping that shape a stream's values: when it changes, every value of that
// stream is rewritten, because the fingerprints of what was written no longer say what would be written now.
func digest(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// cut keeps an echoed value short.
func cut(s string) string {
	if utf8.RuneCountInString(s) <= 40 {
		return s
	}
	return string([]rune(s)[:40]) + "…"
}
