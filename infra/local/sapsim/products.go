package sapsim

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// ProductData is the part of a product a test changes with ChangeProduct.
type ProductData struct {
	// Descriptions are the product's texts (A_ProductDescription) by language key ("EN", "DE"); delete a key to
	// remove that language.
	Descriptions map[string]string
	// BaseUnit is EA, PC or KG, the units whose conversions the simulator knows. Stock rows follow it; existing
	// price conditions keep the unit they were maintained in, as SAP's do.
	BaseUnit string
	// IsMarkedForDeletion is the deletion flag (MARA-LVORM): the product stays readable, flagged.
	IsMarkedForDeletion bool
}

type productState struct {
	data    ProductData
	changed time.Time // LastChangeDateTime
}

func (g *generator) productMarked(i int) bool { return g.mix(2, uint64(i))%50 == 7 }

func (g *generator) productData(i int) ProductData {
	return ProductData{Descriptions: map[string]string{"EN": fmt.Sprintf("Simulated product %d", i+1)},
		BaseUnit: g.baseUnit(i), IsMarkedForDeletion: g.productMarked(i)}
}

// ChangeProduct changes product (e.g. ProductID(3)) as a clerk in MM02 would: change gets the current data to
// edit (it runs with the master data locked, so it must not call the Server). The product's LastChangeDateTime
// becomes the clock's time, which ChangeProduct returns.
func (s *Server) ChangeProduct(product string, change func(*ProductData), o *ChangeOptions) (time.Time, error) {
	i, ok := productIndex(product)
	if !ok || i >= s.opts.Products {
		return time.Time{}, fmt.Errorf("changing product %s: %w", product, ErrNoSuchObject)
	}
	now := s.opts.Now()
	m := s.master
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.products[i]
	if h.pending(now) {
		return time.Time{}, fmt.Errorf("changing product %s: %w", product, ErrLocked)
	}
	d := s.gen.productData(i)
	if cur, ok := h.latest(); ok {
		d = cur.data
	}
	d.Descriptions = maps.Clone(d.Descriptions)
	if d.Descriptions == nil {
		d.Descriptions = map[string]string{}
	}
	change(&d)
	d.Descriptions = maps.Clone(d.Descriptions) // the caller may keep the map it was given
	if err := d.validate(); err != nil {
		return time.Time{}, fmt.Errorf("changing product %s: %w", product, err)
	}
	stamp := now.UTC().Truncate(time.Millisecond)
	m.products[i] = h.then(productState{data: d, changed: stamp}, now.Add(o.delay()))
	return stamp, nil
}

func (d ProductData) validate() error {
	if _, ok := productUnits[d.BaseUnit]; !ok {
		return fmt.Errorf("base unit %q is not one of EA, PC, KG", d.BaseUnit)
	}
	for lang, text := range d.Descriptions {
		if len(lang) < 1 || len(lang) > 2 {
			return fmt.Errorf("language key %q is not 1 or 2 characters", lang)
		}
		if n := len([]rune(text)); n > 40 {
			return fmt.Errorf("description in %s has %d characters, ProductDescription holds 40", lang, n)
		}
	}
	return nil
}

// product is product i as reads see it now.
func (v *masterView) product(i int) record {
	r := v.g.product(i)
	if st, ok := v.products[i]; ok {
		r["BaseUnit"] = st.data.BaseUnit
		r["IsMarkedForDeletion"] = st.data.IsMarkedForDeletion
		r["LastChangeDateTime"] = st.changed
		r["LastChangeDate"] = st.changed.Truncate(24 * time.Hour)
		r["LastChangedByUser"] = "CB9980000116"
	}
	return r
}

func (v *masterView) baseUnit(i int) string {
	if st, ok := v.products[i]; ok {
		return st.data.BaseUnit
	}
	return v.g.baseUnit(i)
}

// descriptions are product i's texts in key order (Language).
func (v *masterView) descriptions(i int) []record {
	st, ok := v.products[i]
	if !ok {
		return v.g.productDescriptions(i)
	}
	var out []record
	for _, lang := range slices.Sorted(maps.Keys(st.data.Descriptions)) {
		out = append(out, record{"Product": ProductID(i), "Language": lang, "ProductDescription": st.data.Descriptions[lang]})
	}
	return out
}

// descriptionBlocks lays out A_ProductDescription: one row per product unless its texts were changed.
func (v *masterView) descriptionBlocks() *blocks {
	if v.descs == nil {
		own := map[int][]record{}
		for i := range v.products {
			own[i] = v.descriptions(i)
		}
		v.descs = newBlocks(v.g.products, 1, func(i, _ int) record { return v.g.productDescriptions(i)[0] }, own)
	}
	return v.descs
}

// productsChangedSince are the positions of A_Product that a filter "LastChangeDateTime gt/ge t" can match, in key
// order: the generated products changed after t (a range, as generated stamps grow with the index) and the
// changed products before that range whose new stamp is not before t.
func (v *masterView) productsChangedSince(t time.Time) []span {
	lo := v.g.productsChangedAfter(t, true)
	var early []int
	for i, st := range v.products {
		if i < lo && !st.changed.Before(t) {
			early = append(early, i)
		}
	}
	slices.Sort(early)
	var out []span
	for _, i := range early {
		out = append(out, span{i, i + 1})
	}
	return append(out, span{lo, v.g.products})
}
