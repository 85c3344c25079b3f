package orderpush

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

// The entry and its audit row are written in one transaction, so anything in the audit row the Table service
// refuses loses the outcome itself. Against Azurite: SAP messages with control characters, invalid UTF-8 and
// characters outside the BMP, a 4 KB invocation id full of characters keys may not hold, and a PO of 35
// multi-byte characters. Every outcome must still be recorded.
func TestHostileTextsStillLeaveARecordedOutcome(t *testing.T) {
	acc := storetest.Account(t)
	tbl, err := store.NewTable[json.RawMessage](acc, storetest.Name(t, "hostile"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := newRig(t, func(r *rig) { r.table.Table = tbl })
	nasty := "Kredit\x00limit \x01\x1f überschritten \xff\xfe 😀𝄞 <script>&amp;" + strings.Repeat("é", 3000)
	inv := strings.Repeat("/\\#?\x00\t😀", 600)
	ctx := trigger.WithInvocation(context.Background(), trigger.Invocation{ID: inv, Function: "orderpush"})

	rejected := "0c0ffee0-0000-4000-8000-000000100001"
	r.sap.answerNext(createAnswer{err: businessError("V1/888", nasty)})
	if _, err := r.s.Push(ctx, inline(rejected, "17100001", strings.Repeat("Ω", 35), "MAT-1", "1"), false); problem.KindOf(err) != problem.Rejected {
		t.Fatalf("push: %v", err)
	}
	if e := r.entry(t, rejected); e.State != ledger.Rejected {
		t.Errorf("the rejection with hostile texts was not recorded: %s", e.State)
	}
	created := "0c0ffee0-0000-4000-8000-000000100002"
	res, err := r.s.Push(ctx, inline(created, "17100001", strings.Repeat("漢", 35), "MAT-1", "1"), false)
	if err != nil || !res.Created {
		t.Fatalf("push: %+v %v", res, err)
	}
	if e := r.entry(t, created); !e.State.Done() {
		t.Errorf("the create under a hostile invocation id was not recorded: %s", e.State)
	}
}
