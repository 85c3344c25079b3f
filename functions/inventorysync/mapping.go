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

// ParseMapping decodes and validates a mapping, reporting every problem at once.
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
	if n := utf8.RuneCountInString(m.Language); n != 2 {
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
			if n := utf8.RuneCountInString(l.Plant); n == 0 || n > 4 {
				bad("stock.locations[%d].plant %q must be 1-4 characters, as SAP's Plant", i, cut(l.Plant))
			}
			if seen[l.Plant] {
				bad("stock.locations[%d].plant %q is named twice", i, cut(l.Plant))
			}
			seen[l.Plant] = true
			for j, sl := range l.StorageLocations {
				if n := utf8.RuneCountInString(sl); n == 0 || n > 4 {
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
	if m.Products == nil && m.Stock == nil {
		bad("the mapping names no stream: give products, stock or both")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("inventory mapping: %s", strings.Join(errs, "; "))
	}
	return &m, nil
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
