package sapsim

import (
	"math/big"
	"slices"
	"time"
)

// The conditions as reads see them now. Positions: the generated records, then the added ones already visible.

func (v *masterView) condCount() int { return v.g.condCount() + len(v.added) }

func (v *masterView) condIndex(pos int) int {
	if n := v.g.condCount(); pos >= n {
		return v.added[pos-n]
	}
	return pos
}

func (v *masterView) condPos(idx int) (int, bool) {
	n := v.g.condCount()
	if idx >= 0 && idx < n {
		return idx, true
	}
	k, ok := slices.BinarySearch(v.added, idx)
	return n + k, ok
}

func (v *masterView) condition(idx int) *condState {
	if st, ok := v.conds[idx]; ok {
		return st
	}
	if idx >= 0 && idx < v.g.condCount() {
		return v.g.conditionState(idx)
	}
	return nil
}

func (v *masterView) conditionRecord(idx int) record {
	if st := v.condition(idx); st != nil {
		return st.record(conditionRecordID(idx))
	}
	return nil
}

func (v *masterView) conditionValidities(idx int) []record {
	if st := v.condition(idx); st != nil {
		return st.validities(conditionRecordID(idx))
	}
	return nil
}

// validityBlocks lays out A_SlsPrcgCndnRecdValidity: one row per generated record, as many as a changed or added
// record has periods.
func (v *masterView) validityBlocks() *blocks {
	if v.validity == nil {
		own := map[int][]record{}
		for idx := range v.conds {
			if pos, ok := v.condPos(idx); ok {
				own[pos] = v.conditionValidities(idx)
			}
		}
		v.validity = newBlocks(v.condCount(), 1, func(pos, _ int) record {
			st := v.g.conditionState(pos)
			return st.validity(conditionRecordID(pos), st.rows[0])
		}, own)
	}
	return v.validity
}

// validitySpans are the positions of product i's validity rows.
func (v *masterView) validitySpans(i int) []span {
	idxs := v.g.conditionsOf(i)
	for _, idx := range v.added {
		if st := v.conds[idx]; st.c.Material == ProductID(i) {
			idxs = append(idxs, idx)
		}
	}
	b := v.validityBlocks()
	var out []span
	for _, idx := range idxs {
		if pos, ok := v.condPos(idx); ok {
			lo, hi := b.span(pos)
			out = append(out, span{lo, hi})
		}
	}
	slices.SortFunc(out, func(a, b span) int { return a.lo - b.lo })
	return out
}

// itemPricing is how SD prices product i ordered in unit for soldTo on day: the price is the customer-specific
// record before the material one, valid that day, not deleted, an amount per quantity in currency (none: the
// pricing is incomplete and the item costs nothing); the discounts are the percentage records of the discount
// condition types valid that day, one per type, the customer-specific one first.
func (v *masterView) itemPricing(i int, unit, soldTo, currency string, on time.Time) itemPricing {
	idxs := v.g.conditionsOf(i)
	for _, idx := range v.added {
		if v.conds[idx].c.Material == ProductID(i) {
			idxs = append(idxs, idx)
		}
	}
	valid := func(st *condState) bool {
		c := st.c
		if c.IsDeleted || c.ReleaseStatus != "" || c.SalesOrganization != SalesOrganization ||
			c.DistributionChannel != DistributionChannel || c.Customer != "" && c.Customer != soldTo {
			return false
		}
		for _, p := range st.rows {
			if !on.Before(p.from) && !on.After(p.to) {
				return true
			}
		}
		return false
	}
	out := itemPricing{baseUnit: v.baseUnit(i)}
	if b, ok := v.toBase(i, unit, big.NewRat(1, 1)); ok {
		out.inBase = b
	}
	var best *condState
	bestIdx := 0
	discounts := map[string]int{} // condition type → position in out.discounts
	for _, idx := range idxs {
		st := v.condition(idx)
		if st == nil || !valid(st) {
			continue
		}
		c := st.c
		if discountTypes[c.ConditionType] {
			if c.CalculationType != "A" || c.RateUnit != "%" {
				continue
			}
			d := discountCondition{ctype: c.ConditionType, record: conditionRecordID(idx), rate: c.RateValue}
			if k, ok := discounts[c.ConditionType]; !ok {
				discounts[c.ConditionType] = len(out.discounts)
				out.discounts = append(out.discounts, d)
			} else if c.Customer != "" {
				out.discounts[k] = d
			}
			continue
		}
		if c.CalculationType != "C" || c.Currency != currency || c.RateUnit != currency || ratOf(c.PricingQuantity).Sign() <= 0 {
			continue
		}
		if best == nil || best.c.Customer == "" && c.Customer != "" {
			best, bestIdx = st, idx
		}
	}
	incomplete := itemPricing{baseUnit: out.baseUnit, inBase: out.inBase}
	if best == nil || out.inBase == nil {
		return incomplete
	}
	// The rate is per pricing unit; one order unit is so many pricing units (both through the base unit).
	pricingUnit, ok := v.toBase(i, best.c.PricingUnit, big.NewRat(1, 1))
	if !ok || pricingUnit.Sign() == 0 {
		return incomplete
	}
	out.price = &priceCondition{ctype: best.c.ConditionType, record: conditionRecordID(bestIdx), rate: best.c.RateValue,
		per: best.c.PricingQuantity, unit: best.c.PricingUnit, currency: best.c.Currency,
		perOrderUnit: new(big.Rat).Quo(out.inBase, pricingUnit)}
	return out
}
