package inventorysync

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
)

// stockStream is the stock stream's checkpoint: the last material of the pass under way whose value is written
// ("" between passes), and (Extra) the digest of the stock mapping.
const stockStream = "inventory-stock"

// maxQuantityOnHand is product.quantityonhand's largest value in D365.
var maxQuantityOnHand = big.NewRat(1_000_000_000, 1)

// stockValue is one material's summed stock.
type stockValue struct {
	material string
	sum      *big.Rat
}

// stock reads all of SAP's stock of the mapped plants, ordered by material, sums each material's unrestricted
// stock as its rows pass, and writes the sums that differ from what was last written. SAP stock has no change
// stamp, so every run reads it all; the fingerprints make an unchanged value cost no Dataverse write. Memory is a
// batch, whatever the number of materials.
func (r *run) stock(ctx context.Context) error {
	st := &StreamStats{}
	r.sum.Stock = st
	start, throttled := r.Now(), r.Dataverse.Stats().Throttled
	defer func() {
		st.Duration = r.Now().Sub(start)
		st.Throttled = r.Dataverse.Stats().Throttled - throttled
	}()
	sm := r.Mapping.Stock
	mapDigest := digest([]any{sm.Locations, sm.QuantityPrecision})
	cp, etag, _, err := r.Checkpoints.Get(ctx, stockStream)
	if err != nil {
		return fmt.Errorf("reading the stock checkpoint: %w", err)
	}
	after := cp.Value
	if cp.Extra != mapDigest {
		after = "" // the mapping changed: a new pass, from the first material
	}
	mark, err := r.readMark(ctx, stockStream, func(pos, upTo string) bool { return pos < upTo })
	if err != nil {
		return err
	}
	plants := make([]string, len(sm.Locations))
	for i, l := range sm.Locations {
		plants[i] = l.Plant
	}
	// SAP is read ahead: the next group is read and summed while the current one is written, so Dataverse is
	// not left idle while SAP answers (and SAP not while Dataverse does).
	readCtx, stopReading := context.WithCancel(ctx)
	groups := make(chan stockGroup, 1)
	go r.readStock(readCtx, plants, after, sm, st, groups)
	defer func() {
		// The reader counts into st: it must have ended before the summary is read.
		stopReading()
		for range groups {
		}
	}()
	for g := range groups {
		if g.err != nil {
			return g.err
		}
		hi := ""
		if !g.final {
			hi = g.values[len(g.values)-1].material
		}
		verify := mark.verify(after)
		if err := mark.writing(ctx, hi, g.final); err != nil {
			return err
		}
		err := r.timed(func() error { return r.stockBatch(ctx, g.values, after, hi, mapDigest, verify, st) })
		if err != nil {
			return err
		}
		cp.Value, cp.Extra, cp.RunID = hi, mapDigest, r.id
		if etag, err = r.Checkpoints.Save(ctx, cp, etag); err != nil {
			return fmt.Errorf("saving the stock checkpoint: %w", err)
		}
		after = hi
		if g.final {
			return mark.done(ctx, "", true)
		}
		if r.spent() {
			if err := mark.done(ctx, hi, false); err != nil {
				return err
			}
			return errBudget
		}
	}
	return ctx.Err() // the reader ends only with a final group or an error, unless the run was cancelled
}

// stockGroup is a group of summed values the reader hands the writer; the final one reaches past SAP's last
// material, so products whose stock rows are all gone are set to zero.
type stockGroup struct {
	values []stockValue
	final  bool
	err    error
}

// readStock reads SAP's stock ordered by material, sums each material's unrestricted stock as its rows pass,
// and sends a group each r.group() materials, then the final one; it stops when ctx ends.
func (r *run) readStock(ctx context.Context, plants []string, after string, sm *StockMapping, st *StreamStats, out chan<- stockGroup) {
	defer close(out)
	send := func(g stockGroup) bool {
		select {
		case out <- g:
			return true
		case <-ctx.Done():
			return false
		}
	}
	fail := func(err error) { send(stockGroup{err: err}) }
	batch := make([]stockValue, 0, r.group())
	var cur *stockValue
	counted := map[string]*big.Rat{} // the current material's buckets read so far, by key
	rows := r.SAP.Stock(ctx, plants, after)
	prog := r.progress("stock", st, rows.Count)
	for row, err := range rows.All() {
		if err != nil {
			fail(fmt.Errorf("reading SAP stock: %w", err))
			return
		}
		st.Read++
		prog.tick()
		if row.Material <= after {
			fail(fmt.Errorf("reading SAP stock: material %q came after %q: the rows are not ordered by material", row.Material, after))
			return
		}
		if cur == nil || row.Material != cur.material {
			if cur != nil {
				if row.Material < cur.material {
					fail(fmt.Errorf("reading SAP stock: material %q came after %q: the rows are not ordered by material", row.Material, cur.material))
					return
				}
				batch = append(batch, *cur)
				if len(batch) >= r.group() {
					if !send(stockGroup{values: batch}) {
						return
					}
					batch = make([]stockValue, 0, r.group())
				}
			}
			cur = &stockValue{material: row.Material, sum: new(big.Rat)}
			clear(counted)
		}
		// Unrestricted use, and the plant's own: special stock (sales order stock "E", consignment, project stock)
		// belongs to one order, supplier or project and cannot be promised to another customer.
		if row.InventoryStockType == "01" && row.InventorySpecialStockType == "" && sm.counts(row.Plant, row.StorageLocation) {
			// SAP pages by counting rows: a row that appears before the page boundary between two pages makes
			// the next page start with the last row again. A bucket counts once, with the quantity read last.
			k := stockKey(row)
			if old, ok := counted[k]; ok {
				cur.sum.Sub(cur.sum, old)
				st.Duplicates++
			}
			q := row.Quantity.Rat()
			counted[k] = q
			cur.sum.Add(cur.sum, q)
		}
	}
	if cur != nil {
		batch = append(batch, *cur)
	}
	send(stockGroup{values: batch, final: true})
}

// stockBatch writes the values of one batch, the materials in (lo, hi] (hi "" for the end): those SAP summed,
// and those with a fingerprint in that range that SAP no longer has stock of, which now hold zero. With verify
// (a run died writing this range), Dataverse's values are read first and only those that differ are written.
func (r *run) stockBatch(ctx context.Context, batch []stockValue, lo, hi, mapDigest string, verify bool, st *StreamStats) error {
	fps, err := fingerprintsBetween(ctx, r.Fingerprints, lo, hi)
	if err != nil {
		return err
	}
	summed := make(map[string]bool, len(batch))
	for _, v := range batch {
		summed[v.material] = true
	}
	values := batch
	for m, row := range fps {
		if !summed[m] && row.Value.ID != "" && row.Value.Stock != "" {
			values = append(values, stockValue{material: m, sum: new(big.Rat)})
		}
	}
	prec := r.Mapping.Stock.QuantityPrecision
	var recs []dataverse.Record
	var keys []string
	next := map[string]Fingerprint{}
	for _, v := range values {
		row, ok := fps[v.material]
		if !ok || row.Value.ID == "" {
			st.Skipped++ // no product in D365 that the products stream wrote or found
			continue
		}
		text, adjusted := quantityText(v.sum, prec)
		if row.Value.Stock == text && row.Value.StockMapping == mapDigest {
			continue
		}
		st.Changed++
		if adjusted {
			st.Rounded++
		}
		if v.sum.Cmp(maxQuantityOnHand) > 0 {
			st.Failed++
			err := fmt.Errorf("stock %s of %s is above D365's largest quantity on hand (1,000,000,000)", v.sum.FloatString(3), v.material)
			if derr := r.DeadLetters.DeadLetterRecord(ctx, "stock", v.material, map[string]string{"quantity": v.sum.FloatString(prec + 3)}, err); derr != nil {
				return fmt.Errorf("dead-lettering stock of %s: %w", v.material, derr)
			}
			continue
		}
		fp := row.Value
		fp.Stock, fp.StockMapping = text, mapDigest
		next[v.material] = fp
		recs = append(recs, dataverse.Record{"productid": fp.ID, "quantityonhand": json.Number(text)})
		keys = append(keys, v.material)
	}
	if verify {
		var landed map[string]Fingerprint
		var err error
		if recs, keys, landed, err = r.heldStock(ctx, recs, keys, next); err != nil {
			return err
		}
		st.Landed += int64(len(landed))
		if err := saveFingerprints(ctx, r.Fingerprints, landed); err != nil {
			return err
		}
	}
	r.gone = map[string]bool{}
	// Each chunk's fingerprints are saved as soon as it lands, while the other chunks are still on their way to
	// Dataverse: storage and Dataverse work at once instead of one after the other.
	r.afterChunk = func(lo, hi int, landed []bool) error {
		part := map[string]Fingerprint{}
		for i := lo; i < hi; i++ {
			if landed[i] {
				part[keys[i]] = next[keys[i]]
			}
		}
		return saveFingerprints(ctx, r.Fingerprints, part)
	}
	defer func() { r.gone, r.afterChunk = nil, nil }()
	_, err = r.writeAll(ctx, "stock", recs, keys, func(ctx context.Context, part []dataverse.Record) ([]string, error) {
		_, err := r.Dataverse.UpdateMultiple(ctx, "products", part, &dataverse.BulkOptions{Entity: "product",
			Key: "productid", ChunkSize: len(part), Workers: 1})
		return nil, err
	}, st)
	if err != nil {
		return err
	}
	gone := map[string]Fingerprint{}
	for k := range r.gone {
		// Forgotten: no id, no digests, so stock and prices skip it and the products stream creates it again
		// (and publishes it: the sync made it) when SAP next changes it or a drift fix asks.
		gone[k] = Fingerprint{}
	}
	return saveFingerprints(ctx, r.Fingerprints, gone)
}

// stockKey is a stock row's key (A_MatlStkInAcctMod's key fields but the material's).
func stockKey(r sap.StockRow) string {
	return strings.Join([]string{r.Plant, r.StorageLocation, r.Batch, r.Supplier, r.Customer, r.WBSElementInternalID,
		r.SDDocument, r.SDDocumentItem, r.InventorySpecialStockType, r.InventoryStockType}, "\x00")
}

// quantityText writes a stock sum with prec decimals, rounded down so that D365 never shows more than the
// warehouse holds; negative stock (SAP allows it where configured) shows as zero, D365's smallest. adjusted says
// the text is not the exact sum.
func quantityText(sum *big.Rat, prec int) (string, bool) {
	if sum.Sign() < 0 {
		return new(big.Rat).FloatString(prec), true
	}
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(prec)), nil)
	scaled := new(big.Rat).Mul(sum, new(big.Rat).SetInt(scale))
	floor := new(big.Int).Quo(scaled.Num(), scaled.Denom())
	down := new(big.Rat).SetFrac(floor, scale)
	return down.FloatString(prec), down.Cmp(sum) != 0
}

// heldStock reads the quantities Dataverse holds for recs and splits off those that already hold the value to
// write: recs and keys come back without them, and landed holds their fingerprints from next.
func (r *run) heldStock(ctx context.Context, recs []dataverse.Record, keys []string, next map[string]Fingerprint) (
	[]dataverse.Record, []string, map[string]Fingerprint, error) {
	ids := make([]string, len(recs))
	for i, rec := range recs {
		ids[i] = rec.String("productid")
	}
	held, err := r.readProducts(ctx, ids, "quantityonhand")
	if err != nil {
		return nil, nil, nil, err
	}
	landed := map[string]Fingerprint{}
	var outRecs []dataverse.Record
	var outKeys []string
	for i, rec := range recs {
		if h, ok := held[ids[i]]; ok && sameNumber(h.Number("quantityonhand"), rec["quantityonhand"]) {
			landed[keys[i]] = next[keys[i]]
			continue
		}
		outRecs, outKeys = append(outRecs, rec), append(outKeys, keys[i])
	}
	return outRecs, outKeys, landed, nil
}

// sameNumber compares a number Dataverse answered with one the sync would write, by value (12.5 is 12.500).
func sameNumber(held json.Number, want any) bool {
	w, ok := want.(json.Number)
	if !ok || held == "" {
		return false
	}
	a, ok1 := new(big.Rat).SetString(held.String())
	b, ok2 := new(big.Rat).SetString(w.String())
	return ok1 && ok2 && a.Cmp(b) == 0
}
