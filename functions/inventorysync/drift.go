package inventorysync

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
)

// DriftReport compares D365 with SAP for every product SAP has, writing nothing.
type DriftReport struct {
	Products DriftCounts  `json:"products"`
	Stock    *DriftCounts `json:"stock,omitempty"`
	Prices   *DriftCounts `json:"prices,omitempty"`
	// Differences are the first ones found, at most the limit asked for.
	Differences []Difference `json:"differences"`
	// Truncated says there are more differences than Differences holds.
	Truncated bool      `json:"truncated"`
	Took      string    `json:"took"`
	At        time.Time `json:"at"`
}

// DriftCounts count one stream's comparison.
type DriftCounts struct {
	Compared int64 `json:"compared"` // values compared
	Differ   int64 `json:"differ"`   // of which D365 holds another value (or none)
}

// Difference is one value D365 holds otherwise than SAP would have it written.
type Difference struct {
	Stream   string `json:"stream"`
	Material string `json:"material"`
	Field    string `json:"field"`
	SAP      string `json:"sap"`
	D365     string `json:"d365"`
}

// d365Product is what the drift report reads of a D365 product.
type d365Product struct {
	id, name, quantity string
	state              int
}

// Drift reads SAP and D365 and reports where they differ, as the next full rewrite would find it. It takes no
// lock and writes nothing, so it may run beside a sync (a value the sync is writing may show as a difference).
func (s *Syncer) Drift(ctx context.Context, limit int) (DriftReport, error) {
	start := s.Now()
	rep := DriftReport{At: start.UTC(), Differences: []Difference{}}
	r := &run{Syncer: s, id: RunID(ctx), sum: &Summary{}}
	differ := func(c *DriftCounts, d Difference) {
		c.Differ++
		if len(rep.Differences) < limit {
			rep.Differences = append(rep.Differences, d)
		} else {
			rep.Truncated = true
		}
	}
	pm := s.Mapping.Products
	if pm == nil {
		return rep, fmt.Errorf("the inventory mapping has no products stream to compare")
	}
	u, err := r.unitGroup(ctx, pm.UnitGroup)
	if err != nil {
		return rep, err
	}
	d365 := map[string]d365Product{}
	q := &dataverse.Query{Select: []string{"productid", "productnumber", "name", "statecode", "quantityonhand"}}
	for rec, err := range s.Dataverse.List(ctx, "products", q) {
		if err != nil {
			return rep, fmt.Errorf("reading D365 products: %w", err)
		}
		st, _ := rec.Number("statecode").Int64()
		d365[rec.String("productnumber")] = d365Product{id: rec.String("productid"), name: rec.String("name"),
			quantity: rec.Number("quantityonhand").String(), state: int(st)}
	}
	inSAP := map[string]bool{}
	for p, err := range s.SAP.ProductsChangedSince(ctx, time.Time{}).All() {
		if err != nil {
			return rep, fmt.Errorf("reading SAP products: %w", err)
		}
		inSAP[p.Product] = true
		w := r.want(p, u)
		have, ok := d365[p.Product]
		if !ok && w.deleted {
			continue // never created, by design
		}
		rep.Products.Compared++
		wantState := stateActive
		if w.deleted {
			wantState = stateRetired
		}
		switch {
		case !ok:
			differ(&rep.Products, Difference{Stream: "products", Material: p.Product, Field: "product", SAP: w.name, D365: "(none)"})
		case have.name != w.name:
			differ(&rep.Products, Difference{Stream: "products", Material: p.Product, Field: "name", SAP: w.name, D365: have.name})
		case have.state != wantState:
			differ(&rep.Products, Difference{Stream: "products", Material: p.Product, Field: "statecode", SAP: fmt.Sprint(wantState), D365: fmt.Sprint(have.state)})
		}
	}
	if sm := s.Mapping.Stock; sm != nil {
		rep.Stock = &DriftCounts{}
		if err := r.driftStock(ctx, sm, d365, inSAP, func(d Difference) { differ(rep.Stock, d) }, rep.Stock); err != nil {
			return rep, err
		}
	}
	if s.Mapping.Prices != nil {
		rep.Prices = &DriftCounts{}
		if err := r.driftPrices(ctx, u, d365, func(d Difference) { differ(rep.Prices, d) }, rep.Prices); err != nil {
			return rep, err
		}
	}
	rep.Took = s.Now().Sub(start).Round(time.Millisecond).String()
	return rep, nil
}

func (r *run) driftStock(ctx context.Context, sm *StockMapping, d365 map[string]d365Product, inSAP map[string]bool,
	differ func(Difference), c *DriftCounts) error {
	plants := make([]string, len(sm.Locations))
	for i, l := range sm.Locations {
		plants[i] = l.Plant
	}
	compare := func(m string, sum *big.Rat) {
		have, ok := d365[m]
		if !ok || !inSAP[m] {
			return
		}
		c.Compared++
		want, _ := quantityText(sum, sm.QuantityPrecision)
		if !sameDecimal(want, have.quantity) {
			differ(Difference{Stream: "stock", Material: m, Field: "quantityonhand", SAP: want, D365: have.quantity})
		}
	}
	seen := map[string]bool{}
	var cur string
	sum := new(big.Rat)
	for row, err := range r.SAP.Stock(ctx, plants, "").All() {
		if err != nil {
			return fmt.Errorf("reading SAP stock: %w", err)
		}
		if row.Material != cur {
			if cur != "" {
				compare(cur, sum)
			}
			cur, sum = row.Material, new(big.Rat)
			seen[cur] = true
		}
		if row.InventoryStockType == "01" && row.InventorySpecialStockType == "" && sm.counts(row.Plant, row.StorageLocation) {
			sum.Add(sum, row.Quantity.Rat())
		}
	}
	if cur != "" {
		compare(cur, sum)
	}
	for m := range inSAP {
		if !seen[m] {
			compare(m, new(big.Rat)) // no stock rows: zero
		}
	}
	return nil
}

// sameDecimal compares two decimal texts by value ("" is zero, as D365 shows an empty quantity).
func sameDecimal(a, b string) bool {
	ra, ok1 := new(big.Rat).SetString(orZero(a))
	rb, ok2 := new(big.Rat).SetString(orZero(b))
	return ok1 && ok2 && ra.Cmp(rb) == 0
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func (r *run) driftPrices(ctx context.Context, u units, d365 map[string]d365Product, differ func(Difference), c *DriftCounts) error {
	pm := r.Mapping.Prices
	lists, err := r.priceLists(ctx, pm)
	if err != nil {
		return err
	}
	org, err := r.orgSettings(ctx)
	if err != nil {
		return err
	}
	type item struct{ unit, amount string }
	items := map[string]map[string]item{} // price list id → product id → item
	for _, l := range lists {
		items[l.id] = map[string]item{}
		f, _ := dataverse.Filterf("_pricelevelid_value eq %s", dataverse.GUID(l.id))
		q := &dataverse.Query{Select: []string{"_productid_value", "_uomid_value", "amount"}, Filter: f}
		for rec, err := range r.Dataverse.List(ctx, "productpricelevels", q) {
			if err != nil {
				return fmt.Errorf("reading price list %s: %w", l.name, err)
			}
			items[l.id][rec.String("_productid_value")] = item{unit: rec.String("_uomid_value"), amount: rec.Number("amount").String()}
		}
	}
	today := r.Now().UTC().Truncate(24 * time.Hour)
	q := sap.PriceQuery{ConditionTypes: pm.ConditionTypes, SalesOrganization: pm.SalesOrganization,
		DistributionChannel: pm.DistributionChannel, ValidOn: today, ByMaterial: true}
	compare := func(m string, cond *sap.PriceCondition) {
		have, ok := d365[m]
		if !ok || cond == nil {
			return
		}
		c.Compared++
		w := r.wantPrice(cond, lists, u, org, "")
		if w.err != nil {
			differ(Difference{Stream: "prices", Material: m, Field: "amount", SAP: "cannot be written: " + cutReason(w.err.Error()), D365: ""})
			return
		}
		got, ok := items[w.list.id][have.id]
		if !ok || got.unit != w.unit || !sameDecimal(got.amount, w.amount) {
			differ(Difference{Stream: "prices", Material: m, Field: "amount", SAP: w.amount + " on " + w.list.name, D365: got.amount})
		}
	}
	var cur string
	var best *sap.PriceCondition
	rank := 0
	for cond, err := range r.SAP.Prices(ctx, q).All() {
		if err != nil {
			return fmt.Errorf("reading SAP prices: %w", err)
		}
		if cond.Material != cur {
			compare(cur, best)
			cur, best, rank = cond.Material, nil, len(pm.ConditionTables)
		}
		i := indexOf(pm.ConditionTables, cond.Record.ConditionTable)
		if i < 0 || cond.Record.ConditionIsDeleted || cond.ConditionReleaseStatus != "" || i >= rank {
			continue
		}
		cc := cond
		best, rank = &cc, i
	}
	compare(cur, best)
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func cutReason(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:200] + "…"
}

// FixReport says what a drift fix queued.
type FixReport struct {
	Differences int64 `json:"differences"` // values found differing
	Materials   int   `json:"materials"`   // products whose fingerprints were cleared
	Queued      bool  `json:"queued"`      // a run was queued to rewrite them
}

// FixDrift makes the next run rewrite exactly the values that differ: it clears those values' fingerprints (so
// the comparison with what was last written no longer holds them back), has the products stream read SAP's
// products again from the start (their fingerprints keep every other product from costing a write), and queues
// that run at once. Values D365 users changed are set back to SAP's: the report is the operator's decision.
func (s *Syncer) FixDrift(ctx context.Context) (FixReport, error) {
	rep, err := s.Drift(ctx, 1<<30)
	if err != nil {
		return FixReport{}, err
	}
	out := FixReport{Differences: int64(len(rep.Differences))}
	byMaterial := map[string][]Difference{}
	for _, d := range rep.Differences {
		byMaterial[d.Material] = append(byMaterial[d.Material], d)
	}
	var materials []string
	for m := range byMaterial {
		materials = append(materials, m)
	}
	fps, err := fingerprintsOf(ctx, s.Fingerprints, materials)
	if err != nil {
		return out, err
	}
	next := map[string]Fingerprint{}
	for m, ds := range byMaterial {
		fp := fps[m].Value
		for _, d := range ds {
			switch d.Stream {
			case "products":
				fp.Product = ""
				if d.Field == "statecode" {
					// The operator asks for SAP's state: let the run change what D365 holds, whoever set it.
					if st, err := fmt.Sscan(d.D365, &fp.State); st != 1 || err != nil {
						fp.State = stateDraft
					}
					fp.RetiredBySync = fp.State == stateRetired
				}
			case "stock":
				fp.Stock = ""
			case "prices":
				items := priceItems(fp)
				for name, it := range items {
					it.Digest = ""
					items[name] = it
				}
				setPriceItems(&fp, items)
			}
		}
		next[m] = fp
	}
	if err := saveFingerprints(ctx, s.Fingerprints, next); err != nil {
		return out, err
	}
	out.Materials = len(next)
	if len(next) == 0 {
		return out, nil
	}
	cp, etag, found, err := s.Checkpoints.Get(ctx, productsStream)
	if err != nil {
		return out, fmt.Errorf("reading the products checkpoint: %w", err)
	}
	if found && cp.Value != "" {
		cp.Value, cp.RunID = "", RunID(ctx)
		if _, err := s.Checkpoints.Save(ctx, cp, etag); err != nil {
			return out, fmt.Errorf("resetting the products checkpoint: %w", err)
		}
	}
	if err := s.Continue.Continue(ctx, "a drift fix"); err != nil {
		return out, err
	}
	out.Queued = true
	return out, nil
}
