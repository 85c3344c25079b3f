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

// unitPrice is what SD prices one base unit of product i at for soldTo on day: the customer-specific record
// before the material one, valid that day, not deleted, an amount per quantity in currency. None: the pricing
// is incomplete and the item costs nothing.
func (v *masterView) unitPrice(i int, soldTo, currency string, on time.Time) (*big.Rat, bool) {
	idxs := v.g.conditionsOf(i)
	for _, idx := range v.added {
		if v.conds[idx].c.Material == ProductID(i) {
			idxs = append(idxs, idx)
		}
	}
	var best *condState
	for _, idx := range idxs {
		st := v.condition(idx)
		c := st.c
		if c.IsDeleted || c.ReleaseStatus != "" || c.CalculationType != "C" || c.Currency != currency || c.RateUnit != currency ||
			c.SalesOrganization != SalesOrganization || c.DistributionChannel != DistributionChannel ||
			c.Customer != "" && c.Customer != soldTo || ratOf(c.PricingQuantity).Sign() <= 0 {
			continue
		}
		valid := false
		for _, p := range st.rows {
			valid = valid || !on.Before(p.from) && !on.After(p.to)
		}
		if valid && (best == nil || best.c.Customer == "" && c.Customer != "") {
			best = st
		}
	}
	if best == nil {
		return nil, false
	}
	per := ratOf(best.c.RateValue)
	per.Quo(per, ratOf(best.c.PricingQuantity))
	// The rate is per pricing unit; one pricing unit is num/den base units.
	one, ok := v.toBase(i, best.c.PricingUnit, big.NewRat(1, 1))
	if !ok || one.Sign() == 0 {
		return nil, false
	}
	return per.Quo(per, one), true
}
