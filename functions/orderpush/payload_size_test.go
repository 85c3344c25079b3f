package orderpush

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
)

// A Table property holds 64 KiB, and the service counts a string in UTF-16 code units: 32,768 characters
// (audit.MaxPropertyUnits; Azurite enforces the same count). payload.go once kept compressed orders up to 60,000
// characters on the entry: one between 32,768 and 60,000 was refused with the whole claim, and the push answered
// 503 ("nothing could be recorded; pushing again is safe") on every try, forever.

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
	// The order compresses to more than a property holds (so it must go to the archive), less than the old 60,000.
	raw, _ := json.Marshal(req.Order)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	if n := len(gzPrefix + base64.StdEncoding.EncodeToString(buf.Bytes())); n <= 32*1024 || n > 60_000 {
		t.Fatalf("the order does not exercise the gap: it compresses to %d characters", n)
	}
	packed, err := r.s.packOrder(t.Context(), req.Order)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(packed, blobPrefix) {
		t.Fatalf("a payload over a property's 32,768 characters stayed on the entry: %.20s…", packed)
	}
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
