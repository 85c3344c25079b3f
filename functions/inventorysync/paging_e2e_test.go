package inventorysync_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/sap"
)

// betweenPages runs hook once, after the stock stream has read rows rows (the end of a page).
type betweenPages struct {
	inventorysync.SAP
	rows int
	hook func()
}

func (b *betweenPages) Stock(ctx context.Context, plants []string, after string) inventorysync.Stream[sap.StockRow] {
	return seqStream[sap.StockRow](func(yield func(sap.StockRow, error) bool) {
		n := 0
		for row, err := range b.SAP.Stock(ctx, plants, after).All() {
			if !yield(row, err) {
				return
			}
			if n++; n == b.rows && b.hook != nil {
				b.hook()
				b.hook = nil
			}
		}
	})
}

// SAP pages stock with a $skiptoken that counts rows: a stock row that appears, between two pages, before the
// page boundary shifts every row after it, and the next page starts with the last row read again. That row is
// counted once: D365 never shows more stock than SAP holds, and the next run shows exactly what it holds.
func TestAStockRowReadTwiceAcrossPagesIsCountedOnce(t *testing.T) {
	w := newWorld(t, options{products: 30, batch: 100, pageSize: 40})
	w.syncer.Mapping.Prices = nil
	w.syncer.SAP = &betweenPages{SAP: w.syncer.SAP, rows: 40, hook: func() {
		if err := w.sap.SetStock(sapsim.StockRow{Material: sapsim.ProductID(0), Plant: "1010", StorageLocation: "103A",
			InventoryStockType: "01", Quantity: "1"}, nil); err != nil {
			t.Error(err)
		}
	}}
	w.run(t, "timer")
	truth := w.sapTruth(t)
	for _, r := range w.dv.Find("products", "", nil) {
		m := r["productnumber"].(string)
		got, _ := new(big.Rat).SetString(jsonText(r["quantityonhand"]))
		if p := truth[m]; !p.deleted && got != nil && got.Cmp(p.stock) > 0 {
			t.Errorf("%s shows %s on hand, SAP holds %s", m, got.FloatString(3), p.stock.FloatString(3))
		}
	}
	w.run(t, "timer")
	w.checkD365(t)
}

// Many S/4HANA services page nothing themselves: asked without $top they answer every row at once. The sync
// asks for pages of its own, so a catalogue whose whole price list is far over the client's response limit
// (3,000 validities with their records are about 18 MB; the limit here is 8 MB) still loads.
func TestTheSyncPagesItselfWhereSAPDoesNotPage(t *testing.T) {
	w := newWorld(t, options{products: 3000, batch: 500, pageSize: 1 << 30, sapMaxBytes: 8 << 20})
	sum := w.run(t, "timer")
	if sum.Prices == nil || sum.Prices.Written < 2900 || sum.Stock.Read == 0 || sum.Products.Written < 2900 {
		t.Fatalf("the first run did not load the catalogue: %+v %+v %+v", sum.Products, sum.Stock, sum.Prices)
	}
	w.checkD365(t)
}
