package sapsim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
)

// A sorted read of more rows than a sort may hold (maxSortRows) is served while the data is only the generated
// one: stock of 210,000 products ordered by material, paged by the client, comes back whole and in order. Once a
// change is visible, each page sorts again and the large sort is refused as before.
func TestALargeSortedReadOfGeneratedDataIsServed(t *testing.T) {
	const products = maxSortRows + 10_000
	e := newMasterEnv(t, Options{Products: products, Plants: []string{"1010"}, PageSize: 50_000})
	q := sap.StockQuery{Plants: []string{"1010"}, ByMaterial: true, PageSize: 70_000}
	rows := e.stock(q)
	if len(rows) != products {
		t.Fatalf("%d rows, want %d", len(rows), products)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Material <= rows[i-1].Material {
			t.Fatalf("row %d: %s after %s", i, rows[i].Material, rows[i-1].Material)
		}
	}
	if err := e.sim.SetStock(StockRow{Material: ProductID(7), Plant: "1010", StorageLocation: "101A", InventoryStockType: "01",
		Quantity: "5"}, nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	var err error
	for _, err = range e.c.Stock(context.Background(), q).All() {
		if err != nil {
			break
		}
	}
	var se *sap.Error
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "filter first") {
		t.Fatalf("with a change visible the read ended with %v; want the large sort refused", err)
	}
}
