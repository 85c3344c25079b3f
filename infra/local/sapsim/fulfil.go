package sapsim

import (
	"errors"
	"fmt"
	"time"
)

// Fulfil ships and bills a simulated sales order in full, at once and without raising events: an outbound
// delivery of what is still open (goods issue posted today) and an invoice for everything delivered and not yet
// billed, as Deliver, PostGoodsIssue and Bill would make them; the order's statuses follow.
func (s *Server) Fulfil(salesOrder string) (delivery, billing string, err error) {
	err = s.changeOrder(salesOrder, false, func(so record, l *life, now time.Time) ([]Event, error) {
		d, _, err := s.deliver(so, l, now, nil)
		if err == nil {
			today := now.Truncate(24 * time.Hour)
			dr := s.store.deliveries[len(s.store.deliveries)-1]
			dr["OverallGoodsMovementStatus"], dr["OverallPickingStatus"], dr["OverallSDProcessStatus"] = "C", "C", "C"
			dr["ActualGoodsMovementDate"], dr["DeliveryDate"] = today, today
			delivery = d
		}
		var lines []billLine
		for _, dr := range s.deliveriesOf(salesOrder) {
			lines = append(lines, unbilled(dr, so, l)...)
		}
		if len(lines) == 0 {
			return nil, errors.Join(err, fmt.Errorf("fulfilling sales order %s: %w", salesOrder, ErrNothingToBill))
		}
		billing, _ = s.invoice(so, l, invoice, lines, now)
		return nil, nil
	})
	return delivery, billing, err
}
