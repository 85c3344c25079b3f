package sapsim

import (
	"slices"
	"time"
)

// masterView is the master data one request reads: the changes already visible at its start, copied out of the
// overlay (versions are never modified once made, so the copies are shallow), over the generated data.
type masterView struct {
	g        *generator
	now      time.Time
	products map[int]productState
	stock    map[int]stockOverlay
	conds    map[int]*condState
	added    []int // visible added condition records, ascending

	descs, stockLayout, validity *blocks // built on first use
}

func (s *Server) view() *masterView {
	now := s.opts.Now()
	v := &masterView{g: s.gen, now: now, products: map[int]productState{}, stock: map[int]stockOverlay{},
		conds: map[int]*condState{}}
	genN := s.gen.condCount()
	m := s.master
	m.mu.Lock()
	for i, h := range m.products {
		if st, ok := h.at(now); ok {
			v.products[i] = st
		}
	}
	for i, h := range m.stock {
		if ov, ok := h.at(now); ok {
			v.stock[i] = ov
		}
	}
	for idx, h := range m.conds {
		if st, ok := h.at(now); ok {
			v.conds[idx] = st
			if idx >= genN {
				v.added = append(v.added, idx)
			}
		}
	}
	m.mu.Unlock()
	slices.Sort(v.added)
	return v
}

// master is the request's view of the master data, made on first use.
func (h *handler) master() *masterView {
	if h.mv == nil {
		h.mv = h.s.view()
	}
	return h.mv
}
