package sapsim

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
)

// StockRow is one stock bucket of A_MatlStkInAcctMod (SetStock, RemoveStock): its eleven key fields and the
// quantity in the material's base unit.
type StockRow struct {
	Material, Plant, StorageLocation, Batch, Supplier, Customer string
	WBSElementInternalID, SDDocument, SDDocumentItem            string
	// InventorySpecialStockType is "" for the plant's own stock, or a special stock: "E" sales order stock
	// (SDDocument/SDDocumentItem), "K" supplier consignment (Supplier), "Q" project stock, "W" customer consignment.
	InventorySpecialStockType string
	// InventoryStockType is "01" unrestricted use, "02" in quality inspection, "07" blocked.
	InventoryStockType string
	// Quantity is MatlWrhsStkQtyInMatlBaseUnit, a decimal ("12.5"); it may be negative where the plant allows
	// negative stock, or zero for a bucket that is kept but empty. RemoveStock ignores it.
	Quantity string
}

// stockOverlay is a product's changed stock rows by key; nil marks a removed row.
type stockOverlay map[string]*StockRow

var stockKeys = etAMatlStkInAcctModType.Keys

func (r StockRow) keyValues() []string {
	return []string{r.Material, r.Plant, r.StorageLocation, r.Batch, r.Supplier, r.Customer, r.WBSElementInternalID,
		r.SDDocument, r.SDDocumentItem, r.InventorySpecialStockType, r.InventoryStockType}
}

func (r StockRow) key() string { return strings.Join(r.keyValues(), "\x00") }

func recordKey(r record, keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = keyValue(r[k])
	}
	return strings.Join(parts, "\x00")
}

func (r StockRow) record(baseUnit string) record {
	out := record{"MaterialBaseUnit": baseUnit, "MatlWrhsStkQtyInMatlBaseUnit": r.Quantity}
	for i, v := range r.keyValues() {
		out[stockKeys[i]] = v
	}
	return out
}

func (r StockRow) validate() error {
	for i, v := range r.keyValues() {
		p, _ := etAMatlStkInAcctModType.prop(stockKeys[i])
		if len(v) > p.MaxLen {
			return fmt.Errorf("%s %q is longer than %d", p.Name, v, p.MaxLen)
		}
	}
	if r.Plant == "" || r.InventoryStockType == "" {
		return fmt.Errorf("stock row needs a Plant and an InventoryStockType")
	}
	return nil
}

// Stock slots of one product in one plant, in key order. Without Options.StockVariety there is only the first.
type stockSlot struct {
	storageLocation, special, stockType string
}

var stockSlots = []stockSlot{
	{"101A", "", "01"},
	{"101A", "", "02"},  // in quality inspection
	{"101A", "", "07"},  // blocked
	{"102A", "", "01"},  // a second storage location
	{"102A", "E", "01"}, // sales order stock (its SDDocument sorts after the empty one)
}

func (g *generator) stockSlots() int {
	if g.stockVariety {
		return len(stockSlots)
	}
	return 1
}

// stockRow is slot k of product i in plant p.
func (g *generator) stockRow(i, p, k int) StockRow {
	sl := stockSlots[k]
	r := StockRow{Material: ProductID(i), Plant: g.plants[p], StorageLocation: sl.storageLocation,
		InventorySpecialStockType: sl.special, InventoryStockType: sl.stockType}
	h := g.mix(9, uint64(i*len(g.plants)+p))
	switch k {
	case 0:
		r.Quantity = g.stockQty(i, p)
	case 1:
		r.Quantity = fmt.Sprintf("%d.000", (h>>8)%40)
	case 2:
		r.Quantity = fmt.Sprintf("%d.000", (h>>16)%15)
	case 3:
		r.Quantity = fmt.Sprintf("%d.%03d", (h>>24)%900, (h>>34)%1000)
	case 4:
		// Sales order stock: unrestricted, but made for one order and promised to it.
		r.SDDocument, r.SDDocumentItem = fmt.Sprint(2000000+i%9000), "10"
		r.Quantity = fmt.Sprintf("%d.000", 1+(h>>44)%25)
	}
	return r
}

func (g *generator) stockBlock(i int) []StockRow {
	var out []StockRow
	for p := range g.plants {
		for k := range g.stockSlots() {
			out = append(out, g.stockRow(i, p, k))
		}
	}
	return out
}

// SetStock changes a stock row's quantity, or adds the row if no bucket has its key (another storage location,
// a batch, a special stock). Stock has no change date in SAP: a change is found only by comparing with what was
// read before. A change not yet committed (ChangeOptions.CommitDelay) locks the material's stock.
func (s *Server) SetStock(row StockRow, o *ChangeOptions) error {
	if err := row.validate(); err != nil {
		return fmt.Errorf("setting stock of %s: %w", row.Material, err)
	}
	if !decimalFits(row.Quantity, 31, 14) {
		return fmt.Errorf("setting stock of %s: quantity %q is not a Decimal(31,14)", row.Material, row.Quantity)
	}
	row.Quantity = canonicalDecimal(row.Quantity)
	return s.changeStock(row, &row, o)
}

// RemoveStock removes the stock row with row's key fields, as when a bucket is emptied and archived.
func (s *Server) RemoveStock(row StockRow, o *ChangeOptions) error {
	return s.changeStock(row, nil, o)
}

func (s *Server) changeStock(row StockRow, to *StockRow, o *ChangeOptions) error {
	i, ok := productIndex(row.Material)
	if !ok || i >= s.opts.Products {
		return fmt.Errorf("changing stock of %s: %w", row.Material, ErrNoSuchObject)
	}
	now := s.opts.Now()
	m := s.master
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.stock[i]
	if h.pending(now) {
		return fmt.Errorf("changing stock of %s: %w", row.Material, ErrLocked)
	}
	cur, _ := h.latest()
	key := row.key()
	if to == nil {
		exists := false
		if r, changed := cur[key]; changed {
			exists = r != nil
		} else {
			for _, g := range s.gen.stockBlock(i) {
				exists = exists || g.key() == key
			}
		}
		if !exists {
			return fmt.Errorf("removing stock row %q: %w", strings.Join(row.keyValues(), "/"), ErrNoSuchObject)
		}
	}
	next := maps.Clone(cur)
	if next == nil {
		next = stockOverlay{}
	}
	next[key] = to
	m.stock[i] = h.then(next, now.Add(o.delay()))
	return nil
}

// stockRows are product i's stock rows as reads see them now, in key order.
func (v *masterView) stockRows(i int) []record {
	base := v.baseUnit(i)
	ov, changed := v.stock[i]
	var out []record
	seen := map[string]bool{}
	for _, r := range v.g.stockBlock(i) {
		k := r.key()
		seen[k] = true
		if c, ok := ov[k]; ok {
			if c != nil {
				out = append(out, c.record(base))
			}
			continue
		}
		out = append(out, r.record(base))
	}
	if !changed {
		return out
	}
	for k, c := range ov {
		if !seen[k] && c != nil {
			out = append(out, c.record(base))
		}
	}
	slices.SortFunc(out, func(a, b record) int { return strings.Compare(recordKey(a, stockKeys), recordKey(b, stockKeys)) })
	return out
}

// stockBlocks lays out A_MatlStkInAcctMod: every product's rows in every plant, generated unless changed (its
// stock, or its base unit).
func (v *masterView) stockBlocks() *blocks {
	if v.stockLayout == nil {
		own := map[int][]record{}
		for i := range v.stock {
			own[i] = v.stockRows(i)
		}
		for i := range v.products {
			if _, ok := own[i]; !ok {
				own[i] = v.stockRows(i)
			}
		}
		per := len(v.g.plants) * v.g.stockSlots()
		v.stockLayout = newBlocks(v.g.products, per, func(i, slot int) record {
			n := v.g.stockSlots()
			return v.g.stockRow(i, slot/n, slot%n).record(v.g.baseUnit(i))
		}, own)
	}
	return v.stockLayout
}

// unrestricted is what product i has in plant: its unrestricted-use stock that is no special stock, over all
// storage locations.
func (v *masterView) unrestricted(i int, plant string) *big.Rat {
	sum := new(big.Rat)
	for _, r := range v.stockRows(i) {
		if r["Plant"] == plant && r["InventoryStockType"] == "01" && r["InventorySpecialStockType"] == "" {
			sum.Add(sum, ratOf(r["MatlWrhsStkQtyInMatlBaseUnit"].(string)))
		}
	}
	return sum
}
