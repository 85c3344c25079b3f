package inventorysync_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/infra/local/sapsim"
)

// priceWorld is a world with a EUR price list and a unit of 100 Each in the products' unit group.
func priceWorld(t *testing.T) (*world, string, map[string]string) {
	t.Helper()
	w := newWorld(t, options{products: 40, batch: 15})
	lists := w.dv.Find("pricelevels", "name", "Default")
	if len(lists) != 1 {
		t.Fatalf("%d price lists named Default", len(lists))
	}
	list := lists[0]["pricelevelid"].(string)
	units := map[string]string{}
	for _, r := range w.dv.Find("uoms", "", nil) {
		units[r["name"].(string)] = r["uomid"].(string)
	}
	hundred, err := w.dv.Insert("uoms", map[string]any{"name": "100 Each", "quantity": json.Number("100"),
		"uomscheduleid@odata.bind": "/uomschedules(" + w.group + ")", "baseuom@odata.bind": "/uoms(" + units["Each"] + ")"})
	if err != nil {
		t.Fatal(err)
	}
	units["100 Each"] = hundred
	return w, list, units
}

// item is the one price list item of a product on a list: its unit id and amount.
func (w *world) item(t *testing.T, list, material string) (unit, amount string, n int) {
	t.Helper()
	products := w.dv.Find("products", "productnumber", material)
	if len(products) != 1 {
		t.Fatalf("%d products numbered %s", len(products), material)
	}
	pid := products[0]["productid"]
	for _, r := range w.dv.Find("productpricelevels", "", nil) {
		if fmt.Sprint(r["_productid_value"]) == pid && fmt.Sprint(r["_pricelevelid_value"]) == list {
			n++
			unit, amount = fmt.Sprint(r["_uomid_value"]), jsonText(r["amount"])
		}
	}
	return unit, amount, n
}

func recordOf(i int) string { return fmt.Sprintf("%010d", i+1) }

// The first run puts every product's SAP list price on the D365 price list of its currency; a rerun writes no
// price list item.
func TestPricesLandOnThePriceListAndAnUnchangedRerunWritesNone(t *testing.T) {
	w, list, _ := priceWorld(t)
	first := w.run(t, "timer")
	if first.Prices == nil || first.Prices.Written == 0 {
		t.Fatalf("prices %+v", first.Prices)
	}
	for i := range 40 {
		m := sapsim.ProductID(i)
		if del := w.sapTruth(t)[m].deleted; del {
			continue
		}
		unit, amount, n := w.item(t, list, m)
		if n != 1 || unit == "" || amount == "" {
			t.Errorf("%s: %d items (unit %s, amount %s), want one", m, n, unit, amount)
		}
	}
	before := w.dv.Writes("productpricelevels")
	second := w.run(t, "timer")
	if d := w.dv.Writes("productpricelevels").Sub(before); d != (dvsim.WriteCounts{}) {
		t.Errorf("the rerun wrote price list items %+v (prices %+v)", d, second.Prices)
	}
}

// SAP prices per N units: 12.50 per 100 EA is 0.125 per EA, which D365's pricing precision of 2 would store as
// 0.13 (4% too much). It lands instead as 12.50 on the unit group's unit of 100 Each; 1250.00 per 100 is exactly
// 12.50 per Each and lands per Each; 12.50 per 1000 has no unit to land on and is dead-lettered with the reason,
// as are a percentage condition and a price in a currency without a price list. A record SAP deletes takes its
// item off the price list.
func TestPricesPerNUnitsLandExactlyAndWhatCannotIsDeadLettered(t *testing.T) {
	w, list, units := priceWorld(t)
	w.run(t, "timer")
	// Six products priced per EA that SAP does not flag for deletion, whatever the generated base units.
	truth := w.sapTruth(t)
	var ea []int
	for i := 0; len(ea) < 6 && i < 40; i++ {
		if w.sapBaseUnit(t, i) == "EA" && !truth[sapsim.ProductID(i)].deleted {
			ea = append(ea, i)
		}
	}
	if len(ea) < 6 {
		t.Fatalf("only %d of the 40 generated products are priced per EA: the seed changed", len(ea))
	}
	add := func(i int, c sapsim.Condition) {
		t.Helper()
		c.ConditionType, c.Material, c.SalesOrganization, c.DistributionChannel = "PPR0", sapsim.ProductID(i), "1010", "10"
		if _, err := w.sap.AddCondition(c, nil); err != nil {
			t.Fatal(err)
		}
	}
	perHundred, exact, perThousand, percent, dollars, deleted := ea[0], ea[1], ea[2], ea[3], ea[4], ea[5]
	add(perHundred, sapsim.Condition{RateValue: "12.50", RateUnit: "EUR", PricingQuantity: "100", PricingUnit: "EA"})
	add(exact, sapsim.Condition{RateValue: "1250.00", RateUnit: "EUR", PricingQuantity: "100", PricingUnit: "EA"})
	add(perThousand, sapsim.Condition{RateValue: "12.50", RateUnit: "EUR", PricingQuantity: "1000", PricingUnit: "EA"})
	add(percent, sapsim.Condition{RateValue: "-3", RateUnit: "%"})
	add(dollars, sapsim.Condition{RateValue: "19.99", RateUnit: "USD", PricingQuantity: "1", PricingUnit: "EA"})
	if err := w.sap.DeleteCondition(recordOf(deleted), nil); err != nil {
		t.Fatal(err)
	}
	sum := w.run(t, "timer")
	check := func(i int, wantUnit, wantAmount string) {
		t.Helper()
		unit, amount, n := w.item(t, list, sapsim.ProductID(i))
		if n != 1 || unit != units[wantUnit] || amount != wantAmount {
			t.Errorf("product %d: %d items, unit %s amount %s; want one on %s (%s) of %s", i, n, unit, amount, wantUnit, units[wantUnit], wantAmount)
		}
	}
	check(perHundred, "100 Each", "12.50")
	check(exact, "Each", "12.50")
	if _, _, n := w.item(t, list, sapsim.ProductID(deleted)); n != 0 {
		t.Errorf("product %d's record was deleted in SAP; D365 still has %d items", deleted, n)
	}
	letters := w.deadLetters(t)
	for _, c := range []struct {
		i    int
		want string
	}{{perThousand, "no unit of 1000 EA"}, {percent, "percentage"}, {dollars, "in USD"}} {
		m := sapsim.ProductID(c.i)
		if !strings.Contains(letters[m], c.want) {
			t.Errorf("%s: dead letter %q, want one saying %q", m, letters[m], c.want)
		}
	}
	if sum.Prices.Failed != 3 {
		t.Errorf("prices %+v, want 3 failed", sum.Prices)
	}
}

// The drift report finds nothing after a run, and after edits in D365 and a change in SAP it finds exactly
// those, per stream, writing nothing itself.
func TestTheDriftReportFindsExactlyWhatDiffers(t *testing.T) {
	w, list, _ := priceWorld(t)
	w.run(t, "timer")
	rep, err := w.syncer.Drift(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Products.Differ+rep.Stock.Differ+rep.Prices.Differ != 0 || rep.Products.Compared == 0 || rep.Stock.Compared == 0 || rep.Prices.Compared == 0 {
		t.Fatalf("after a run: %+v %+v %+v %v", rep.Products, *rep.Stock, *rep.Prices, rep.Differences)
	}
	// Edits in D365 behind the sync's back: a name, a quantity, a price list amount; and a rename in SAP.
	live := w.editBehindTheSync(t, list)
	if _, err := w.sap.ChangeProduct(live[3], func(p *sapsim.ProductData) { p.Descriptions["EN"] = "Renamed in SAP" }, nil); err != nil {
		t.Fatal(err)
	}
	before := w.dv.Version()
	rep, err = w.syncer.Drift(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if w.dv.Version() != before {
		t.Error("the drift report wrote to Dataverse")
	}
	got := map[string]string{}
	for _, d := range rep.Differences {
		got[d.Material] = d.Stream + "/" + d.Field
	}
	want := map[string]string{live[0]: "products/name", live[1]: "stock/quantityonhand", live[2]: "prices/amount", live[3]: "products/name"}
	if len(got) != len(want) || rep.Products.Differ != 2 || rep.Stock.Differ != 1 || rep.Prices.Differ != 1 {
		t.Fatalf("differences %v (counts %+v %+v %+v), want %v", rep.Differences, rep.Products, *rep.Stock, *rep.Prices, want)
	}
	for m, f := range want {
		if got[m] != f {
			t.Errorf("%s: %q, want %q", m, got[m], f)
		}
	}
	small, _ := w.syncer.Drift(t.Context(), 2)
	if len(small.Differences) != 2 || !small.Truncated {
		t.Errorf("limit 2: %d differences, truncated %v", len(small.Differences), small.Truncated)
	}
}

// A drift fix queues a run, and that run rewrites exactly the values that differed: one write per drifted
// value, after which the report finds nothing.
func TestADriftFixRewritesExactlyWhatDiffered(t *testing.T) {
	w, list, _ := priceWorld(t)
	w.run(t, "timer")
	w.editBehindTheSync(t, list)
	fix, err := w.syncer.FixDrift(t.Context())
	if err != nil || fix.Differences != 3 || fix.Materials != 3 || !fix.Queued {
		t.Fatalf("fix %+v %v", fix, err)
	}
	msgs, err := w.acct.Dequeue(t.Context(), w.queue, 32, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("queued %d continuations (%v), want one", len(msgs), err)
	}
	products, prices := w.dv.Writes("products"), w.dv.Writes("productpricelevels")
	w.run(t, "continuation")
	if d := w.dv.Writes("products").Sub(products); d != (dvsim.WriteCounts{Updates: 2}) {
		t.Errorf("products writes %+v, want the name and the quantity", d)
	}
	if d := w.dv.Writes("productpricelevels").Sub(prices); d != (dvsim.WriteCounts{Updates: 1}) {
		t.Errorf("price list writes %+v, want the one amount", d)
	}
	rep, err := w.syncer.Drift(t.Context(), 10)
	if err != nil || len(rep.Differences) != 0 {
		t.Fatalf("after the fix: %v %v", rep.Differences, err)
	}
}

// editBehindTheSync changes three values in D365 as a user would, where the sync's fingerprints do not see it:
// the name of the first live product, the quantity of the second, the price list amount of the third. It
// returns the products SAP does not flag for deletion, in order.
func (w *world) editBehindTheSync(t *testing.T, list string) []string {
	t.Helper()
	truth := w.sapTruth(t)
	var live []string
	for i := range w.products {
		if m := sapsim.ProductID(i); !truth[m].deleted {
			live = append(live, m)
		}
	}
	product := func(m string) map[string]any { return w.dv.Find("products", "productnumber", m)[0] }
	if err := w.dv.Patch("products", product(live[0])["productid"].(string), map[string]any{"name": "Edited in D365"}); err != nil {
		t.Fatal(err)
	}
	if err := w.dv.Patch("products", product(live[1])["productid"].(string), map[string]any{"quantityonhand": json.Number("1.00")}); err != nil {
		t.Fatal(err)
	}
	pid := product(live[2])["productid"]
	for _, r := range w.dv.Find("productpricelevels", "", nil) {
		if r["_productid_value"] == pid && r["_pricelevelid_value"] == list {
			if err := w.dv.Patch("productpricelevels", r["productpricelevelid"].(string), map[string]any{"amount": json.Number("0.01")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return live
}
