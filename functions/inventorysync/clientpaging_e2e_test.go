package inventorysync_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/shared/sap"
)

// changedWhileRead runs a change once, after the first page of a read has arrived and before the next is asked
// for: SAP's data moving while a run reads it, as it does all day.
type changedWhileRead struct {
	inventorysync.SAP
	stock    func(first sap.StockRow)
	products func(first sap.Product)
}

func (s *changedWhileRead) Stock(ctx context.Context, plants []string, after string) inventorysync.Stream[sap.StockRow] {
	return &hookedStream[sap.StockRow]{Stream: s.SAP.Stock(ctx, plants, after), first: s.stock}
}

func (s *changedWhileRead) ProductsChangedSince(ctx context.Context, since time.Time) inventorysync.Stream[sap.Product] {
	return &hookedStream[sap.Product]{Stream: s.SAP.ProductsChangedSince(ctx, since), first: s.products}
}

type hookedStream[T any] struct {
	inventorysync.Stream[T]
	first func(T)
}

func (h *hookedStream[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		n := 0
		for row, err := range h.Stream.All() {
			if n++; n == 1 && err == nil && h.first != nil {
				h.first(row)
			}
			if !yield(row, err) {
				return
			}
		}
	}
}

// A material whose stock did not change is written with the stock SAP holds, whatever else changes in SAP
// while a run reads: with pages asked for by $top and $skip (an S/4HANA service without server paging), a stock
// row removed from an earlier page shifts every later row one place, and the row at the page boundary is read
// by neither page. Its material is then summed without it, or, as here, found missing and set to zero.
func TestStockOfAnUnchangedMaterialSurvivesARowRemovedDuringTheRead(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pageSize int // rows per SAP request, asked for with $top
	}{
		{"pages of 20 rows", 20},
		{"pages of 25 rows", 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// One unrestricted row per material, and no server paging: the client's $top/$skip pages are SAP's.
			w := newWorld(t, options{products: 60, batch: 10, parallel: 3, plainStock: true, pageSize: 100_000})
			src := w.syncer.SAP.(inventorysync.SAPSource)
			src.PageSize = tc.pageSize
			w.syncer.SAP = src
			w.run(t, "timer")
			unchanged := sapsim.ProductID(tc.pageSize) // the first row of the second page, before the removal
			want := jsonText(w.dv.Find("products", "productnumber", unchanged)[0]["quantityonhand"])
			w.syncer.SAP = &changedWhileRead{SAP: src, stock: func(first sap.StockRow) {
				if err := w.sap.RemoveStock(sapsim.StockRow{Material: first.Material, Plant: first.Plant, StorageLocation: first.StorageLocation,
					Batch: first.Batch, Supplier: first.Supplier, Customer: first.Customer, WBSElementInternalID: first.WBSElementInternalID,
					SDDocument: first.SDDocument, SDDocumentItem: first.SDDocumentItem, InventorySpecialStockType: first.InventorySpecialStockType,
					InventoryStockType: first.InventoryStockType}, nil); err != nil {
					t.Error(err)
				}
			}}
			w.run(t, "timer")
			if got := jsonText(w.dv.Find("products", "productnumber", unchanged)[0]["quantityonhand"]); got != want {
				t.Errorf("%s, whose stock SAP did not change, holds %s in D365 after the run; want %s", unchanged, got, want)
			}
		})
	}
}

// Every product SAP holds reaches D365 and stays in step, whatever SAP changes while a run reads: products are
// read oldest change first, so a product changed while the first page is being written moves to the end, every
// later product one place forward, and with pages asked for by $skip the product at the page boundary is read
// by neither page. The checkpoint then passes its stamp, and no later run reads it again until SAP changes it.
func TestEveryProductIsReadWhenOneChangesDuringTheRead(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pageSize int
	}{
		{"pages of 20 products", 20},
		{"pages of 25 products", 25},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, options{products: 60, batch: 10, parallel: 3, pageSize: 100_000})
			src := w.syncer.SAP.(inventorysync.SAPSource)
			src.PageSize = tc.pageSize
			once := false
			w.syncer.SAP = &changedWhileRead{SAP: src, products: func(first sap.Product) {
				if once {
					return
				}
				once = true
				if _, err := w.sap.ChangeProduct(first.Product, func(p *sapsim.ProductData) { p.Descriptions["EN"] = "Renamed during the read" }, nil); err != nil {
					t.Error(err)
				}
			}}
			w.run(t, "timer")
			w.syncer.SAP = src
			w.run(t, "timer") // the next run: what its overlap reads again
			w.checkD365(t)
		})
	}
}
