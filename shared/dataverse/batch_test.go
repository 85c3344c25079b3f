package dataverse_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/shared/dataverse"
)

func TestBatch(t *testing.T) {
	good := func(n int) dataverse.Op {
		return dataverse.CreateOp("accounts", dataverse.Record{"name": fmt.Sprint("acc ", n), "accountnumber": fmt.Sprint("B", n)})
	}
	bad := dataverse.CreateOp("accounts", dataverse.Record{"name": "bad", "nosuchcolumn": 1})
	tests := []struct {
		name      string
		build     func(*dataverse.Batch)
		cont      bool
		wantErrs  []error // per op: nil = success; ErrNotRun/ErrRolledBack; dataverse.ErrChangeTokenExpired unused
		wantFail  []bool  // per op: failed with a *dataverse.Error
		wantCount int
	}{
		{"changeset commits together with a Content-ID reference", func(b *dataverse.Batch) {
			b.ChangeSet(good(1).WithContentID("1"),
				dataverse.CreateOp("salesorders", dataverse.Record{"name": "SO", "customerid_account@odata.bind": "$1"}))
		}, false, []error{nil, nil}, []bool{false, false}, 1},
		{"changeset rolls back as a whole", func(b *dataverse.Batch) {
			b.ChangeSet(good(1), bad)
		}, false, []error{dataverse.ErrRolledBack, nil}, []bool{false, true}, 0},
		{"stops at the first failure by default", func(b *dataverse.Batch) {
			b.Add(good(1), bad, good(2))
		}, false, []error{nil, nil, dataverse.ErrNotRun}, []bool{false, true, false}, 1},
		{"continue-on-error runs everything", func(b *dataverse.Batch) {
			b.Add(good(1), bad, good(2))
		}, true, []error{nil, nil, nil}, []bool{false, true, false}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, dvsim.Options{}, nil)
			b := &dataverse.Batch{}
			tt.build(b)
			res, err := e.client.ExecuteBatch(ctx(t), b, &dataverse.BatchOptions{ContinueOnError: tt.cont})
			if err != nil {
				t.Fatalf("ExecuteBatch: %v", err)
			}
			if len(res) != len(tt.wantErrs) {
				t.Fatalf("results = %d; want %d: %+v", len(res), len(tt.wantErrs), res)
			}
			for i, r := range res {
				var de *dataverse.Error
				failed := errors.As(r.Err, &de) && !errors.Is(r.Err, dataverse.ErrRolledBack)
				if failed != tt.wantFail[i] {
					t.Errorf("op %d: err = %v; want failure %v", i, r.Err, tt.wantFail[i])
				}
				if tt.wantErrs[i] != nil && !errors.Is(r.Err, tt.wantErrs[i]) {
					t.Errorf("op %d: err = %v; want %v", i, r.Err, tt.wantErrs[i])
				}
				if r.Err == nil && r.ID == "" {
					t.Errorf("op %d: no id", i)
				}
			}
			if got := e.sim.Count("accounts"); got != tt.wantCount {
				t.Errorf("accounts = %d; want %d", got, tt.wantCount)
			}
		})
	}
}

func TestBatchGetAndUpdate(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	id, err := e.sim.Insert("accounts", map[string]any{"name": "A", "accountnumber": "1"})
	if err != nil {
		t.Fatal(err)
	}
	b := (&dataverse.Batch{}).
		ChangeSet(dataverse.UpdateOp("accounts", dataverse.ID(id), dataverse.Record{"name": "B"}, "")).
		Add(dataverse.GetOp("accounts", dataverse.AltKey("accountnumber", "1"), &dataverse.RetrieveOptions{Select: []string{"name"}}))
	res, err := e.client.ExecuteBatch(ctx(t), b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[1].Err != nil || res[1].Record.String("name") != "B" {
		t.Fatalf("results = %+v", res)
	}
}

// seedUnits seeds a unit group and a unit in it: Dataverse refuses a product created without them.
func seedUnits(t *testing.T, e *env) dvsim.Seeded {
	t.Helper()
	s, err := e.sim.Seed(dvsim.SeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// withUnits binds a product record to the seeded unit group and unit.
func withUnits(r dataverse.Record, u dvsim.Seeded) dataverse.Record {
	r["defaultuomscheduleid@odata.bind"] = "/uomschedules(" + u.UoMSchedule + ")"
	r["defaultuomid@odata.bind"] = "/uoms(" + u.UoM + ")"
	return r
}

func products(n int, from int, u dvsim.Seeded) []dataverse.Record {
	out := make([]dataverse.Record, n)
	for i := range out {
		out[i] = withUnits(dataverse.Record{"productnumber": fmt.Sprintf("P-%05d", from+i), "name": fmt.Sprint("Product ", from+i),
			"quantityonhand": json.Number(fmt.Sprintf("%d.125", i))}, u)
	}
	return out
}

func TestBulkMessages(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	c := ctx(t)
	o := &dataverse.BulkOptions{AltKey: []string{"productnumber"}, ChunkSize: 10}
	units := seedUnits(t, e)
	// The key columns go in @odata.id only: repeating them in the body of a target that creates fails the call.
	first, err := e.client.UpsertMultiple(c, "products", products(25, 0, units), o)
	if err != nil || first.Fallback {
		t.Fatalf("UpsertMultiple create: %v (fallback %v)", err, first.Fallback)
	}
	if e.sim.Count("products") != 25 || first.IDs[0] != "" {
		t.Fatalf("products = %d, ids %v; want 25 and no ids (UpsertMultiple answers 204)", e.sim.Count("products"), first.IDs[:1])
	}
	ids := make([]string, 25)
	for i := range ids {
		rows := e.sim.Find("products", "productnumber", fmt.Sprintf("P-%05d", i))
		if len(rows) != 1 {
			t.Fatalf("product %d: %d rows", i, len(rows))
		}
		ids[i] = rows[0]["productid"].(string)
	}
	recs := products(25, 0, units)
	for _, r := range recs {
		r["quantityonhand"] = json.Number("7.000")
	}
	before := e.sim.Writes("products")
	if _, err := e.client.UpsertMultiple(c, "products", recs, o); err != nil {
		t.Fatalf("UpsertMultiple update: %v", err)
	}
	if w := e.sim.Writes("products").Sub(before); w != (dvsim.WriteCounts{Updates: 25}) || e.sim.Count("products") != 25 {
		t.Fatalf("second UpsertMultiple: writes %+v, %d products; want 25 updates of the same rows", w, e.sim.Count("products"))
	}
	first.IDs = ids
	got, _ := e.sim.Get("products", first.IDs[3])
	if got["quantityonhand"] != json.Number("7.000") {
		t.Errorf("quantityonhand = %v", got["quantityonhand"])
	}

	// UpdateMultiple is atomic per chunk: one bad record fails its chunk only.
	upd := make([]dataverse.Record, 20)
	for i := range upd {
		upd[i] = dataverse.Record{"productid": first.IDs[i], "name": fmt.Sprint("renamed ", i)}
	}
	upd[15]["quantityonhand"] = "not a number"
	_, err = e.client.UpdateMultiple(c, "products", upd, &dataverse.BulkOptions{ChunkSize: 10})
	var be *dataverse.BulkError
	if !errors.As(err, &be) || len(be.Failures) != 1 || be.Failures[0].Start != 10 {
		t.Fatalf("UpdateMultiple error = %v; want one failed chunk [10,20)", err)
	}
	if !dataverse.IsKind(err, dataverse.KindBadRequest) {
		t.Errorf("chunk error kind: %v", err)
	}
	p0, _ := e.sim.Get("products", first.IDs[0])
	p12, _ := e.sim.Get("products", first.IDs[12])
	if p0["name"] != "renamed 0" || p12["name"] != "Product 12" {
		t.Errorf("names = %v, %v; want chunk 1 applied, chunk 2 untouched", p0["name"], p12["name"])
	}
}

func TestBulkFallsBackToBatch(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, nil)
	if _, err := e.sim.Seed(dvsim.SeedOptions{Accounts: 1}); err != nil {
		t.Fatal(err)
	}
	recs := make([]dataverse.Record, 12)
	for i := range recs {
		recs[i] = dataverse.Record{"name": fmt.Sprint("SO ", i), "customerid_account@odata.bind": "/accounts(accountnumber='0000100001')"}
	}
	recs[5]["name"] = nil // required: this one fails, the others still go in
	res, err := e.client.CreateMultiple(ctx(t), "salesorders", recs, &dataverse.BulkOptions{ChunkSize: 100})
	if !res.Fallback {
		t.Fatal("salesorders has no CreateMultiple in the simulator; want the $batch fallback")
	}
	if err == nil || e.sim.Count("salesorders") != 11 {
		t.Fatalf("err = %v, orders = %d; want 11 created and one error", err, e.sim.Count("salesorders"))
	}
	forced, err := e.client.UpsertMultiple(ctx(t), "accounts", []dataverse.Record{{"accountnumber": "F1", "name": "forced"}},
		&dataverse.BulkOptions{AltKey: []string{"accountnumber"}, UseBatch: true})
	if err != nil || !forced.Fallback || len(e.sim.Find("accounts", "accountnumber", "F1")) != 1 {
		t.Errorf("UseBatch upsert: %+v %v", forced, err)
	}
	ids := append([]string(nil), res.IDs...)
	sort.Strings(ids)
	if ids[0] != "" || ids[1] == "" {
		t.Errorf("ids = %v; want all but one", res.IDs)
	}
}

func TestChangeTracking(t *testing.T) {
	e := newEnv(t, dvsim.Options{}, func(o *dataverse.Options) { o.PageSize = 4 })
	seeded, err := e.sim.Seed(dvsim.SeedOptions{Accounts: 10})
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t)
	collect := func(link string) (map[string]bool, []string, string, error) {
		changed := map[string]bool{}
		var deleted []string
		next, err := e.client.Changes(c, "accounts", &dataverse.ChangesOptions{Select: []string{"name", "accountnumber"}, DeltaLink: link},
			func(ch dataverse.Change) error {
				if ch.Deleted {
					deleted = append(deleted, ch.ID)
				} else {
					changed[ch.Record.String("accountid")] = true
				}
				return nil
			})
		return changed, deleted, next, err
	}
	all, del, link, err := collect("")
	if err != nil || len(all) != 10 || len(del) != 0 || link == "" {
		t.Fatalf("initial read: %d rows, %v deleted, link %q, %v", len(all), del, link, err)
	}
	if _, err := e.client.Update(c, "accounts", dataverse.ID(seeded.Accounts[2]), dataverse.Record{"name": "changed"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Delete("accounts", seeded.Accounts[7]); err != nil {
		t.Fatal(err)
	}
	newID, err := e.sim.Insert("accounts", map[string]any{"name": "new", "accountnumber": "X1"})
	if err != nil {
		t.Fatal(err)
	}
	changed, deleted, link2, err := collect(link)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 2 || !changed[seeded.Accounts[2]] || !changed[newID] {
		t.Errorf("changed = %v", changed)
	}
	if len(deleted) != 1 || deleted[0] != seeded.Accounts[7] {
		t.Errorf("deleted = %v", deleted)
	}
	// Nothing changed since: the next delta is empty.
	changed, deleted, _, err = collect(link2)
	if err != nil || len(changed)+len(deleted) != 0 {
		t.Errorf("empty delta: %v %v %v", changed, deleted, err)
	}
	e.sim.ExpireChangeTokens()
	_, _, _, err = collect(link2)
	if !errors.Is(err, dataverse.ErrChangeTokenExpired) {
		t.Fatalf("expired token error = %v; want ErrChangeTokenExpired", err)
	}
	// The fallback: a full read starts over.
	all, _, _, err = collect("")
	if err != nil || len(all) != 10 {
		t.Fatalf("full read after expiry: %d rows, %v", len(all), err)
	}
}
