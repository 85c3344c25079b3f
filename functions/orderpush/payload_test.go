package orderpush_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/ledger"
)

// bigOrder has lines with material numbers that do not compress well, so its stored form has the given size.
func bigOrder(lines, materialLength int) *orderpush.Order {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	o := inlineOrder()
	o.Lines = nil
	for i := range lines {
		b := make([]byte, materialLength)
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		o.Lines = append(o.Lines, orderpush.OrderLine{ProductNumber: string(b), Quantity: json.Number(fmt.Sprint(i%7 + 1)), Unit: "Each", LineItemNumber: i + 1})
	}
	return o
}

// The queue resumes from the order stored with the entry, whatever its size: inline, compressed, or archived. A
// Table string property holds 32,768 UTF-16 code units, the compressed form included.
func TestTheQueueResumesFromTheStoredOrderWhateverItsSize(t *testing.T) {
	tests := []struct {
		name   string
		order  *orderpush.Order
		stored string // how the entry holds it: "json", "gz:" or "blob:"
	}{
		{"small: as JSON", inlineOrder(), "json"},
		{"large, compressible: compressed", bigOrder(900, 4), "gz:"},
		{"large, compressed beyond a property: archived", bigOrder(999, 40), "blob:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if code, _, body := h.post(t, tt.order, "respond-async"); code != 202 {
				t.Fatalf("async push %d %v", code, body)
			}
			e := h.entry(t, orderID)
			switch {
			case tt.stored == "json" && !strings.HasPrefix(e.Payload, "{"),
				tt.stored != "json" && !strings.HasPrefix(e.Payload, tt.stored):
				t.Errorf("stored as %.20q…, want %s", e.Payload, tt.stored)
			}
			if n := units16(e.Payload); n > 32<<10 {
				t.Errorf("the stored order is %d code units", n)
			}
			if err := h.resume(t, orderID, orderpush.ActionPush); err != nil {
				t.Fatal(err)
			}
			c := h.sap.creates()
			if len(c) != 1 || len(c[0].Items) != len(tt.order.Lines) {
				t.Fatalf("%d creates", len(c))
			}
			for i, it := range c[0].Items {
				if l := tt.order.Lines[i]; it.Material != l.ProductNumber || it.RequestedQuantity.String() != string(l.Quantity) {
					t.Fatalf("item %d is %s %s, want %s %s", i, it.Material, it.RequestedQuantity, l.ProductNumber, l.Quantity)
				}
			}
			if e := h.entry(t, orderID); e.State != ledger.Completed {
				t.Errorf("entry %+v", e)
			}
		})
	}
}
