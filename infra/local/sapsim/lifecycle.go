package sapsim

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Event is one business event the simulator raises: its type and data as SAP's event specifications give them
// (every data field a string), and when it was raised. The CloudEvents envelope is the publisher's.
type Event struct {
	Type   string
	Data   map[string]string
	Raised time.Time
}

const (
	soEvent = "sap.s4.beh.salesorder.v1.SalesOrder."
	odEvent = "sap.s4.beh.outbounddelivery.v1.OutboundDelivery."
	bdEvent = "sap.s4.beh.billingdocument.v1.BillingDocument."
)

// life is what the simulator keeps of an order's fulfilment besides its fields: quantities delivered and billed
// per item (in the order unit), and billed per delivery item, by invoices not cancelled.
type life struct {
	delivered, billed map[string]*big.Rat // item → quantity
	billedOf          map[string]*big.Rat // "delivery/delivery item" → quantity
}

func (st *store) lifeOf(order string) *life {
	if st.lives == nil {
		st.lives = map[string]*life{}
	}
	l, ok := st.lives[order]
	if !ok {
		l = &life{delivered: map[string]*big.Rat{}, billed: map[string]*big.Rat{}, billedOf: map[string]*big.Rat{}}
		st.lives[order] = l
	}
	return l
}

func qty(m map[string]*big.Rat, item string) *big.Rat {
	if q, ok := m[item]; ok {
		return q
	}
	return new(big.Rat)
}

// change runs fn on a stored order under the store lock, then stamps the order changed, recomputes its header
// statuses and raises the events fn returned plus the header status events the change caused, after the lock.
func (s *Server) change(order string, fn func(so record, l *life, now time.Time) ([]Event, error)) error {
	return s.changeOrder(order, true, fn)
}

// changeOrder is change; with raise false no event at all is raised (Fulfil).
func (s *Server) changeOrder(order string, raise bool, fn func(so record, l *life, now time.Time) ([]Event, error)) error {
	st := s.store
	st.mu.Lock()
	so, ok := st.orders[order]
	if !ok {
		st.mu.Unlock()
		return fmt.Errorf("changing sales order %s: %w", order, errNotFound)
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	if prev, _ := so["LastChangeDateTime"].(time.Time); !now.After(prev) {
		now = prev.Add(time.Millisecond)
	}
	before := headerStatuses(so)
	l := st.lifeOf(order)
	evs, err := fn(so, l, now)
	if err != nil {
		st.mu.Unlock()
		return err
	}
	recompute(so, l)
	so["LastChangeDateTime"] = now
	so["LastChangeDate"] = now.Truncate(24 * time.Hour)
	after := headerStatuses(so)
	head := orderEventData(so)
	for _, f := range statusEvents {
		if before[f.field] != after[f.field] {
			d := clone(head)
			d[f.field], d[f.previous] = after[f.field], before[f.field]
			evs = append(evs, Event{Type: soEvent + f.op + ".v1", Data: d, Raised: now})
		}
	}
	evs = append(evs, Event{Type: soEvent + "Changed.v1", Data: head, Raised: now})
	st.mu.Unlock()
	if raise {
		s.raise(evs)
	}
	return nil
}

func (s *Server) raise(evs []Event) {
	if s.opts.Events == nil {
		return
	}
	for _, e := range evs {
		if e.Data["EventRaisedDateTime"] == "" && strings.HasPrefix(e.Type, soEvent) {
			e.Data["EventRaisedDateTime"] = e.Raised.Format("2006-01-02T15:04:05.000Z")
		}
		s.opts.Events(e)
	}
}

// statusEvents are the header status events and their irregular previous-value fields, from the spec.
var statusEvents = []struct{ op, field, previous string }{
	{"OvrlSDProcStsChgd", "OverallSDProcessStatus", "PreviousOverallSDProcessStatus"},
	{"OvrlDelivStsChgd", "OverallDeliveryStatus", "PreviousOverallDeliveryStatus"},
	{"OvrlRjcnStsChgd", "OverallSDDocumentRejectionSts", "PreviousOvrlSDDocRejectionSts"},
}

func headerStatuses(so record) map[string]string {
	out := map[string]string{}
	for _, f := range statusEvents {
		out[f.field], _ = so[f.field].(string)
	}
	return out
}

func orderEventData(so record) map[string]string {
	d := map[string]string{}
	for _, k := range []string{"SalesOrder", "SalesOrderType", "SalesOrganization", "DistributionChannel", "OrganizationDivision", "SoldToParty"} {
		d[k] = fmt.Sprint(so[k])
	}
	return d
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// recompute derives the item and header statuses from what was delivered, billed and rejected: A nothing yet,
// B partly, C completely, over the items not rejected; rejection A none, B some, C every item.
func recompute(so record, l *life) {
	items, _ := so["to_Item"].([]record)
	var open, rejected, deliveredAll, deliveredSome, billedAll, billedSome int
	for _, it := range items {
		id := fmt.Sprint(it["SalesOrderItem"])
		if r, _ := it["SalesDocumentRjcnReason"].(string); r != "" {
			rejected++
			it["SDProcessStatus"] = "C"
			continue
		}
		open++
		req := ratOf(fmt.Sprint(it["RequestedQuantity"]))
		d, b := qty(l.delivered, id), qty(l.billed, id)
		it["DeliveryStatus"] = level(d, req)
		it["OrderRelatedBillingStatus"] = ""
		if b.Sign() > 0 {
			it["OrderRelatedBillingStatus"] = level(b, req)
		}
		switch it["DeliveryStatus"] {
		case "C":
			deliveredAll++
			deliveredSome++
		case "B":
			deliveredSome++
		}
		if b.Cmp(req) >= 0 {
			billedAll++
		}
		if b.Sign() > 0 {
			billedSome++
		}
		it["SDProcessStatus"] = "A"
		if d.Sign() > 0 {
			it["SDProcessStatus"] = "B"
		}
		if d.Cmp(req) >= 0 && b.Cmp(req) >= 0 {
			it["SDProcessStatus"] = "C"
		}
	}
	switch {
	case rejected == 0:
		so["OverallSDDocumentRejectionSts"] = "A"
	case open == 0:
		so["OverallSDDocumentRejectionSts"] = "C"
	case rejected > 0:
		so["OverallSDDocumentRejectionSts"] = "B"
	}
	status := func(all, some int) string {
		switch {
		case open == 0:
			return ""
		case all == open:
			return "C"
		case some > 0:
			return "B"
		}
		return "A"
	}
	so["OverallDeliveryStatus"] = status(deliveredAll, deliveredSome)
	so["OverallTotalDeliveryStatus"] = so["OverallDeliveryStatus"]
	so["OverallOrdReltdBillgStatus"] = ""
	if billedSome > 0 {
		so["OverallOrdReltdBillgStatus"] = status(billedAll, billedSome)
	}
	switch {
	case open == 0:
		so["OverallSDProcessStatus"] = "C"
	case deliveredAll == open && billedAll == open:
		so["OverallSDProcessStatus"] = "C"
	case deliveredSome > 0:
		so["OverallSDProcessStatus"] = "B"
	default:
		so["OverallSDProcessStatus"] = "A"
	}
}

func level(done, want *big.Rat) string {
	switch {
	case done.Sign() == 0:
		return "A"
	case done.Cmp(want) >= 0:
		return "C"
	}
	return "B"
}

// flow records a subsequent document of the order (A_SalesOrderSubsqntProcFlow) by its SD document category: J a
// delivery; M an invoice, N its cancellation, O a credit memo, S its cancellation, P a debit memo, U a pro forma.
func flow(so record, doc, category string, now time.Time) {
	rows, _ := so["to_SubsequentProcFlowDoc"].([]record)
	so["to_SubsequentProcFlowDoc"] = append(rows, record{"SalesOrder": so["SalesOrder"], "DocRelationshipUUID": uuid.NewString(),
		"SubsequentDocument": doc, "SubsequentDocumentCategory": category, "ProcessFlowLevel": "00",
		"CreationDate": now.Truncate(24 * time.Hour), "LastChangeDate": now.Truncate(24 * time.Hour)})
}

// Deliver creates an outbound delivery of an order: quantities gives item → quantity; nil delivers what is still
// open of every item not rejected. Goods issue is planned for the next day and posted by PostGoodsIssue.
func (s *Server) Deliver(order string, quantities map[string]string) (string, error) {
	var number string
	err := s.change(order, func(so record, l *life, now time.Time) ([]Event, error) {
		n, ev, err := s.deliver(so, l, now, quantities)
		number = n
		return []Event{ev}, err
	})
	return number, err
}

// deliver is Deliver's work on an order under the store lock.
func (s *Server) deliver(so record, l *life, now time.Time, quantities map[string]string) (string, Event, error) {
	st := s.store
	order := fmt.Sprint(so["SalesOrder"])
	number := strconv.Itoa(80000000 + s.opts.Deliveries + len(st.deliveries))
	today := now.Truncate(24 * time.Hour)
	items, _ := so["to_Item"].([]record)
	var dItems []record
	for _, it := range items {
		id := fmt.Sprint(it["SalesOrderItem"])
		if r, _ := it["SalesDocumentRjcnReason"].(string); r != "" {
			continue
		}
		open := new(big.Rat).Sub(ratOf(fmt.Sprint(it["RequestedQuantity"])), qty(l.delivered, id))
		q := open
		if quantities != nil {
			v, ok := quantities[id]
			if !ok {
				continue
			}
			q = ratOf(v)
		}
		if q.Sign() <= 0 || q.Cmp(open) > 0 {
			if quantities != nil {
				return "", Event{}, fmt.Errorf("delivering item %s of order %s: %s is not within the open %s", id, order, q.FloatString(3), open.FloatString(3))
			}
			continue
		}
		l.delivered[id] = new(big.Rat).Add(qty(l.delivered, id), q)
		dItems = append(dItems, record{"DeliveryDocument": number, "DeliveryDocumentItem": fmt.Sprintf("%06d", (len(dItems)+1)*10),
			"Material": it["Material"], "ActualDeliveryQuantity": q.FloatString(3), "DeliveryQuantityUnit": it["RequestedQuantityUnit"],
			"Plant": it["ProductionPlant"], "ReferenceSDDocument": order, "ReferenceSDDocumentItem": id})
	}
	if len(dItems) == 0 {
		return "", Event{}, fmt.Errorf("delivering order %s: nothing is open to deliver", order)
	}
	st.deliveries = append(st.deliveries, record{"DeliveryDocument": number, "DeliveryDocumentType": "LF",
		"SoldToParty": so["SoldToParty"], "ShipToParty": so["SoldToParty"], "SalesOrganization": so["SalesOrganization"],
		"OverallGoodsMovementStatus": "A", "OverallPickingStatus": "A", "OverallSDProcessStatus": "A",
		"PlannedGoodsIssueDate": today.Add(24 * time.Hour), "DeliveryDate": today.Add(48 * time.Hour),
		"CreationDate": today, "LastChangeDate": today, "DeliveryVersion": "0001",
		"Shippinglocationtimezone": "CET", "Receivinglocationtimezone": "CET", "to_DeliveryDocumentItem": dItems})
	flow(so, number, "J", now)
	return number, Event{Type: odEvent + "Created.v1", Raised: now, Data: map[string]string{"OutboundDelivery": number,
		"DeliveryDocumentType": "LF", "SalesOrganization": fmt.Sprint(so["SalesOrganization"]), "SDDocumentCategory": "J"}}, nil
}

// PostGoodsIssue posts the goods issue of a delivery: its goods movement status becomes complete, with today's
// date, and a GIStatusChanged event is raised (the order's own fields do not change).
func (s *Server) PostGoodsIssue(delivery string) error {
	st := s.store
	st.mu.Lock()
	i, err := strconv.Atoi(delivery)
	i -= 80000000 + s.opts.Deliveries
	if err != nil || i < 0 || i >= len(st.deliveries) {
		st.mu.Unlock()
		return fmt.Errorf("posting goods issue of delivery %s: %w", delivery, errNotFound)
	}
	d := st.deliveries[i]
	if d["OverallGoodsMovementStatus"] == "C" {
		st.mu.Unlock()
		return fmt.Errorf("posting goods issue of delivery %s: it is posted already", delivery)
	}
	now := s.opts.Now().UTC().Truncate(time.Millisecond)
	d["OverallGoodsMovementStatus"], d["OverallPickingStatus"] = "C", "C"
	d["ActualGoodsMovementDate"], d["LastChangeDate"] = now.Truncate(24*time.Hour), now.Truncate(24*time.Hour)
	ev := Event{Type: odEvent + "GIStatusChanged.v1", Raised: now, Data: map[string]string{"OutboundDelivery": delivery,
		"DeliveryDocumentType": "LF", "SalesOrganization": fmt.Sprint(d["SalesOrganization"]), "SDDocumentCategory": "J",
		"OverallGoodsMovementStatus": "C", "PrevOverallGoodsMovementStatus": "A"}}
	st.mu.Unlock()
	s.raise([]Event{ev})
	return nil
}

// Reject sets the rejection reason of an order item; an empty reason undoes the rejection. Only an item with
// nothing delivered can be rejected, as in SAP.
func (s *Server) Reject(order, item, reason string) error {
	return s.change(order, func(so record, l *life, _ time.Time) ([]Event, error) {
		items, _ := so["to_Item"].([]record)
		for _, it := range items {
			if fmt.Sprint(it["SalesOrderItem"]) != item {
				continue
			}
			if reason != "" && qty(l.delivered, item).Sign() > 0 {
				return nil, fmt.Errorf("rejecting item %s of order %s: it is delivered already", item, order)
			}
			it["SalesDocumentRjcnReason"] = reason
			return nil, nil
		}
		return nil, fmt.Errorf("rejecting item %s of order %s: %w", item, order, errNotFound)
	})
}
