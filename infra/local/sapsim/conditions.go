package sapsim

import (
	"fmt"
	"slices"
	"time"
)

// Condition is one price condition record with its key and validity (AddCondition, ChangeCondition). Its record
// fields are A_SlsPrcgConditionRecord's, its key fields (material, sales area, customer) live on
// A_SlsPrcgCndnRecdValidity, as in SAP's API.
type Condition struct {
	// ConditionType is e.g. "PPR0" (the S/4HANA price) or "PR00" (the classic one).
	ConditionType string
	// ConditionTable names the key combination (the Annn table): "304" sales organisation, distribution channel
	// and material, "305" the same with customer (S/4HANA, with release status); "004" and "005" are the classic
	// ones. Empty: 304 or 305 (004 or 005 for PR00), by whether Customer is set.
	ConditionTable                                   string
	Material, SalesOrganization, DistributionChannel string
	// Customer is set for customer-specific tables (305, 005).
	Customer string
	// RateValue is ConditionRateValue: the amount per PricingQuantity ("12.50"), or a percentage ("-3": a
	// discount carries its minus sign).
	RateValue string
	// RateUnit is ConditionRateValueUnit: the currency ("EUR"), or "%" for a percentage condition.
	RateUnit string
	// CalculationType is ConditionCalculationType: "C" quantity, "A" percentage, "B" fixed amount. Empty: "A"
	// for a "%" rate, "C" otherwise. A change of RateUnit does not change it: set both.
	CalculationType string
	// Currency is ConditionCurrency; empty: RateUnit (none for a percentage).
	Currency string
	// PricingQuantity and PricingUnit are ConditionQuantity and ConditionQuantityUnit: the rate is per "100"
	// "EA". Empty: 1 and the product's base unit (0 and none for a percentage).
	PricingQuantity, PricingUnit string
	// ValidFrom and ValidTo are the validity, in days (zero: today and 9999-12-31). A record whose validity
	// overlaps that of another record with the same key cuts the other's validity short, or splits it in two
	// periods (two A_SlsPrcgCndnRecdValidity rows of one record), as SAP does; the other record's
	// LastChangeDateTime is left as it was (whether SAP stamps it is unverified: the harder case for a delta read).
	ValidFrom, ValidTo time.Time
	// IsDeleted is ConditionIsDeleted: deleting a condition record sets it, and the record stays readable.
	IsDeleted bool
	// ReleaseStatus is ConditionReleaseStatus (KFRST, part of the key of tables 304 and 305): "" released, "A"
	// blocked, "B" released for price simulation, "C" for planning and simulation. Only released records price
	// an order, and a record with another status does not cut a released one: both stay valid on the same day.
	ReleaseStatus string
}

func (c Condition) sameKey(o Condition) bool {
	return c.ConditionType == o.ConditionType && c.ConditionTable == o.ConditionTable && c.Material == o.Material &&
		c.SalesOrganization == o.SalesOrganization && c.DistributionChannel == o.DistributionChannel &&
		c.Customer == o.Customer && c.ReleaseStatus == o.ReleaseStatus
}

func day(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// complete fills the defaults of a new or changed condition and checks it against the EDMX facts.
func (c *Condition) complete(baseUnit string, today time.Time) error {
	if c.ConditionType == "" || len(c.ConditionType) > 4 {
		return fmt.Errorf("condition type %q is not 1 to 4 characters", c.ConditionType)
	}
	if c.RateUnit == "" {
		return fmt.Errorf("a condition needs a RateUnit (a currency or %%)")
	}
	pct := c.RateUnit == "%"
	if c.ConditionTable == "" {
		c.ConditionTable = map[[2]bool]string{{false, false}: "304", {false, true}: "305", {true, false}: "004",
			{true, true}: "005"}[[2]bool{c.ConditionType == "PR00", c.Customer != ""}]
	}
	if c.CalculationType == "" {
		c.CalculationType = "C"
		if pct {
			c.CalculationType = "A"
		}
	}
	if c.Currency == "" && !pct {
		c.Currency = c.RateUnit
	}
	if c.PricingQuantity == "" {
		c.PricingQuantity = "1"
		if pct {
			c.PricingQuantity = "0"
		}
	}
	if c.PricingUnit == "" && !pct {
		c.PricingUnit = baseUnit
	}
	if c.ValidFrom.IsZero() {
		c.ValidFrom = today
	}
	if c.ValidTo.IsZero() {
		c.ValidTo = validTo
	}
	c.ValidFrom, c.ValidTo = day(c.ValidFrom), day(c.ValidTo)
	if c.ValidTo.Before(c.ValidFrom) {
		return fmt.Errorf("validity %s to %s ends before it starts", c.ValidFrom.Format(time.DateOnly), c.ValidTo.Format(time.DateOnly))
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"ConditionTable", c.ConditionTable, 3}, {"SalesOrganization", c.SalesOrganization, 4},
		{"DistributionChannel", c.DistributionChannel, 2}, {"Customer", c.Customer, 10}, {"RateUnit", c.RateUnit, 5},
		{"CalculationType", c.CalculationType, 1}, {"Currency", c.Currency, 5}, {"PricingUnit", c.PricingUnit, 3},
		{"ReleaseStatus", c.ReleaseStatus, 1}} {
		if len(f.v) > f.max {
			return fmt.Errorf("%s %q is longer than %d", f.name, f.v, f.max)
		}
	}
	if !decimalFits(c.RateValue, 12, 3) {
		return fmt.Errorf("rate %q is not a Decimal(12,3)", c.RateValue)
	}
	if !decimalFits(c.PricingQuantity, 5, 0) {
		return fmt.Errorf("pricing quantity %q is not a Decimal(5,0)", c.PricingQuantity)
	}
	c.RateValue = canonicalDecimal(c.RateValue)
	c.PricingQuantity = canonicalDecimal(c.PricingQuantity)
	return nil
}

// cut takes period p out of rows: a row p covers goes, a row p lies inside splits, a row p overlaps shrinks.
func cut(rows []period, p period) []period {
	var out []period
	for _, r := range rows {
		switch {
		case r.to.Before(p.from) || r.from.After(p.to):
			out = append(out, r)
		case !r.from.Before(p.from) && !r.to.After(p.to):
		default:
			if r.from.Before(p.from) {
				out = append(out, period{r.from, p.from.AddDate(0, 0, -1)})
			}
			if r.to.After(p.to) {
				out = append(out, period{p.to.AddDate(0, 0, 1), r.to})
			}
		}
	}
	slices.SortFunc(out, func(a, b period) int { return a.to.Compare(b.to) })
	return out
}

// AddCondition creates a condition record, as VK11 does, stamped with the clock, and returns its number. The
// material must be a generated product.
func (s *Server) AddCondition(c Condition, o *ChangeOptions) (string, error) {
	i, ok := productIndex(c.Material)
	if !ok || i >= s.opts.Products {
		return "", fmt.Errorf("adding a condition for %s: %w", c.Material, ErrNoSuchObject)
	}
	now := s.opts.Now()
	m := s.master
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := c.complete(s.latestBaseUnit(i), day(now)); err != nil {
		return "", fmt.Errorf("adding a condition for %s: %w", c.Material, err)
	}
	idx := s.gen.condCount() + m.added
	cuts, err := s.cutOthers(i, idx, c, now)
	if err != nil {
		return "", fmt.Errorf("adding a condition for %s: %w", c.Material, err)
	}
	stamp := now.UTC().Truncate(time.Millisecond)
	m.added++
	visible := now.Add(o.delay())
	m.conds[idx] = history[*condState]{{val: &condState{c: c, rows: []period{{c.ValidFrom, c.ValidTo}},
		created: day(stamp), changed: stamp}, visible: visible}}
	for j, st := range cuts {
		m.conds[j] = m.conds[j].then(st, visible)
	}
	return conditionRecordID(idx), nil
}

// ChangeCondition changes condition record (its number), as VK12 does: change gets the current condition to
// edit (it runs with the master data locked, so it must not call the Server). Its key (type, table, material,
// sales area, customer) cannot change. A changed validity replaces the record's periods; that or a changed release
// status (a price approved) cuts the periods of the records that then have the same key.
func (s *Server) ChangeCondition(record string, change func(*Condition), o *ChangeOptions) error {
	idx, ok := conditionIndex(record)
	now := s.opts.Now()
	m := s.master
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := s.latestCondition(idx)
	if !ok || cur == nil {
		return fmt.Errorf("changing condition record %s: %w", record, ErrNoSuchObject)
	}
	if m.conds[idx].pending(now) {
		return fmt.Errorf("changing condition record %s: %w", record, ErrLocked)
	}
	c := cur.c
	change(&c)
	keyed := c
	keyed.ReleaseStatus = cur.c.ReleaseStatus
	if !keyed.sameKey(cur.c) {
		return fmt.Errorf("changing condition record %s: its key fields cannot change; add a new record", record)
	}
	i, _ := productIndex(c.Material)
	if err := c.complete(s.latestBaseUnit(i), day(now)); err != nil {
		return fmt.Errorf("changing condition record %s: %w", record, err)
	}
	stamp := now.UTC().Truncate(time.Millisecond)
	next := &condState{c: c, rows: cur.rows, created: cur.created, changed: stamp}
	var cuts map[int]*condState
	validity := !c.ValidFrom.Equal(cur.c.ValidFrom) || !c.ValidTo.Equal(cur.c.ValidTo)
	if validity {
		next.rows = []period{{c.ValidFrom, c.ValidTo}}
	}
	if validity || c.ReleaseStatus != cur.c.ReleaseStatus {
		var err error
		if cuts, err = s.cutOthers(i, idx, c, now); err != nil {
			return fmt.Errorf("changing condition record %s: %w", record, err)
		}
	}
	visible := now.Add(o.delay())
	m.conds[idx] = m.conds[idx].then(next, visible)
	for j, st := range cuts {
		m.conds[j] = m.conds[j].then(st, visible)
	}
	return nil
}

// DeleteCondition sets a condition record's deletion flag (ConditionIsDeleted), as deleting it in VK12 does.
func (s *Server) DeleteCondition(record string, o *ChangeOptions) error {
	return s.ChangeCondition(record, func(c *Condition) { c.IsDeleted = true }, o)
}

// latestCondition is record idx as its last change left it (committed or not); nil if there is none. Needs m.mu.
func (s *Server) latestCondition(idx int) *condState {
	if st, ok := s.master.conds[idx].latest(); ok {
		return st
	}
	if idx >= 0 && idx < s.gen.condCount() {
		return s.gen.conditionState(idx)
	}
	return nil
}

// latestBaseUnit is product i's base unit after its last change. Needs m.mu.
func (s *Server) latestBaseUnit(i int) string {
	if st, ok := s.master.products[i].latest(); ok {
		return st.data.BaseUnit
	}
	return s.gen.baseUnit(i)
}

// cutOthers cuts c's validity out of the other records of product i with the same key; it returns their new
// states. Needs m.mu.
func (s *Server) cutOthers(i, self int, c Condition, now time.Time) (map[int]*condState, error) {
	m := s.master
	others := s.gen.conditionsOf(i)
	for j := range m.conds {
		if j >= s.gen.condCount() {
			others = append(others, j)
		}
	}
	out := map[int]*condState{}
	for _, j := range others {
		st := s.latestCondition(j)
		if j == self || st == nil || st.c.IsDeleted || !st.c.sameKey(c) {
			continue
		}
		rows := cut(st.rows, period{c.ValidFrom, c.ValidTo})
		if slices.Equal(rows, st.rows) {
			continue
		}
		if m.conds[j].pending(now) {
			return nil, fmt.Errorf("record %s: %w", conditionRecordID(j), ErrLocked)
		}
		next := *st
		next.rows = rows
		out[j] = &next
	}
	return out, nil
}
