package sapsim

import (
	"fmt"
	"maps"
	"time"
)

// businessPartner returns a generated partner with any stored changes applied.
func (s *Server) businessPartner(i int) record {
	r := s.gen.businessPartner(i)
	s.store.mu.Lock()
	for k, v := range s.store.bpChanges[CustomerID(i)] {
		r[k] = v
	}
	s.store.mu.Unlock()
	return r
}

func (s *Server) updateBusinessPartner(id string, patch record, ifMatch string, t *tx) error {
	i, ok := customerIndex(id)
	if !ok || i >= s.opts.Customers {
		return errNotFound
	}
	cur := s.businessPartner(i)
	if ifMatch != "" && ifMatch != "*" && ifMatch != etagOf(etABusinessPartnerType, cur) {
		return &precondition{status: 412, msg: "The data has been changed in the meantime (ETag mismatch)"}
	}
	now := s.opts.Now().UTC()
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	before, had := st.bpChanges[id]
	ch := maps.Clone(before)
	if ch == nil {
		ch = record{}
	}
	for k, v := range patch {
		ch[k] = v
	}
	if name, ok := patch["OrganizationBPName1"]; ok {
		ch["BusinessPartnerFullName"] = name
	}
	secs := now.Sub(now.Truncate(24*time.Hour)) / time.Second
	ch["LastChangeDate"] = now.Truncate(24 * time.Hour)
	ch["LastChangeTime"] = fmt.Sprintf("PT%02dH%02dM%02dS", secs/3600, secs/60%60, secs%60)
	etag := now.Format("20060102150405.000000000")
	if prev, _ := cur["ETag"].(string); prev == etag {
		etag += "1"
	}
	ch["ETag"] = etag
	st.bpChanges[id] = ch
	if t != nil {
		t.undo = append(t.undo, func() {
			st.mu.Lock()
			if had {
				st.bpChanges[id] = before
			} else {
				delete(st.bpChanges, id)
			}
			st.mu.Unlock()
		})
	}
	return nil
}
