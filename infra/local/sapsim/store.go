package sapsim

import (
	"maps"
	"strconv"
	"sync"
	"time"
)

// store keeps what clients change: sales orders, partner updates and documents made by Fulfil.
type store struct {
	mu         sync.Mutex
	next       int
	orders     map[string]record
	meta       map[string]orderMeta
	order      []string
	bpChanges  map[string]record // business partner → changed properties
	deliveries []record
	billing    []record
	// billingAt is when each stored billing document committed (Faults.BillingReadLag hides it until later).
	billingAt []time.Time
	// lives holds what each order had delivered and billed (lifecycle.go).
	lives map[string]*life
	// copied counts orders copied by snapshots, so a test can see that a lookup copies only what can match.
	copied int
}

func newStore() *store {
	return &store{next: 1, orders: map[string]record{}, meta: map[string]orderMeta{}, bpChanges: map[string]record{}}
}

func (st *store) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.orders)
}

// cloneRecord copies a record and the rows below it (items, and their pricing elements), so readers never share
// maps with writers.
func cloneRecord(r record) record {
	c := maps.Clone(r)
	for k, v := range c {
		switch x := v.(type) {
		case []record:
			cp := make([]record, len(x))
			for i, row := range x {
				cp[i] = cloneRecord(row)
			}
			c[k] = cp
		case record:
			c[k] = cloneRecord(x)
		}
	}
	return c
}

// orderMeta is what SAP knows about an order besides its fields.
type orderMeta struct {
	committed   time.Time // when the create committed; reads see it SearchLag later
	handEntered bool      // entered by a clerk or EDI, not through the API
	// pricing is how SD priced each item (item number → conditions), which billing copies (billing.go).
	pricing map[string]itemPricing
}

// insert numbers an order, stores it with its metadata and returns its number and a copy.
func (st *store) insert(so record, m orderMeta) (string, record) {
	st.mu.Lock()
	defer st.mu.Unlock()
	id := strconv.Itoa(st.next)
	st.next++
	so["SalesOrder"] = id
	for _, nav := range []string{"to_Item", "to_Text", "to_SubsequentProcFlowDoc"} {
		rows, _ := so[nav].([]record)
		for _, r := range rows {
			r["SalesOrder"] = id
		}
	}
	st.orders[id] = so
	st.meta[id] = m
	st.order = append(st.order, id)
	return id, cloneRecord(so)
}

// snapshotOrders copies the stored orders that keep accepts (all when keep is nil) and that a read may already
// see: an order committed less than lag before now is still invisible. Filtering before copying keeps a lookup by
// reference cheap however many orders the simulator holds; hidden counts the orders the lag kept out.
func (st *store) snapshotOrders(keep func(record) bool, lag time.Duration, now time.Time) (out []record, hidden int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, id := range st.order {
		if lag > 0 && now.Before(st.meta[id].committed.Add(lag)) {
			hidden++
			continue
		}
		if o := st.orders[id]; keep == nil || keep(o) {
			out = append(out, cloneRecord(o))
			st.copied++
		}
	}
	return out, hidden
}

func (st *store) deleteOrder(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.orders, id)
	delete(st.meta, id)
	for i, o := range st.order {
		if o == id {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
}

// precondition is a failed or missing If-Match.
type precondition struct {
	status int
	msg    string
}

// updateSalesOrder applies a PATCH/MERGE after checking If-Match against the current ETag.
func (s *Server) updateSalesOrder(id string, patch record, ifMatch string, t *tx) error {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	cur, ok := st.orders[id]
	if !ok {
		return errNotFound
	}
	if ifMatch == "" {
		return &precondition{status: 428, msg: "Precondition required: send If-Match with the ETag"}
	}
	if ifMatch != "*" && ifMatch != etagOf(etASalesOrderType, cur) {
		return &precondition{status: 412, msg: "The data has been changed in the meantime (ETag mismatch)"}
	}
	if _, ok := patch["to_Item"]; ok {
		return &businessError{code: "/IWBEP/CM_MGW_RT/022", msg: "Deep update is not supported", target: "to_Item"}
	}
	before := cloneRecord(cur)
	s.normalizeExtensions(patch)
	for k, v := range patch {
		cur[k] = v
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	if prev, ok := before["LastChangeDateTime"].(time.Time); ok && !now.After(prev) {
		now = prev.Add(time.Millisecond)
	}
	cur["LastChangeDateTime"] = now
	cur["LastChangeDate"] = now.Truncate(24 * time.Hour)
	if t != nil {
		t.undo = append(t.undo, func() {
			st.mu.Lock()
			st.orders[id] = before
			st.mu.Unlock()
		})
	}
	return nil
}

func (p *precondition) Error() string { return p.msg }
