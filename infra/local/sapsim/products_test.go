package sapsim

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/sap"
)

// TestChangedProductServedByEveryRead: a product changed (texts, base unit, deletion flag) is what every read of
// it answers, and a delta read by LastChangeDateTime finds it even though its index lies before the products
// generated after the high-water mark.
func TestChangedProductServedByEveryRead(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 50, PageSize: 4})
	all := e.products(time.Time{}, 0)
	hwm := all[len(all)-1].LastChangeDateTime.Time
	e.clock.Advance(time.Hour)
	id := ProductID(2)
	stamp, err := e.sim.ChangeProduct(id, func(p *ProductData) {
		p.Descriptions["DE"] = "Simuliertes Produkt 3"
		p.Descriptions["EN"] = "Simulated product 3, new"
		p.BaseUnit = "KG"
		p.IsMarkedForDeletion = true
	}, nil)
	if err != nil || !stamp.Equal(e.clock.Now()) {
		t.Fatalf("stamp %v (clock %v), %v", stamp, e.clock.Now(), err)
	}
	changed := func(t *testing.T, r map[string]any) {
		t.Helper()
		if r["Product"] != id || r["BaseUnit"] != "KG" || r["IsMarkedForDeletion"] != true ||
			r["LastChangeDateTime"] != fmt.Sprintf("/Date(%d+0000)/", stamp.UnixMilli()) {
			t.Fatalf("not the changed product: %v", r)
		}
	}
	descs := func(t *testing.T, rows []any) {
		t.Helper()
		var got []string
		for _, r := range rows {
			m := r.(map[string]any)
			got = append(got, m["Language"].(string)+"="+m["ProductDescription"].(string))
		}
		if strings.Join(got, ";") != "DE=Simuliertes Produkt 3;EN=Simulated product 3, new" {
			t.Fatalf("descriptions %v", got)
		}
	}

	t.Run("delta read with the client", func(t *testing.T) {
		got := e.products(hwm, 3)
		if len(got) != 1 || got[0].Product != id || !got[0].IsMarkedForDeletion || got[0].BaseUnit != "KG" ||
			len(got[0].Descriptions.Results) != 2 || !got[0].LastChangeDateTime.Equal(stamp) {
			t.Fatalf("changed since the high-water mark: %+v", got)
		}
	})
	t.Run("delta read from before the change's old stamp does not repeat it", func(t *testing.T) {
		got := e.products(all[1].LastChangeDateTime.Time, 0)
		seen := map[string]int{}
		for _, p := range got {
			seen[p.Product]++
		}
		if len(got) != 48 || seen[id] != 1 {
			t.Fatalf("%d products, %s %d times", len(got), id, seen[id])
		}
	})
	t.Run("key read with texts", func(t *testing.T) {
		status, r := e.entity(productPath + "A_Product('" + id + "')?$expand=to_Description")
		if status != 200 {
			t.Fatal(status)
		}
		changed(t, r)
		descs(t, r["to_Description"].(map[string]any)["results"].([]any))
	})
	t.Run("navigation to the texts", func(t *testing.T) {
		rows, _ := e.readAll(productPath + "A_Product('" + id + "')/to_Description")
		var anys []any
		for _, r := range rows {
			anys = append(anys, r)
		}
		descs(t, anys)
	})
	t.Run("text set filtered by product", func(t *testing.T) {
		rows, count := e.readAll(productPath + "A_ProductDescription?$inlinecount=allpages&$filter=" + q("Product eq '"+id+"'"))
		if len(rows) != 2 || count != "2" {
			t.Fatalf("%d rows, count %s", len(rows), count)
		}
	})
	t.Run("text set paged", func(t *testing.T) {
		rows, count := e.readAll(productPath + "A_ProductDescription?$inlinecount=allpages")
		if len(rows) != 51 || count != "51" || rows[2]["Language"] != "DE" || rows[3]["Product"] != id || rows[4]["Product"] != ProductID(3) {
			t.Fatalf("%d rows, count %s, rows 2-4 %v %v %v", len(rows), count, rows[2], rows[3], rows[4])
		}
	})
	t.Run("text by its keys", func(t *testing.T) {
		status, r := e.entity(productPath + "A_ProductDescription(Product='" + id + "',Language='DE')")
		if status != 200 || r["ProductDescription"] != "Simuliertes Produkt 3" {
			t.Fatalf("%d %v", status, r)
		}
	})
	t.Run("filter and count on LastChangeDateTime", func(t *testing.T) {
		lit := "datetimeoffset'" + hwm.Format("2006-01-02T15:04:05.000Z") + "'"
		rows, count := e.readAll(productPath + "A_Product?$inlinecount=allpages&$filter=" + q("LastChangeDateTime gt "+lit))
		if len(rows) != 1 || count != "1" {
			t.Fatalf("%d rows, count %s", len(rows), count)
		}
		changed(t, rows[0])
	})
	t.Run("ordered by LastChangeDateTime", func(t *testing.T) {
		rows, _ := e.readAll(productPath + "A_Product?$orderby=" + q("LastChangeDateTime desc") + "&$top=2")
		if len(rows) != 2 || rows[1]["Product"] != ProductID(49) {
			t.Fatalf("rows %v", rows)
		}
		changed(t, rows[0])
	})
	t.Run("filter on the deletion flag", func(t *testing.T) {
		rows, _ := e.readAll(productPath + "A_Product?$filter=" + q("IsMarkedForDeletion eq true and BaseUnit eq 'KG'"))
		found := false
		for _, r := range rows {
			found = found || r["Product"] == id
		}
		if !found {
			t.Fatalf("%s not among %d flagged KG products", id, len(rows))
		}
	})
	t.Run("units follow the base unit", func(t *testing.T) {
		rows, _ := e.readAll(productPath + "A_Product('" + id + "')/to_ProductUnitsOfMeasure")
		if len(rows) != 3 || rows[2]["AlternativeUnit"] != "KG" || rows[1]["QuantityNumerator"] != "5" {
			t.Fatalf("units %v", rows)
		}
	})
}

// TestLateCommitNeedsOverlap: SAP stamps a change when it is made and commits it later, so a delta read from the
// last stamp it saw misses a change that commits after that read with an older stamp; reading from the mark
// minus an overlap finds it.
func TestLateCommitNeedsOverlap(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 20})
	all := e.products(time.Time{}, 0)
	hwm := all[len(all)-1].LastChangeDateTime.Time
	e.clock.Advance(time.Hour)

	late := ProductID(4)
	lateStamp, err := e.sim.ChangeProduct(late, func(p *ProductData) { p.IsMarkedForDeletion = true }, &ChangeOptions{CommitDelay: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.ChangeProduct(late, func(p *ProductData) { p.BaseUnit = "PC" }, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second change before the first commits: %v, want ErrLocked", err)
	}
	e.clock.Advance(30 * time.Second)
	quick := ProductID(7)
	quickStamp, err := e.sim.ChangeProduct(quick, func(p *ProductData) { p.Descriptions["EN"] = "renamed" }, nil)
	if err != nil {
		t.Fatal(err)
	}

	names := func(ps []sap.Product) string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Product)
		}
		return strings.Join(out, ",")
	}
	if got := names(e.products(hwm, 0)); got != quick {
		t.Fatalf("first delta read: %s, want only %s (the late change has not committed)", got, quick)
	}
	if status, r := e.entity(productPath + "A_Product('" + late + "')"); status != 200 || r["IsMarkedForDeletion"] == true {
		t.Fatalf("uncommitted change visible to a key read: %v", r)
	}
	hwm = quickStamp
	e.clock.Advance(2 * time.Minute)
	if got := names(e.products(hwm, 0)); got != "" {
		t.Fatalf("delta read without overlap: %s, want nothing (that is the trap)", got)
	}
	got := e.products(hwm.Add(-5*time.Minute), 0)
	if names(got) != late+","+quick || !got[0].LastChangeDateTime.Equal(lateStamp) || !got[0].IsMarkedForDeletion {
		t.Fatalf("delta read with a 5 minute overlap: %+v", got)
	}
	if _, err := e.sim.ChangeProduct(late, func(p *ProductData) { p.BaseUnit = "PC" }, nil); err != nil {
		t.Fatalf("after the commit the lock is gone: %v", err)
	}
}

func TestProductChangeRefused(t *testing.T) {
	e := newMasterEnv(t, Options{Products: 5})
	cases := []struct {
		name    string
		product string
		change  func(*ProductData)
		want    error
	}{
		{"unknown product", "NOPE", func(*ProductData) {}, ErrNoSuchObject},
		{"product beyond the generated ones", ProductID(5), func(*ProductData) {}, ErrNoSuchObject},
		{"unknown base unit", ProductID(1), func(p *ProductData) { p.BaseUnit = "XYZ" }, nil},
		{"description longer than 40", ProductID(1), func(p *ProductData) { p.Descriptions["EN"] = strings.Repeat("x", 41) }, nil},
		{"language key of 3", ProductID(1), func(p *ProductData) { p.Descriptions["ENG"] = "x" }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.sim.ChangeProduct(tc.product, tc.change, nil)
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
	if got := e.products(time.Time{}, 0); got[1].BaseUnit == "XYZ" || len(got[1].Descriptions.Results) != 1 {
		t.Fatalf("a refused change was kept: %+v", got[1])
	}
}
