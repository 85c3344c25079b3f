package orderpush

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
)

// payload.go keeps orders up to 30,000 bytes of JSON inline, compressed ones up to 60,000 characters of base64,
// and only larger ones in the archive: "A Table property holds 64 KiB". It does, in bytes; the service counts a
// string in UTF-16 code units, so one property holds 32,768 characters (audit.MaxPropertyUnits says so, and
// Azurite enforces the same count). A compressed payload between 32,768 and 60,000 characters is refused with the
// whole claim: the push answers 503 ("storage unavailable, nothing could be recorded; pushing again is safe"),
// and every push again does the same, forever.

const bigID = "0c0ffee0-0000-4000-8000-00000000c001"

// bigOrder is an order of 999 lines whose product numbers do not compress well.
func bigOrder(id string, seed uint64) Request {
	rng := rand.New(rand.NewPCG(seed, seed))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	o := &Order{SalesOrderID: id, CustomerAccountNumber: "17100001", PurchaseOrderNumber: "PO-BIG-1"}
	for i := range MaxLines {
		var b strings.Builder
		for range 40 {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		o.Lines = append(o.Lines, OrderLine{ProductNumber: b.String(), Quantity: json.Number(fmt.Sprint(1 + i%7)), LineItemNumber: i + 1})
	}
	return Request{SalesOrderID: id, Order: o}
}

func TestAnOrderWhoseCompressedPayloadExceedsATablePropertyIsStillRecorded(t *testing.T) {
	acc := storetest.Account(t)
	tbl, err := store.NewTable[json.RawMessage](acc, storetest.Name(t, "payload"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, func(r *rig) { r.table.Table = tbl })
	req := bigOrder(bigID, 1)
	packed, err := r.s.packOrder(t.Context(), req.Order)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(packed, gzPrefix) || len(packed) <= 32*1024 {
		t.Fatalf("the order does not exercise the gap: %d characters, prefix %q", len(packed), packed[:5])
	}
	t.Logf("compressed payload: %d characters (the property limit is %d)", len(packed), 32*1024)
	for i := range 3 {
		res, err := r.s.Push(t.Context(), req, false)
		if problem.KindOf(err) == problem.Unavailable && !res.Accepted {
			t.Fatalf("push %d of a valid 999-line order: %v", i+1, err)
		}
	}
	if n := r.sap.createCount(); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
}
