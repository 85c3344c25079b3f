package inventorysync_test

import (
	"context"
	"iter"
	"slices"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/shared/sap"
)

// fakeSAP serves products, stock rows and price conditions held in memory, for material numbers the simulator
// cannot generate. Stock and prices are served sorted by material, as $orderby asks.
type fakeSAP struct {
	products []sap.Product
	stock    []sap.StockRow
	prices   []sap.PriceCondition
}

func (f *fakeSAP) ProductsChangedSince(ctx context.Context, since time.Time) inventorysync.Stream[sap.Product] {
	return seqStream[sap.Product](func(yield func(sap.Product, error) bool) {
		for _, p := range f.products {
			if p.LastChangeDateTime.After(since) && !yield(p, nil) {
				return
			}
		}
	})
}

func (f *fakeSAP) Stock(ctx context.Context, plants []string, after string) inventorysync.Stream[sap.StockRow] {
	rows := slices.Clone(f.stock)
	slices.SortStableFunc(rows, func(a, b sap.StockRow) int { return compare(a.Material, b.Material) })
	return seqStream[sap.StockRow](func(yield func(sap.StockRow, error) bool) {
		for _, r := range rows {
			if (after == "" || r.Material > after) && slices.Contains(plants, r.Plant) && !yield(r, nil) {
				return
			}
		}
	})
}

func (f *fakeSAP) Prices(ctx context.Context, q sap.PriceQuery) inventorysync.Stream[sap.PriceCondition] {
	rows := slices.Clone(f.prices)
	slices.SortStableFunc(rows, func(a, b sap.PriceCondition) int { return compare(a.Material, b.Material) })
	return seqStream[sap.PriceCondition](func(yield func(sap.PriceCondition, error) bool) {
		for _, c := range rows {
			if !yield(c, nil) {
				return
			}
		}
	})
}

// seqStream is a Stream over an iterator, with no count.
type seqStream[T any] iter.Seq2[T, error]

func (s seqStream[T]) All() iter.Seq2[T, error] { return iter.Seq2[T, error](s) }
func (s seqStream[T]) Count() (int64, bool)     { return 0, false }

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// materials adds products numbered ms (base unit EA) with a stock row of qty each in plant 1010.
func (f *fakeSAP) materials(qty string, ms ...string) {
	stamp := time.Now().Add(-time.Hour)
	for i, m := range ms {
		f.products = append(f.products, sap.Product{Product: m, BaseUnit: "EA",
			LastChangeDateTime: sap.DateTimeOffset{Time: stamp.Add(time.Duration(i) * time.Second)}})
		f.stock = append(f.stock, sap.StockRow{Material: m, Plant: "1010", StorageLocation: "101A", InventoryStockType: "01",
			Quantity: sap.MustDecimal(qty)})
	}
}

// Material numbers holding characters the Table service refuses in a RowKey (#, C0 and C1 controls) need keys
// that still sort as the materials do, next to numbers holding only allowed ones ("$", "-", "."): each batch of the
// stock stream reads the fingerprints of its range of materials, and a fingerprint whose key fell in another
// batch's range was taken for a material whose stock rows are gone and zeroed ("A#1" held 0 after every run, and
// every rerun wrote four products twice). Every product keeps its stock, and a rerun writes nothing.
func TestMaterialsWhoseKeysAreEscapedKeepTheirStockAndAreWrittenOnce(t *testing.T) {
	w := newWorld(t, options{batch: 1})
	f := &fakeSAP{}
	f.materials("5", "A!1", "A\"1", "A#1", "A$1", "A'1", "A-1", "A.1", "A01", "A@1", "A[1", "A]1", "A~1", "AB",
		"Ä1", "A\u00851", "A\x011")
	w.syncer.SAP = f
	w.syncer.Mapping.Prices = nil
	check := func(run string) {
		t.Helper()
		for _, p := range f.products {
			rows := w.dv.Find("products", "productnumber", p.Product)
			if len(rows) != 1 {
				t.Errorf("%s: %d products numbered %q", run, len(rows), p.Product)
				continue
			}
			if got := jsonText(rows[0]["quantityonhand"]); got != "5.00" {
				t.Errorf("%s: %q has quantityonhand %s, want 5.00", run, p.Product, got)
			}
		}
	}
	first := w.run(t, "timer")
	check("first run")
	before := w.dv.Writes("products")
	second := w.run(t, "timer")
	check("second run")
	if d := w.dv.Writes("products").Sub(before); d.Updates != 0 {
		t.Errorf("the unchanged rerun wrote %+v to products (stock first %+v, second %+v)", d, first.Stock, second.Stock)
	}
}
