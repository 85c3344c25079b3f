package inventorysync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// pricesStream is the prices stream's checkpoint: the last material of the pass under way ("" between passes),
// and (Extra) the digest of the price mapping.
const pricesStream = "inventory-prices"

// PriceItem is a price list item the prices stream wrote.
type PriceItem struct {
	ID     string `json:"id"`     // productpricelevelid
	Unit   string `json:"unit"`   // uomid of the item
	Amount string `json:"amount"` // amount written
	Digest string `json:"digest"` // of the SAP record and the mapping it was written from
}

func priceItems(fp Fingerprint) map[string]PriceItem {
	out := map[string]PriceItem{}
	if fp.Prices != "" {
		_ = json.Unmarshal([]byte(fp.Prices), &out) // written by this code only; a bad one is rewritten
	}
	return out
}

func setPriceItems(fp *Fingerprint, items map[string]PriceItem) {
	if len(items) == 0 {
		fp.Prices = ""
		return
	}
	b, _ := json.Marshal(items)
	fp.Prices = string(b)
}

// materialPrice is the validity a material's list price comes from, nil when SAP has none valid today.
type materialPrice struct {
	material string
	cond     *sap.PriceCondition
}

// priceList is a D365 price list the stream writes to.
type priceList struct {
	id, name, currency string
}

// prices reads the price conditions valid today for the mapping's condition types, sales organization and
// distribution channel, ordered by material, picks each material's list price by the mapping's condition
// tables, and writes the items that differ from what was last written. SAP stamps a change on the record, not
// on its validity, and a price whose validity begins or ends today changes nothing SAP stamps, so the stream
// reads what is valid today in full each run, as stock is read; the fingerprints make an unchanged price cost
// no Dataverse write.
func (r *run) prices(ctx context.Context) error {
	st := &StreamStats{}
	r.sum.Prices = st
	start, throttled := r.Now(), r.Dataverse.Stats().Throttled
	defer func() {
		st.Duration = r.Now().Sub(start)
		st.Throttled = r.Dataverse.Stats().Throttled - throttled
	}()
	pm := r.Mapping.Prices
	today := r.Now().UTC().Truncate(24 * time.Hour)
	mapDigest := digest([]any{pm.ConditionTypes, pm.ConditionTables, pm.SalesOrganization, pm.DistributionChannel, pm.PriceLists,
		r.Mapping.Products.UnitGroup})
	cp, etag, _, err := r.Checkpoints.Get(ctx, pricesStream)
	if err != nil {
		return fmt.Errorf("reading the prices checkpoint: %w", err)
	}
	after := cp.Value
	if cp.Extra != mapDigest {
		after = ""
	}
	lists, err := r.priceLists(ctx, pm)
	if err != nil {
		return err
	}
	u, err := r.unitGroup(ctx, r.Mapping.Products.UnitGroup)
	if err != nil {
		return err
	}
	org, err := r.orgSettings(ctx)
	if err != nil {
		return err
	}
	mark, err := r.readMark(ctx, pricesStream, func(pos, upTo string) bool { return pos < upTo })
	if err != nil {
		return err
	}
	batch := make([]materialPrice, 0, r.group())
	flush := func(final bool) error {
		hi := ""
		if !final {
			hi = batch[len(batch)-1].material
		}
		verify := mark.verify(after)
		if err := mark.writing(ctx, hi, final); err != nil {
			return err
		}
		err := r.timed(func() error { return r.priceBatch(ctx, batch, after, hi, mapDigest, lists, u, org, verify, st) })
		if err != nil {
			return err
		}
		cp.Value, cp.Extra, cp.RunID = hi, mapDigest, r.id
		if etag, err = r.Checkpoints.Save(ctx, cp, etag); err != nil {
			return fmt.Errorf("saving the prices checkpoint: %w", err)
		}
		after, batch = hi, batch[:0]
		if final {
			return mark.done(ctx, "", true)
		}
		if r.spent() {
			if err := mark.done(ctx, hi, false); err != nil {
				return err
			}
			return errBudget
		}
		return nil
	}
	var cur *materialPrice
	curRank := 0
	q := sap.PriceQuery{ConditionTypes: pm.ConditionTypes, SalesOrganization: pm.SalesOrganization,
		DistributionChannel: pm.DistributionChannel, ValidOn: today, ByMaterial: true}
	rows := r.SAP.Prices(ctx, q)
	prog := r.progress("prices", st, rows.Count)
	for c, err := range rows.All() {
		if err != nil {
			return fmt.Errorf("reading SAP prices: %w", err)
		}
		st.Read++
		prog.tick()
		if c.Material == "" || c.Material <= after {
			continue // a customer-only record, or one before where this pass resumed
		}
		if cur == nil || c.Material != cur.material {
			if cur != nil {
				if c.Material < cur.material {
					return fmt.Errorf("reading SAP prices: material %q came after %q: the rows are not ordered by material", c.Material, cur.material)
				}
				batch = append(batch, *cur)
				if len(batch) >= r.group() {
					if err := flush(false); err != nil {
						return err
					}
				}
			}
			cur, curRank = &materialPrice{material: c.Material}, len(pm.ConditionTables)
		}
		rank := slices.Index(pm.ConditionTables, c.Record.ConditionTable)
		if rank < 0 || c.Record.ConditionIsDeleted || c.ConditionReleaseStatus != "" {
			continue // another key combination, deleted, or not released for pricing
		}
		if rank < curRank {
			cc := c
			cur.cond, curRank = &cc, rank
		}
	}
	if cur != nil {
		batch = append(batch, *cur)
	}
	return flush(true)
}

// priceLists finds the mapping's price lists by name.
func (r *run) priceLists(ctx context.Context, pm *PriceMapping) (map[string]priceList, error) {
	out := map[string]priceList{}
	for _, l := range pm.PriceLists {
		f, err := dataverse.Filterf("name eq %s", l.Name)
		if err != nil {
			return nil, err
		}
		n := 0
		for rec, err := range r.Dataverse.List(ctx, "pricelevels", &dataverse.Query{Select: []string{"pricelevelid", "name"}, Filter: f}) {
			if err != nil {
				return nil, fmt.Errorf("finding price list %q: %w", l.Name, err)
			}
			n++
			out[l.Currency] = priceList{id: rec.String("pricelevelid"), name: l.Name, currency: l.Currency}
		}
		if n != 1 {
			return nil, fmt.Errorf("finding price list %q: D365 has %d of that name, want one (prices.priceLists in the inventory mapping)", l.Name, n)
		}
	}
	return out, nil
}

// wantedPrice is the item a material's price becomes, or why it cannot be written.
type wantedPrice struct {
	list   priceList
	unit   string // uomid
	amount string
	digest string
	err    error // dead-letter reason
}

// want computes the item of one SAP price: per base unit when the per-unit amount fits the org's pricing
// precision exactly; per a D365 unit of N base units when SAP prices per N and it does not; otherwise refused
// with the reason, never rounded (D365 would store 12.50 per 100 as 0.13 per unit, 4% too much).
func (r *run) wantPrice(c *sap.PriceCondition, lists map[string]priceList, u units, org orgSettings, mapDigest string) wantedPrice {
	rec := c.Record
	w := wantedPrice{digest: digest([]any{mapDigest, org.pricingPrecision, rec.ConditionRecord, rec.ConditionRateValue.String(),
		rec.ConditionCurrency, rec.ConditionQuantity.String(), rec.ConditionQuantityUnit, rec.ConditionCalculationType})}
	if rec.ConditionCalculationType == "A" || rec.ConditionRateValueUnit == "%" {
		w.err = fmt.Errorf("condition record %s of %s is a percentage (%s %%), not a price", rec.ConditionRecord, c.Material, rec.ConditionRateValue)
		return w
	}
	list, ok := lists[rec.ConditionCurrency]
	if !ok {
		w.err = fmt.Errorf("condition record %s of %s is in %s; the inventory mapping names a price list for %s only",
			rec.ConditionRecord, c.Material, rec.ConditionCurrency, currencies(lists))
		return w
	}
	w.list = list
	unitName, ok := r.Units.D365(rec.ConditionQuantityUnit)
	base := u.byName[unitName]
	if !ok || base == "" {
		w.err = fmt.Errorf("condition record %s of %s prices per %s, which has no D365 unit in unit group %q",
			rec.ConditionRecord, c.Material, rec.ConditionQuantityUnit, r.Mapping.Products.UnitGroup)
		return w
	}
	rate, n := rec.ConditionRateValue.Rat(), rec.ConditionQuantity.Rat()
	if n.Sign() <= 0 {
		n = big.NewRat(1, 1) // SAP's pricing quantity 0 means per one unit
	}
	if rate.Sign() < 0 {
		w.err = fmt.Errorf("condition record %s of %s has a negative price %s", rec.ConditionRecord, c.Material, rec.ConditionRateValue)
		return w
	}
	per := new(big.Rat).Quo(rate, n)
	if text, exact := exactText(per, org.pricingPrecision); exact {
		w.unit, w.amount = base, text
		return w
	}
	if id := u.multiples[multiple{base, n.RatString()}]; id != "" {
		if text, exact := exactText(rate, org.pricingPrecision); exact {
			w.unit, w.amount = id, text
			return w
		}
	}
	w.err = fmt.Errorf("condition record %s of %s is %s %s per %s %s, %s per %s: more decimals than D365's pricing precision (%d) keeps, "+
		"and unit group %q has no unit of %s %s to price it on; add that unit, or raise pricingdecimalprecision",
		rec.ConditionRecord, c.Material, rec.ConditionRateValue, rec.ConditionCurrency, rec.ConditionQuantity, rec.ConditionQuantityUnit,
		per.FloatString(org.pricingPrecision+4), rec.ConditionQuantityUnit, org.pricingPrecision, r.Mapping.Products.UnitGroup,
		rec.ConditionQuantity, rec.ConditionQuantityUnit)
	return w
}

// exactText writes v with prec decimals when that is exact.
func exactText(v *big.Rat, prec int) (string, bool) {
	text := v.FloatString(prec)
	back, _ := new(big.Rat).SetString(text)
	return text, back.Cmp(v) == 0
}

func currencies(lists map[string]priceList) []string {
	var out []string
	for c := range lists {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// priceOp is one change to one material's items.
type priceOp struct {
	material string
	list     string // price list name
	want     wantedPrice
	old      PriceItem // the item written before, if any
	had      bool
}

// priceBatch writes the prices of the materials in (lo, hi]: creates and updates items, replaces an item whose
// unit changed, and deletes the items of prices SAP no longer has valid today.
func (r *run) priceBatch(ctx context.Context, batch []materialPrice, lo, hi, mapDigest string, lists map[string]priceList,
	u units, org orgSettings, verify bool, st *StreamStats) error {
	fps, err := fingerprintsBetween(ctx, r.Fingerprints, lo, hi)
	if err != nil {
		return err
	}
	byMaterial := map[string]*sap.PriceCondition{}
	for _, p := range batch {
		byMaterial[p.material] = p.cond
	}
	var ops []priceOp
	for m, row := range fps {
		fp := row.Value
		items := priceItems(fp)
		cond, inBatch := byMaterial[m]
		if !inBatch && len(items) == 0 {
			continue
		}
		if fp.ID == "" {
			st.Skipped++ // no product in D365 that the products stream wrote or found
			continue
		}
		var w wantedPrice
		if cond != nil {
			w = r.wantPrice(cond, lists, u, org, mapDigest)
		}
		if w.err != nil {
			st.Changed++
			st.Failed++
			if derr := r.DeadLetters.DeadLetterRecord(ctx, "prices", m, cond, w.err); derr != nil {
				return fmt.Errorf("dead-lettering the price of %s: %w", m, derr)
			}
			continue
		}
		for name, it := range items {
			if cond == nil || name != w.list.name {
				ops = append(ops, priceOp{material: m, list: name, old: it, had: true}) // no valid price on that list now
			}
		}
		if cond != nil {
			old, had := items[w.list.name]
			if had && old.Digest == w.digest {
				continue
			}
			ops = append(ops, priceOp{material: m, list: w.list.name, want: w, old: old, had: had})
		}
	}
	for _, p := range batch {
		if _, ok := fps[p.material]; !ok && p.cond != nil {
			st.Skipped++
		}
	}
	return r.applyPrices(ctx, ops, fps, verify, st)
}

// applyPrices runs the item changes in $batch requests of priceBatchOps operations (price list items have no
// bulk message), and records what landed in the fingerprints. An item to create is first looked for, a query
// per fifty products: the catalog holds one item per product and unit on a list, and one may exist already
// (entered by hand, or written by a run that died before its fingerprint), and one holding the amount already
// is recorded, not written. With verify (a run died writing these), the items to update are read first too. A
// refused operation is dead-lettered with Dataverse's reason; the others land.
func (r *run) applyPrices(ctx context.Context, ops []priceOp, fps map[string]store.Row[Fingerprint], verify bool, st *StreamStats) error {
	result := map[string]map[string]PriceItem{} // material → items after
	for _, op := range ops {
		if _, ok := result[op.material]; !ok {
			result[op.material] = priceItems(fps[op.material].Value)
		}
	}
	existing, err := r.existingItems(ctx, ops, fps, verify)
	if err != nil {
		return err
	}
	type step struct {
		op     dataverse.Op
		pop    priceOp
		item   PriceItem
		keep   bool // the item stays on the list (false: deleted)
		record bool // the step's outcome is the op's outcome (a replace's delete is not)
	}
	var steps []step
	for _, op := range ops {
		st.Changed++
		product := fps[op.material].Value.ID
		amount := dataverse.Record{"amount": json.Number(op.want.amount)}
		item := PriceItem{Unit: op.want.unit, Amount: op.want.amount, Digest: op.want.digest}
		switch {
		case op.want.list.id == "": // no valid price on this list now
			steps = append(steps, step{op: dataverse.DeleteOp("productpricelevels", dataverse.ID(op.old.ID)), pop: op, record: true})
		case op.had && op.old.Unit == op.want.unit:
			item.ID = op.old.ID
			if e, ok := existing[itemKey{op.want.list.id, product, op.want.unit}]; ok && e.id == op.old.ID && sameNumber(e.amount, json.Number(op.want.amount)) {
				st.Landed++
				result[op.material][op.list] = item
				continue
			}
			steps = append(steps, step{op: dataverse.UpdateOp("productpricelevels", dataverse.ID(op.old.ID), amount, ""), pop: op,
				item: item, keep: true, record: true})
		default:
			if op.had { // the unit changed: the old item goes, the new one comes
				steps = append(steps, step{op: dataverse.DeleteOp("productpricelevels", dataverse.ID(op.old.ID)), pop: op})
			}
			if e := existing[itemKey{op.want.list.id, product, op.want.unit}]; e.id != "" {
				item.ID = e.id
				if sameNumber(e.amount, json.Number(op.want.amount)) {
					st.Landed++
					result[op.material][op.list] = item
					continue
				}
				id := e.id
				steps = append(steps, step{op: dataverse.UpdateOp("productpricelevels", dataverse.ID(id), amount, ""), pop: op,
					item: item, keep: true, record: true})
				continue
			}
			steps = append(steps, step{op: dataverse.CreateOp("productpricelevels", dataverse.Record{
				"pricelevelid@odata.bind": "/pricelevels(" + op.want.list.id + ")",
				"productid@odata.bind":    "/products(" + product + ")",
				"uomid@odata.bind":        "/uoms(" + op.want.unit + ")",
				"amount":                  json.Number(op.want.amount),
			}), pop: op, item: item, keep: true, record: true})
		}
	}
	var errs []error
	var mu sync.Mutex // guards result, st and errs
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(r.Parallel, 1))
	for start := 0; start < len(steps); start += priceBatchOps {
		part := steps[start:min(start+priceBatchOps, len(steps))]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			b := &dataverse.Batch{}
			for _, s := range part {
				b.Add(s.op)
			}
			results, err := r.Dataverse.ExecuteBatch(ctx, b, &dataverse.BatchOptions{ContinueOnError: true})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// Nothing of this part is known to have landed; the checkpoint stays, and the next run redoes it.
				errs = append(errs, fmt.Errorf("writing prices: %w", err))
				return
			}
			for i, s := range part {
				res := results[i]
				switch {
				case res.Err == nil || !s.keep && isNotFound(res.Err):
					if !s.record {
						continue
					}
					st.Written++
					if s.keep {
						if res.ID != "" && s.item.ID == "" {
							s.item.ID = res.ID
						}
						result[s.pop.material][s.pop.list] = s.item
					} else {
						delete(result[s.pop.material], s.pop.list)
					}
				case recordProblem(res.Err):
					st.Failed++
					if derr := r.DeadLetters.DeadLetterRecord(ctx, "prices", s.pop.material, s.pop.want.amount,
						wrapPrice(res.Err, s.pop)); derr != nil {
						errs = append(errs, derr)
					}
				default:
					errs = append(errs, wrapPrice(res.Err, s.pop))
				}
			}
		}()
	}
	wg.Wait()
	next := map[string]Fingerprint{}
	for m, items := range result {
		fp := fps[m].Value
		setPriceItems(&fp, items)
		next[m] = fp
	}
	if err := saveFingerprints(ctx, r.Fingerprints, next); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// priceBatchOps is the operations per $batch of price list items: well under Dataverse's 1,000, so one slow
// batch does not hold a whole stream's worth of execution time.
const priceBatchOps = 100

// itemKey identifies a price list item as the catalog does: one per price list, product and unit.
type itemKey struct{ list, product, unit string }

// existingItem is a price list item Dataverse holds.
type existingItem struct {
	id     string
	amount json.Number
}

// existingItems finds the items the creates among ops would duplicate (with verify, the items of the updates
// too), fifty products to a query.
func (r *run) existingItems(ctx context.Context, ops []priceOp, fps map[string]store.Row[Fingerprint], verify bool) (map[itemKey]existingItem, error) {
	byList := map[string][]string{}
	for _, op := range ops {
		if op.want.list.id != "" && (verify || !(op.had && op.old.Unit == op.want.unit)) {
			byList[op.want.list.id] = append(byList[op.want.list.id], fps[op.material].Value.ID)
		}
	}
	out := map[itemKey]existingItem{}
	for list, products := range byList {
		for i := 0; i < len(products); i += 50 {
			part := products[i:min(i+50, len(products))]
			terms := make([]string, len(part))
			for j, p := range part {
				f, err := dataverse.Filterf("_productid_value eq %s", dataverse.GUID(p))
				if err != nil {
					return nil, err
				}
				terms[j] = f
			}
			lf, _ := dataverse.Filterf("_pricelevelid_value eq %s", dataverse.GUID(list))
			q := &dataverse.Query{Select: []string{"productpricelevelid", "_productid_value", "_uomid_value", "amount"},
				Filter: lf + " and (" + strings.Join(terms, " or ") + ")"}
			for rec, err := range r.Dataverse.List(ctx, "productpricelevels", q) {
				if err != nil {
					return nil, fmt.Errorf("finding price list items: %w", err)
				}
				out[itemKey{list, rec.String("_productid_value"), rec.String("_uomid_value")}] = existingItem{
					id: rec.String("productpricelevelid"), amount: rec.Number("amount")}
			}
		}
	}
	return out, nil
}

func wrapPrice(err error, op priceOp) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("writing the price of %s on %s: %w", op.material, op.list, err)
}

func isNotFound(err error) bool {
	var de *dataverse.Error
	return errors.As(err, &de) && de.Kind == dataverse.KindNotFound
}
