package orderpush_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/infra/local/sapsim"
	"github.com/d365sap/d365sap/infra/local/sapsim/simtest"
	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// ledgerOf opens the world's push ledger, to look at or plant entries as an operator (or a crash) would.
func (w *world) ledgerOf(t *testing.T) *ledger.Ledger {
	t.Helper()
	acc, err := store.NewAccountFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := store.NewTable[json.RawMessage](acc, w.table)
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &ledger.Ledger{Table: tbl, Kind: orderpush.Kind, Lease: 6 * time.Second, CommitWindow: 3 * time.Second,
		Skew: 200 * time.Millisecond, Margin: 400 * time.Millisecond}
}

// sapClient reads SAP as the test's own eyes.
func (w *world) sapClient(t *testing.T) *sap.Client {
	t.Helper()
	c, err := sap.New(sap.Options{BaseURL: w.sapURL, AuthMode: sap.AuthBasic, Username: simtest.Username, Password: simtest.Password,
		Timeout: 30 * time.Second, MaxResponseBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A flow using the asynchronous pattern must fail when SAP rejects the order: the status answers 422 with
// SAP's messages, as the synchronous push would have, and Dynamics is told.
func TestAnAsyncPushThatSAPRejectsAnswers422(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, "99999999", line{sapsim.ProductID(1), "1"})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, http.Header{"Prefer": {"respond-async"}})
	if a.Status != http.StatusAccepted {
		t.Fatalf("async push: %d %s", a.Status, a.Raw)
	}
	st := w.waitFinal(t, id, 20*time.Second)
	if st.Status != http.StatusUnprocessableEntity || st.State != "rejected" || len(st.SAPMessages) == 0 || st.SAPMessages[0].Code != "V1/320" {
		t.Fatalf("status of a rejected async push: %d %s", st.Status, st.Raw)
	}
	if ct := st.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("content type %q", ct)
	}
	row, _ := w.dv.Get("salesorders", id)
	if desc, _ := row["submitstatusdescription"].(string); !strings.HasPrefix(desc, "Rejected by SAP: V1/320") {
		t.Errorf("Dynamics was told %q", desc)
	}
}

// An order whose push was recorded as queued but whose message is gone (dead-lettered, never written) is
// finished by the sweeper.
func TestTheSweeperFinishesAStuckAcceptedOrder(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(9), line{sapsim.ProductID(7), "3"})
	order := `{"salesorderid":"` + id + `","customerAccountNumber":"` + sapsim.CustomerID(9) + `","lines":[{"productNumber":"` + sapsim.ProductID(7) + `","quantity":"3","unit":"Each"}]}`
	ref := strings.ToUpper(id)
	if _, _, err := w.ledgerOf(t).Claim(t.Context(), ledger.ClaimRequest{Key: id, Ref: ref, Payload: order, Intent: ledger.Queue}); err != nil {
		t.Fatal(err)
	}
	// No message was queued. The sweeper (every 2 s, grace 8 s) must find it.
	w.exactlyOneWithin(t, id, 30*time.Second)
}

// A push rejected for a wrong customer, pushed again after the customer and PO were corrected in Dynamics,
// reaches SAP with the corrected values.
func TestARepushAfterACorrectionUsesTheCorrectedPO(t *testing.T) {
	w := newWorld(t)
	id := w.orderWithPO(t, "99999999", "PO-OLD", line{sapsim.ProductID(2), "1"})
	if a := w.push(t, `{"salesorderid":"`+id+`"}`, nil); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("first push: %d %s", a.Status, a.Raw)
	}
	acc, err := w.dv.Insert("accounts", map[string]any{"name": "Corrected", "accountnumber": sapsim.CustomerID(10)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.dv.Patch("salesorders", id, map[string]any{poColumn: "PO-NEW", "customerid_account@odata.bind": "/accounts(" + acc + ")"}); err != nil {
		t.Fatal(err)
	}
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusCreated {
		t.Fatalf("push after the correction: %d %s", a.Status, a.Raw)
	}
	ours := w.ordersFor(id)
	if len(ours) != 1 || ours[0].PurchaseOrderByCustomer != "PO-NEW" || ours[0].SoldToParty != sapsim.CustomerID(10) {
		t.Fatalf("SAP got %+v", ours)
	}
}

// Lines reach SAP in D365 line order (lineitemnumber), whatever order Dataverse stores them in.
func TestLinesArriveInD365Order(t *testing.T) {
	w := newWorld(t)
	products := []string{sapsim.ProductID(20), sapsim.ProductID(21), sapsim.ProductID(22), sapsim.ProductID(23), sapsim.ProductID(24)}
	id := w.orderNumbered(t, sapsim.CustomerID(11), []int{4, 2, 5, 1, 3}, products)
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusCreated {
		t.Fatalf("push: %d %s", a.Status, a.Raw)
	}
	so, err := w.sapClient(t).GetSalesOrder(t.Context(), a.SAPSalesOrder)
	if err != nil {
		t.Fatal(err)
	}
	// Line number n holds products[index of n in the numbers].
	want := []string{products[3], products[1], products[4], products[0], products[2]}
	if len(so.Items.Results) != len(want) {
		t.Fatalf("%d items, want %d", len(so.Items.Results), len(want))
	}
	for i, it := range so.Items.Results {
		if n := fmt.Sprint((i + 1) * 10); it.SalesOrderItem != n || it.Material != want[i] {
			t.Fatalf("item %d is %s %s, want %s %s", i, it.SalesOrderItem, it.Material, n, want[i])
		}
	}
}

// An SAP number, with or without SAP's leading zeros, finds its D365 order through the link row in one read.
func TestTheLinkRowFindsTheD365Order(t *testing.T) {
	w := newWorld(t)
	id := w.order(t, sapsim.CustomerID(12), line{sapsim.ProductID(8), "1"})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusCreated {
		t.Fatalf("push: %d %s", a.Status, a.Raw)
	}
	l := w.ledgerOf(t)
	for _, n := range []string{a.SAPSalesOrder, strings.Repeat("0", 10-len(a.SAPSalesOrder)) + a.SAPSalesOrder} {
		link, found, err := l.FindLink(t.Context(), sap.NormalizeDocumentNumber(n))
		if err != nil || !found || link.Key != id {
			t.Fatalf("SAP number %q: %+v %v %v", n, link, found, err)
		}
	}
}

// A line in boxes reaches SAP in the material's base unit, converted with that material's own factor.
func TestANonBaseUnitIsConvertedPerMaterial(t *testing.T) {
	w := newWorld(t)
	box, err := w.dv.Insert("uoms", map[string]any{"name": "Box", "quantity": json.Number("1")})
	if err != nil {
		t.Fatal(err)
	}
	c := w.sapClient(t)
	mat := sapsim.ProductID(30)
	units, err := c.ProductUnits(t.Context(), mat)
	if err != nil {
		t.Fatal(err)
	}
	var factor string
	for _, u := range units.Units {
		if u.AlternativeUnit == "BOX" {
			factor = u.QuantityNumerator.String()
		}
	}
	if factor == "" {
		t.Fatalf("material %s has no BOX in the simulator: %+v", mat, units)
	}
	id := w.orderInUnit(t, sapsim.CustomerID(13), mat, "2", box)
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusCreated {
		t.Fatalf("push: %d %s", a.Status, a.Raw)
	}
	so, err := c.GetSalesOrder(t.Context(), a.SAPSalesOrder)
	if err != nil {
		t.Fatal(err)
	}
	it := so.Items.Results[0]
	want := sap.MustDecimal(factor).Rat()
	want.Mul(want, sap.MustDecimal("2").Rat())
	if it.RequestedQuantityUnit != units.BaseUnit || it.RequestedQuantity.Rat().Cmp(want) != 0 {
		t.Fatalf("SAP got %s %s, want %s %s", it.RequestedQuantity, it.RequestedQuantityUnit, want.FloatString(3), units.BaseUnit)
	}
}

// With maxDequeueCount 1 every delivery is the last: a create whose answer was lost, while SAP's lookups cannot
// see it yet, stays held (the queue sends the work again instead of giving up) and ends in one order.
func TestTheLastDeliveryNeverClearsAHold(t *testing.T) {
	host, err := hostJSONWith(1)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, withHostJSON(host))
	id := w.order(t, sapsim.CustomerID(14), line{sapsim.ProductID(9), "1"})
	w.sap.SetFaults(sapsim.Faults{DropCreateNext: 1, SearchLag: sapsim.Duration(4 * time.Second)})
	if a := w.push(t, `{"salesorderid":"`+id+`"}`, nil); a.Status != http.StatusAccepted {
		t.Fatalf("push: %d %s", a.Status, a.Raw)
	}
	snap, _, err := w.ledgerOf(t).Get(t.Context(), id)
	if err != nil || !snap.Entry.Unresolved() {
		t.Fatalf("the lost create is not held: %+v %v", snap.Entry, err)
	}
	w.exactlyOne(t, id)
	if n := w.app.QueueLength(t, w.queue+"-poison"); n != 0 {
		t.Fatalf("%d messages reached the poison queue", n)
	}
}

// hostJSONWith is the repository's host.json with another queue maxDequeueCount.
func hostJSONWith(maxDequeue int) (string, error) {
	b, err := os.ReadFile("../../host.json")
	if err != nil {
		return "", err
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		return "", err
	}
	h["extensions"].(map[string]any)["queues"].(map[string]any)["maxDequeueCount"] = maxDequeue
	out, err := json.Marshal(h)
	return string(out), err
}

// SAP rejects an order with a 200 KB message: the push records it cut to fit (the entry, the audit row, the 422)
// and the archive holds it whole.
func TestALongSAPMessageIsCutOnTheRecordAndArchivedWhole(t *testing.T) {
	w := newWorld(t)
	long := strings.Repeat("Credit limit exceeded by open item 4711; ", 200_000/41)
	w.sap.SetFaults(sapsim.Faults{RejectCreateNext: 1, RejectCode: "V1/888", RejectMessage: long})
	id := w.order(t, sapsim.CustomerID(15), line{sapsim.ProductID(11), "1"})
	a := w.push(t, `{"salesorderid":"`+id+`"}`, nil)
	if a.Status != http.StatusUnprocessableEntity || len(a.SAPMessages) == 0 || a.SAPMessages[0].Code != "V1/888" {
		t.Fatalf("push: %d %.300s", a.Status, a.Raw)
	}
	if n := len([]rune(a.SAPMessages[0].Message)); n > 1000 || n < 500 {
		t.Fatalf("the answer carries %d characters of SAP's message, want it cut to at most 1000", n)
	}
	acc, err := store.NewAccountFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl, _ := store.NewTable[json.RawMessage](acc, w.table)
	var archived string
	for e, err := range (&audit.Trail{Table: tbl}).List(t.Context(), id) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Outcome == "rejected" {
			archived = e.Archive
		}
	}
	if archived == "" {
		t.Fatal("no audit row of the rejection names an archive")
	}
	var doc struct {
		SAPError struct {
			Code    string
			Message string
		} `json:"sapError"`
	}
	if err := (&audit.Archive{Blobs: acc, Container: w.archive}).Get(t.Context(), archived, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SAPError.Code != "V1/888" || doc.SAPError.Message != long {
		t.Fatalf("the archive holds code %q and %d bytes of the message, want all %d", doc.SAPError.Code, len(doc.SAPError.Message), len(long))
	}
}
