package inventorysync

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/sap"
)

// productsStream is the products stream's checkpoint: the latest SAP change time written, and (Extra) the digest
// of the mapping it was written under.
const productsStream = "inventory-products"

// Product states (statecode) and the status (statuscode) each is set with.
const (
	stateActive  = 0
	stateRetired = 1
	stateDraft   = 2
)

var stateStatus = map[int]int{stateActive: 1, stateRetired: 2}

// maxName is product.name's length in D365.
const maxName = 100

// units are the D365 unit group new products get and its units by name.
type units struct {
	group  string
	byName map[string]string
	// multiples are the group's units defined as N of another unit: "100 EA" is multiples[{EA's id, "100"}].
	multiples map[multiple]string
	// createdActive is the org's createproductswithoutparentinactivestate: products created without a family
	// start active instead of as drafts, so publishing one would repeat its state, which Dataverse refuses.
	createdActive bool
}

// products reads SAP's products changed since the checkpoint (less the overlap) and writes the changed ones.
func (r *run) products(ctx context.Context) error {
	st := &StreamStats{}
	r.sum.Products = st
	start, throttled := r.Now(), r.Dataverse.Stats().Throttled
	defer func() {
		st.Duration = r.Now().Sub(start)
		st.Throttled = r.Dataverse.Stats().Throttled - throttled
	}()
	pm := r.Mapping.Products
	mapDigest := digest([]any{r.Mapping.Language, pm.UnitGroup, pm.QuantityDecimal})
	cp, etag, _, err := r.Checkpoints.Get(ctx, productsStream)
	if err != nil {
		return fmt.Errorf("reading the products checkpoint: %w", err)
	}
	since, err := cp.Time()
	if err != nil {
		return err
	}
	// The checkpoint names the RowKey format too: fingerprints kept under an older one are not read (see
	// fingerprintsBetween), so the products are read again from the start to find them in D365 once.
	mark := mapDigest + " " + keyFormat
	if cp.Extra != mark {
		// Another mapping wrote these values: read everything again; the fingerprints carry the old digest, so
		// every product is rewritten.
		since = time.Time{}
	} else if !since.IsZero() {
		since = since.Add(-r.Overlap)
	}
	u, err := r.unitGroup(ctx, pm.UnitGroup)
	if err != nil {
		return err
	}
	org, err := r.orgSettings(ctx)
	if err != nil {
		return err
	}
	u.createdActive = org.createdActive
	wm, err := r.readMark(ctx, productsStream, func(pos, upTo string) bool {
		p, err1 := time.Parse(time.RFC3339Nano, pos)
		t, err2 := time.Parse(time.RFC3339Nano, upTo)
		return err1 != nil || err2 != nil || !p.After(t)
	})
	if err != nil {
		return err
	}
	batch := make([]sap.Product, 0, r.group())
	stamp := func(p sap.Product) string { return p.LastChangeDateTime.Time.UTC().Format(time.RFC3339Nano) }
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		verify, last := wm.verify(stamp(batch[0])), stamp(batch[len(batch)-1])
		if err := wm.writing(ctx, last, false); err != nil {
			return err
		}
		err := r.timed(func() error { return r.productBatch(ctx, batch, u, mapDigest, verify, st) })
		if err != nil {
			return err
		}
		cp.SetTime(batch[len(batch)-1].LastChangeDateTime.Time)
		cp.Extra, cp.RunID = mark, r.id
		if etag, err = r.Checkpoints.Save(ctx, cp, etag); err != nil {
			return fmt.Errorf("saving the products checkpoint: %w", err)
		}
		batch = batch[:0]
		if r.spent() {
			if err := wm.done(ctx, last, false); err != nil {
				return err
			}
			return errBudget
		}
		return nil
	}
	rows := r.SAP.ProductsChangedSince(ctx, since)
	prog := r.progress("products", st, rows.Count)
	for p, err := range rows.All() {
		if err != nil {
			return fmt.Errorf("reading SAP products: %w", err)
		}
		st.Read++
		prog.tick()
		batch = append(batch, p)
		if len(batch) >= r.group() {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return wm.done(ctx, "", true)
}

// unitGroup finds the mapping's unit group and its units.
func (r *run) unitGroup(ctx context.Context, name string) (units, error) {
	f, err := dataverse.Filterf("name eq %s", name)
	if err != nil {
		return units{}, err
	}
	u := units{byName: map[string]string{}, multiples: map[multiple]string{}}
	for rec, err := range r.Dataverse.List(ctx, "uomschedules", &dataverse.Query{Select: []string{"uomscheduleid", "name"}, Filter: f}) {
		if err != nil {
			return units{}, fmt.Errorf("finding unit group %q: %w", name, err)
		}
		if u.group != "" {
			return units{}, fmt.Errorf("finding unit group %q: D365 has more than one of that name", name)
		}
		u.group = rec.String("uomscheduleid")
	}
	if u.group == "" {
		return units{}, fmt.Errorf("finding unit group %q: D365 has none of that name (products.unitGroup in the inventory mapping)", name)
	}
	f, _ = dataverse.Filterf("_uomscheduleid_value eq %s", dataverse.GUID(u.group))
	for rec, err := range r.Dataverse.List(ctx, "uoms", &dataverse.Query{Select: []string{"uomid", "name", "quantity", "_baseuom_value"}, Filter: f}) {
		if err != nil {
			return units{}, fmt.Errorf("reading the units of group %q: %w", name, err)
		}
		u.byName[rec.String("name")] = rec.String("uomid")
		if base := rec.String("_baseuom_value"); base != "" {
			if q, ok := new(big.Rat).SetString(rec.Number("quantity").String()); ok {
				u.multiples[multiple{base, q.RatString()}] = rec.String("uomid")
			}
		}
	}
	return u, nil
}

// multiple names a unit of N base units.
type multiple struct {
	base     string // uomid of the unit it is a multiple of
	quantity string // N, as big.Rat's RatString
}

// orgSettings are the organization settings the sync's writes depend on.
type orgSettings struct {
	// createdActive: products created without a family start active instead of as drafts.
	createdActive bool
	// pricingPrecision is pricingdecimalprecision, the decimals of price list amounts (2 on a fresh org).
	pricingPrecision int
}

// orgSettings reads them once per run.
func (r *run) orgSettings(ctx context.Context) (orgSettings, error) {
	q := &dataverse.Query{Select: []string{"createproductswithoutparentinactivestate", "pricingdecimalprecision"}}
	for rec, err := range r.Dataverse.List(ctx, "organizations", q) {
		if err != nil {
			return orgSettings{}, fmt.Errorf("reading the organization's product settings: %w", err)
		}
		p, err := rec.Number("pricingdecimalprecision").Int64()
		if err != nil || p < 0 || p > 10 {
			p = 2
		}
		return orgSettings{createdActive: rec.Bool("createproductswithoutparentinactivestate"), pricingPrecision: int(p)}, nil
	}
	return orgSettings{pricingPrecision: 2}, nil
}

// wantedProduct is what D365 should hold of one SAP product.
type wantedProduct struct {
	material string
	name     string
	unit     string // D365 uomid of SAP's base unit; "" when it has none
	unitErr  error
	deleted  bool
}

func (r *run) want(p sap.Product, u units) wantedProduct {
	w := wantedProduct{material: p.Product, name: p.Product, deleted: p.IsMarkedForDeletion}
	for _, d := range p.Descriptions.Results {
		if d.Language == r.Mapping.Language && strings.TrimSpace(d.ProductDescription) != "" {
			w.name = d.ProductDescription
			break
		}
	}
	if utf8.RuneCountInString(w.name) > maxName {
		w.name = string([]rune(w.name)[:maxName])
	}
	unitName, ok := r.Units.D365(p.BaseUnit)
	switch {
	case !ok:
		w.unitErr = fmt.Errorf("SAP base unit %q of %s has no D365 unit in the value map (units.fromSAP)", p.BaseUnit, p.Product)
	case u.byName[unitName] == "":
		w.unitErr = fmt.Errorf("D365 unit %q (SAP base unit %q of %s) is not in unit group %q", unitName, p.BaseUnit, p.Product, r.Mapping.Products.UnitGroup)
	default:
		w.unit = u.byName[unitName]
	}
	return w
}

func (w wantedProduct) digest(mapDigest string) string {
	return digest([]any{mapDigest, w.name, w.unit, w.deleted})
}

// productBatch writes one batch of products: finds those D365 has that the sync has not written, upserts the
// changed ones, publishes the new ones and retires (or brings back) the ones SAP flags, then records fingerprints.
// A product found in D365 that already holds what the upsert would write is not written again; with verify (a
// run died writing this batch) every changed product is looked up first, not only those without a fingerprint.
func (r *run) productBatch(ctx context.Context, batch []sap.Product, u units, mapDigest string, verify bool, st *StreamStats) error {
	// A product changed twice within the overlap is read twice: keep its latest row.
	latest := map[string]sap.Product{}
	var order []string
	for _, p := range batch {
		if _, seen := latest[p.Product]; !seen {
			order = append(order, p.Product)
		}
		latest[p.Product] = p
	}
	fps, err := fingerprintsOf(ctx, r.Fingerprints, order)
	if err != nil {
		return err
	}
	var unknown []string
	for _, m := range order {
		if fps[m].Value.ID == "" || verify {
			unknown = append(unknown, m)
		}
	}
	found, err := r.findProducts(ctx, unknown)
	if err != nil {
		return err
	}
	type item struct {
		w     wantedProduct
		fp    Fingerprint
		isNew bool
	}
	var items, adopted []item
	pending := map[string]Fingerprint{}
	var recs []dataverse.Record
	var keys []string
	for _, m := range order {
		w := r.want(latest[m], u)
		fp := fps[m].Value
		if f, ok := found[m]; ok {
			if verify && fp.ID != "" && fp.State != stateRetired && f.State == stateRetired && w.deleted {
				// Retired since the sync last recorded it, and SAP flags it: the run that died retired it. It
				// stays the sync's to bring back when SAP clears the flag.
				fp.RetiredBySync = true
			}
			fp.ID, fp.State = f.ID, f.State
		}
		if fp.Product == w.digest(mapDigest) {
			continue
		}
		st.Changed++
		if f, ok := found[m]; ok && f.Name == w.name {
			// D365 holds what the upsert would write (its productnumber and name): a run that died wrote it, or
			// someone entered it so. Only its state and fingerprint may be missing.
			st.Landed++
			adopted = append(adopted, item{w: w, fp: fp})
			continue
		}
		isNew := fp.ID == ""
		if isNew && w.deleted {
			// Flagged for deletion before D365 ever had it: nothing to retire, and nothing worth creating.
			st.Skipped++
			continue
		}
		rec := dataverse.Record{"productnumber": m, "name": w.name}
		if isNew {
			if w.unitErr != nil {
				st.Failed++
				if err := r.DeadLetters.DeadLetterRecord(ctx, "products", m, latest[m], w.unitErr); err != nil {
					return fmt.Errorf("dead-lettering product %s: %w", m, err)
				}
				continue
			}
			rec["defaultuomscheduleid@odata.bind"] = "/uomschedules(" + u.group + ")"
			rec["defaultuomid@odata.bind"] = "/uoms(" + w.unit + ")"
			rec["quantitydecimal"] = json.Number(fmt.Sprint(r.Mapping.Products.QuantityDecimal))
		}
		if isNew {
			fp.CreatedBySync = true
			pending[m] = fp
		}
		items = append(items, item{w: w, fp: fp, isNew: isNew})
		recs = append(recs, rec)
		keys = append(keys, m)
	}
	// Say which products this run creates before creating them: should it end before publishing them, the next
	// run finds them as drafts and knows they are its own.
	if err := saveFingerprints(ctx, r.Fingerprints, pending); err != nil {
		return err
	}
	landed, err := r.writeAll(ctx, "products", recs, keys, func(ctx context.Context, part []dataverse.Record) ([]string, error) {
		_, err := r.Dataverse.UpsertMultiple(ctx, "products", part, &dataverse.BulkOptions{Entity: "product",
			AltKey: []string{"productnumber"}, ChunkSize: len(part), Workers: 1})
		return nil, err
	}, st)
	if err != nil {
		return err
	}
	// States: a product created through the API starts as a draft, which quotes and orders cannot use. The
	// changes go in bulk (UpdateMultiple by productid, a request per batch): a PATCH each would spend the
	// service protection limit's 6,000 requests per five minutes on a first load of 100,000 products in 17 hours.
	// Bulk upserts answer no ids, so the products created just now are looked up once, fifty to a query.
	var created []string
	var done0 []item
	for i, it := range items {
		if landed[i] {
			done0 = append(done0, it)
			if it.fp.ID == "" {
				created = append(created, it.w.material)
			}
		}
	}
	done0 = append(done0, adopted...)
	ids, err := r.findProducts(ctx, created)
	if err != nil {
		return err
	}
	done := map[string]Fingerprint{}
	var stateRecs []dataverse.Record
	var stateKeys []string
	stateFP := map[string]Fingerprint{}
	for _, it := range done0 {
		want := stateActive
		if it.w.deleted {
			want = stateRetired
		}
		fp := it.fp
		fp.Product = it.w.digest(mapDigest)
		if f, ok := ids[it.w.material]; ok && fp.ID == "" {
			fp.ID, fp.State = f.ID, f.State
		}
		change := fp.ID != "" && fp.State != want && (want == stateRetired || fp.State == stateDraft && fp.CreatedBySync ||
			fp.State == stateRetired && fp.RetiredBySync)
		if !change {
			if fp.ID == "" {
				fp.Product = "" // landed, yet not found: written again, and looked up again, by the next run
			}
			done[it.w.material] = fp
			continue
		}
		fp.State, fp.RetiredBySync = want, want == stateRetired
		stateFP[it.w.material] = fp
		stateRecs = append(stateRecs, dataverse.Record{"productid": fp.ID, "statecode": json.Number(fmt.Sprint(want)),
			"statuscode": json.Number(fmt.Sprint(stateStatus[want]))})
		stateKeys = append(stateKeys, it.w.material)
	}
	stateLanded, err := r.writeAllCounted(ctx, "products", stateRecs, stateKeys, func(ctx context.Context, part []dataverse.Record) ([]string, error) {
		_, err := r.Dataverse.UpdateMultiple(ctx, "products", part, &dataverse.BulkOptions{Entity: "product",
			Key: "productid", ChunkSize: len(part), Workers: 1})
		return nil, err
	}, st, false)
	for i, m := range stateKeys {
		if i < len(stateLanded) && stateLanded[i] {
			done[m] = stateFP[m]
		}
	}
	// Fingerprints of what landed with the state it has; a product whose state change failed keeps its old
	// fingerprint, so the next run writes it again and retries the change.
	if serr := saveFingerprints(ctx, r.Fingerprints, done); serr != nil {
		return serr
	}
	return err
}

// foundProduct is a product D365 has that the sync had no fingerprint of.
type foundProduct struct {
	ID    string
	State int
	Name  string
}

// findProducts looks materials up in D365 by productnumber, fifty to a query so the URL stays short.
func (r *run) findProducts(ctx context.Context, materials []string) (map[string]foundProduct, error) {
	out := map[string]foundProduct{}
	for i := 0; i < len(materials); i += 50 {
		part := materials[i:min(i+50, len(materials))]
		terms := make([]string, len(part))
		for j, m := range part {
			f, err := dataverse.Filterf("productnumber eq %s", m)
			if err != nil {
				return nil, err
			}
			terms[j] = f
		}
		q := &dataverse.Query{Select: []string{"productid", "productnumber", "statecode", "name"}, Filter: strings.Join(terms, " or ")}
		for rec, err := range r.Dataverse.List(ctx, "products", q) {
			if err != nil {
				return nil, fmt.Errorf("finding products in D365: %w", err)
			}
			n, _ := rec.Number("statecode").Int64()
			out[rec.String("productnumber")] = foundProduct{ID: rec.String("productid"), State: int(n), Name: rec.String("name")}
		}
	}
	return out, nil
}

// readProducts reads columns of products by productid, fifty to a query; a product D365 no longer has is
// missing from the answer.
func (r *run) readProducts(ctx context.Context, ids []string, cols ...string) (map[string]dataverse.Record, error) {
	out := map[string]dataverse.Record{}
	for i := 0; i < len(ids); i += 50 {
		part := ids[i:min(i+50, len(ids))]
		terms := make([]string, len(part))
		for j, id := range part {
			f, err := dataverse.Filterf("productid eq %s", dataverse.GUID(id))
			if err != nil {
				return nil, err
			}
			terms[j] = f
		}
		q := &dataverse.Query{Select: append([]string{"productid"}, cols...), Filter: strings.Join(terms, " or ")}
		for rec, err := range r.Dataverse.List(ctx, "products", q) {
			if err != nil {
				return nil, fmt.Errorf("reading products in D365: %w", err)
			}
			out[rec.String("productid")] = rec
		}
	}
	return out, nil
}
