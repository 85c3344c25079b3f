package inventorysync_test

import "testing"

// Dataverse takes no / < > * % & : \ ? + in an alternate key value in a URL, so a product numbered with one
// cannot be upserted by productnumber. That product is dead-lettered with the reason; it does not fail the run
// (every run, since the checkpoint stays before it) and the other products and their stock land.
func TestAMaterialNumberDataverseCannotKeyIsDeadLetteredAndTheRunGoesOn(t *testing.T) {
	w := newWorld(t, options{batch: 4})
	f := &fakeSAP{}
	f.materials("5", "M1", "M2", "M%3", "M4", "M&5", "M6")
	w.syncer.SAP = f
	w.syncer.Mapping.Prices = nil
	sum := w.run(t, "timer")
	if sum.Outcome != "complete" || sum.Products.Failed != 2 {
		t.Errorf("summary %+v, products %+v: want complete with 2 failed", sum, sum.Products)
	}
	letters := w.deadLetters(t)
	for _, m := range []string{"M%3", "M&5"} {
		if letters[m] == "" {
			t.Errorf("%s was not dead-lettered", m)
		}
	}
	for _, m := range []string{"M1", "M2", "M4", "M6"} {
		rows := w.dv.Find("products", "productnumber", m)
		if len(rows) != 1 || jsonText(rows[0]["quantityonhand"]) != "5.00" || jsonText(rows[0]["statecode"]) != "0" {
			t.Errorf("%s: %v, want one active product with 5.00 on hand", m, rows)
		}
	}
}
