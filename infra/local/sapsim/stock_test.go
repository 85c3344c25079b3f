package sapsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
)

func stockLine(rows []sap.StockRow) string {
	var out []string
	for _, r := range rows {
		s := r.Plant + "/" + r.StorageLocation + "/" + r.InventoryStockType
		if r.InventorySpecialStockType != "" {
			s += "/" + r.InventorySpecialStockType
		}
		out = append(out, s+"="+r.Quantity.String())
	}
	return strings.Join(out, " ")
}

// TestStockChangesServedByEveryRead: stock rows changed, added and removed are what every read answers, in key
// order, and what availability counts.
func TestStockChangesServedByEveryRead(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 30, PageSize: 7})
	mat := ProductID(3)
	row := func(plant, sl, qty string) StockRow {
		return StockRow{Material: mat, Plant: plant, StorageLocation: sl, InventoryStockType: "01", Quantity: qty}
	}
	for _, err := range []error{
		e.sim.SetStock(row("1010", "101A", "5"), nil),
		e.sim.SetStock(row("1010", "103A", "7.5"), nil),
		e.sim.SetStock(row("1030", "101A", "2"), nil), // a plant the mapping may not name
		e.sim.RemoveStock(row("1020", "101A", ""), nil),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	reads := []struct {
		name string
		q    sap.StockQuery
		rows int
		line string // of the material's rows
	}{
		{"one material", sap.StockQuery{Material: mat}, 3, "1010/101A/01=5 1010/103A/01=7.5 1030/101A/01=2"},
		{"one plant", sap.StockQuery{Plant: "1020"}, 29, ""},
		{"material and plant", sap.StockQuery{Material: mat, Plant: "1010"}, 2, "1010/101A/01=5 1010/103A/01=7.5"},
		{"everything, paged", sap.StockQuery{}, 61, "1010/101A/01=5 1010/103A/01=7.5 1030/101A/01=2"},
		{"everything, client pages of 5", sap.StockQuery{PageSize: 5}, 61, "1010/101A/01=5 1010/103A/01=7.5 1030/101A/01=2"},
	}
	for _, tc := range reads {
		t.Run(tc.name, func(t *testing.T) {
			rows := e.stock(tc.q)
			var mine []sap.StockRow
			seen := map[string]bool{}
			for _, r := range rows {
				k := r.Material + r.Plant + r.StorageLocation + r.InventoryStockType
				if seen[k] {
					t.Fatalf("row %s twice", k)
				}
				seen[k] = true
				if r.Material == mat {
					mine = append(mine, r)
				}
			}
			if len(rows) != tc.rows || stockLine(mine) != tc.line {
				t.Fatalf("%d rows, want %d; %s: %s", len(rows), tc.rows, mat, stockLine(mine))
			}
		})
	}
	t.Run("unrestricted stock read in full, ordered by material", func(t *testing.T) {
		rows, _ := e.readAll(stockPath + "A_MatlStkInAcctMod?$orderby=Material&$filter=" + q("InventoryStockType eq '01'"))
		first, last := -1, -1
		for k, r := range rows {
			if r["Material"] == mat {
				if first < 0 {
					first = k
				}
				last = k
			}
			if k > 0 && r["Material"].(string) < rows[k-1]["Material"].(string) {
				t.Fatalf("row %d out of order", k)
			}
		}
		if len(rows) != 61 || last-first != 2 {
			t.Fatalf("%d rows, %s at %d..%d", len(rows), mat, first, last)
		}
	})
	t.Run("count", func(t *testing.T) {
		if _, count := e.readAll(stockPath + "A_MatlStkInAcctMod?$inlinecount=allpages&$top=1"); count != "61" {
			t.Fatalf("__count %s", count)
		}
	})
	t.Run("ordered by quantity", func(t *testing.T) {
		rows, _ := e.readAll(stockPath + "A_MatlStkInAcctMod?$filter=" + q("Material eq '"+mat+"'") + "&$orderby=MatlWrhsStkQtyInMatlBaseUnit")
		var got []string
		for _, r := range rows {
			got = append(got, r["MatlWrhsStkQtyInMatlBaseUnit"].(string))
		}
		if strings.Join(got, ",") != "2,5,7.5" {
			t.Fatalf("quantities %v", got)
		}
	})
	key := func(plant, sl string) string {
		return fmt.Sprintf("A_MatlStkInAcctMod(Material='%s',Plant='%s',StorageLocation='%s',Batch='',Supplier='',Customer='',"+
			"WBSElementInternalID='',SDDocument='',SDDocumentItem='',InventorySpecialStockType='',InventoryStockType='01')", mat, plant, sl)
	}
	t.Run("key read of a changed row", func(t *testing.T) {
		if status, r := e.entity(stockPath + key("1010", "101A")); status != 200 || r["MatlWrhsStkQtyInMatlBaseUnit"] != "5" {
			t.Fatalf("%d %v", status, r)
		}
	})
	t.Run("key read of an added row", func(t *testing.T) {
		if status, r := e.entity(stockPath + key("1010", "103A")); status != 200 || r["MatlWrhsStkQtyInMatlBaseUnit"] != "7.5" {
			t.Fatalf("%d %v", status, r)
		}
	})
	t.Run("key read of a removed row", func(t *testing.T) {
		if status, _ := e.entity(stockPath + key("1020", "101A")); status != 404 {
			t.Fatalf("status %d", status)
		}
	})
	t.Run("availability counts every storage location", func(t *testing.T) {
		got, err := e.c.DetermineAvailabilityAt(context.Background(), sap.AvailabilityQuery{SupplyingPlant: "1010",
			Material: mat, ATPCheckingRule: "A", At: e.clock.Now()})
		if err != nil || got.AvailableQuantityInBaseUnit.String() != "12.500" {
			t.Fatalf("%+v %v", got, err)
		}
	})
	t.Run("rows follow a new base unit", func(t *testing.T) {
		if _, err := e.sim.ChangeProduct(mat, func(p *ProductData) { p.BaseUnit = "PC" }, nil); err != nil {
			t.Fatal(err)
		}
		for _, r := range e.stock(sap.StockQuery{Material: mat}) {
			if r.MaterialBaseUnit != "PC" {
				t.Fatalf("row %+v", r)
			}
		}
	})
}

func TestStockChangeRefused(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 5})
	ok := StockRow{Material: ProductID(1), Plant: "1010", StorageLocation: "101A", InventoryStockType: "01", Quantity: "1"}
	with := func(f func(*StockRow)) StockRow { r := ok; f(&r); return r }
	cases := []struct {
		name   string
		remove bool
		row    StockRow
		want   error
	}{
		{"unknown material", false, with(func(r *StockRow) { r.Material = "NOPE" }), ErrNoSuchObject},
		{"quantity no decimal", false, with(func(r *StockRow) { r.Quantity = "1e3" }), nil},
		{"quantity missing", false, with(func(r *StockRow) { r.Quantity = "" }), nil},
		{"storage location of 5", false, with(func(r *StockRow) { r.StorageLocation = "101AB" }), nil},
		{"no stock type", false, with(func(r *StockRow) { r.InventoryStockType = "" }), nil},
		{"removing a row that is not there", true, with(func(r *StockRow) { r.StorageLocation = "999Z" }), ErrNoSuchObject},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			change := e.sim.SetStock
			if tc.remove {
				change = e.sim.RemoveStock
			}
			err := change(tc.row, nil)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if got := stockLine(e.stock(sap.StockQuery{Material: ProductID(1)})); strings.Contains(got, "101AB") || strings.Count(got, "=") != 2 {
		t.Fatalf("a refused change was kept: %s", got)
	}
}

// TestStockVarietyOnlyUnrestrictedIsFree: with StockVariety a plant holds quality inspection, blocked and sales
// order stock besides unrestricted stock in two storage locations; availability counts only the free part.
func TestStockVarietyOnlyUnrestrictedIsFree(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 10, StockVariety: true})
	mat := ProductID(6)
	rows := e.stock(sap.StockQuery{Material: mat, Plant: "1020"})
	kinds := []string{"101A/01", "101A/02", "101A/07", "102A/01", "102A/01/E"}
	free := new(sap.Decimal).Rat()
	for k, r := range rows {
		got := r.StorageLocation + "/" + r.InventoryStockType
		if r.InventorySpecialStockType != "" {
			got += "/" + r.InventorySpecialStockType
		}
		if k >= len(kinds) || got != kinds[k] {
			t.Fatalf("row %d is %s, want the buckets %v", k, got, kinds)
		}
		if r.InventorySpecialStockType == "E" && (r.SDDocument == "" || r.SDDocumentItem == "") {
			t.Fatalf("sales order stock without its order: %+v", r)
		}
		if r.InventoryStockType == "01" && r.InventorySpecialStockType == "" {
			free.Add(free, r.Quantity.Rat())
		}
	}
	if len(rows) != len(kinds) {
		t.Fatalf("%d rows: %s", len(rows), stockLine(rows))
	}
	got, err := e.c.DetermineAvailabilityAt(context.Background(), sap.AvailabilityQuery{SupplyingPlant: "1020",
		Material: mat, ATPCheckingRule: "A", At: e.clock.Now()})
	if err != nil || got.AvailableQuantityInBaseUnit.Rat().Cmp(free) != 0 {
		t.Fatalf("availability %+v %v, want %s", got, err, free.FloatString(3))
	}
	if all := e.stock(sap.StockQuery{}); len(all) != 10*2*len(kinds) {
		t.Fatalf("%d rows in all", len(all))
	}
}

// TestLateStockChange: stock has no change date, but a goods movement still commits at the end of its LUW.
func TestLateStockChange(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 5})
	row := StockRow{Material: ProductID(2), Plant: "1010", StorageLocation: "101A", InventoryStockType: "01", Quantity: "99"}
	if err := e.sim.SetStock(row, &ChangeOptions{CommitDelay: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.RemoveStock(row, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second change before the commit: %v", err)
	}
	if got := stockLine(e.stock(sap.StockQuery{Material: row.Material, Plant: "1010"})); got == "1010/101A/01=99" {
		t.Fatal("visible before it commits")
	}
	e.clock.Advance(time.Minute)
	if got := stockLine(e.stock(sap.StockQuery{Material: row.Material, Plant: "1010"})); got != "1010/101A/01=99" {
		t.Fatalf("after the commit: %s", got)
	}
}

// TestChangesAmongAMillionProducts: a change costs no scan of the generated rows: a delta read after changing
// the first product and a stock read of the last one answer at once.
func TestChangesAmongAMillionProducts(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 1_000_000, StockVariety: true, PageSize: 100})
	last := ProductID(999_999)
	e.clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) // after every generated stamp
	startAt := time.Now()
	if _, err := e.sim.ChangeProduct(ProductID(0), func(p *ProductData) { p.IsMarkedForDeletion = true }, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.SetStock(StockRow{Material: last, Plant: "1020", StorageLocation: "101A", InventoryStockType: "07", Quantity: "3"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.products(e.clock.Now().Add(-time.Minute), 0); len(got) != 1 || got[0].Product != ProductID(0) {
		t.Fatalf("delta read: %d products", len(got))
	}
	rows := e.stock(sap.StockQuery{Material: last, Plant: "1020"})
	if len(rows) != 5 || rows[2].InventoryStockType != "07" || rows[2].Quantity.String() != "3" {
		t.Fatalf("stock of the last product: %s", stockLine(rows))
	}
	if d := time.Since(startAt); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
}

// TestPagingShiftsWhenAChangeCommitsBetweenPages: each page reads the data as it is then, so a row removed before
// the next page makes that page skip one row, and a row added makes it repeat one.
func TestPagingShiftsWhenAChangeCommitsBetweenPages(t *testing.T) {
	cases := []struct {
		name   string
		change func(*Server) error
		want   string // the first row of the second page
	}{
		{"a row removed before the next page", func(s *Server) error {
			return s.RemoveStock(StockRow{Material: ProductID(0), Plant: "1010", StorageLocation: "101A", InventoryStockType: "01"}, nil)
		}, ProductID(2) + "/1020"},
		{"a row added before the next page", func(s *Server) error {
			return s.SetStock(StockRow{Material: ProductID(0), Plant: "1010", StorageLocation: "109Z", InventoryStockType: "01", Quantity: "1"}, nil)
		}, ProductID(1) + "/1020"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newMasterEnv(t, Options{Products: 10, PageSize: 4})
			resp, body := e.raw.do("GET", stockPath+"A_MatlStkInAcctMod?$select=Material,Plant", "", nil)
			var p struct {
				D page `json:"d"`
			}
			if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil || p.D.Next == "" {
				t.Fatalf("first page: %d %s", resp.StatusCode, body)
			}
			if last := p.D.Results[3]; last["Material"] != ProductID(1) || last["Plant"] != "1020" {
				t.Fatalf("first page ends with %v", last)
			}
			if err := tc.change(e.sim); err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(p.D.Next)
			rows, _ := e.readAll(u.RequestURI())
			if got := fmt.Sprint(rows[0]["Material"], "/", rows[0]["Plant"]); got != tc.want {
				t.Fatalf("second page starts with %s, want %s", got, tc.want)
			}
		})
	}
}
