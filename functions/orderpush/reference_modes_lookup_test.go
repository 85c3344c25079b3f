package orderpush

import (
	"context"
	"fmt"
	"testing"

	"github.com/d365sap/d365sap/shared/sap"
)

// In every reference mode (and every encoding of the id the field length calls for) a create whose answer was
// lost is found by the lookup and becomes the push's one SAP order, and an order someone else entered with the
// same PO and sold-to party is never adopted (orderNumber mode excepted: there the PO is the reference).
func TestEveryReferenceModeFindsALostCreateAndAdoptsNoStranger(t *testing.T) {
	modes := []struct {
		name string
		ref  Reference
	}{
		{"extension field of 36", Reference{Mode: RefExtensionField, Field: "YY1_D365OrderID_SDH", MaxLength: 36}},
		{"extension field of 32 (hex)", Reference{Mode: RefExtensionField, Field: "YY1_D365OrderID_SDH", MaxLength: 32}},
		{"extension field of 26 (base32)", Reference{Mode: RefExtensionField, Field: "YY1_D365OrderID_SDH", MaxLength: 26}},
		{"header text", Reference{Mode: RefHeaderText, TextID: "Z001", Language: "EN"}},
		{"order number", Reference{Mode: RefOrderNumber}},
	}
	for i, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			r := newRig(t)
			r.s.Mapping.Reference = m.ref
			id := fmt.Sprintf("0c0ffee0-0000-4000-8000-0000001100%02d", i)
			req := inline(id, "17100001", "PO-SHARED", "MAT-1", "1")
			req.Order.OrderNumber = fmt.Sprintf("ORD-%05d", i)
			if m.ref.Mode != RefOrderNumber {
				// A clerk's order with the same PO and sold-to party, without our reference.
				r.sap.mu.Lock()
				r.sap.orders = append(r.sap.orders, sap.SalesOrder{SalesOrder: "500", PurchaseOrderByCustomer: "PO-SHARED", SoldToParty: "17100001"})
				r.sap.mu.Unlock()
			}
			r.sap.answerNext(createAnswer{commit: true, err: fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, context.DeadlineExceeded)})
			res, err := r.s.Push(t.Context(), req, false)
			if err != nil || res.SAPSalesOrder == "" || res.SAPSalesOrder == "500" {
				t.Fatalf("push after a lost answer: %+v %v", res, err)
			}
			again, err := r.s.Push(t.Context(), req, false)
			if err != nil || again.SAPSalesOrder != res.SAPSalesOrder || r.sap.createCount() != 1 {
				t.Fatalf("replay: %+v %v, %d creates", again, err, r.sap.createCount())
			}
		})
	}
}
