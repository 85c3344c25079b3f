package ledger_test

import (
	"testing"

	"github.com/d365sap/d365sap/shared/ledger"
)

// ClaimRequest.Payload "replaces the stored one when not empty (a push again after the data was corrected)". A
// Queue claim of an entry that is already queued answers "already queued" before it looks at the payload: the
// corrected payload is dropped, and the queue later works from the one it replaced.
func TestAQueueClaimOfAQueuedEntryKeepsTheNewPayload(t *testing.T) {
	backends(t, func(t *testing.T, table ledger.Table) {
		l := newLedger(table, newClock().Now)
		ctx := t.Context()
		if _, _, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Payload: "quantity 1", Intent: ledger.Queue}); err != nil {
			t.Fatal(err)
		}
		_, e, err := l.Claim(ctx, ledger.ClaimRequest{Key: "k", Ref: "R", Payload: "quantity 5", Intent: ledger.Queue})
		if err != nil {
			t.Fatal(err)
		}
		snap, _, err := l.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if snap.Entry.Payload != "quantity 5" {
			t.Errorf("a queue claim carrying a corrected payload left the entry (%s) with %q (claim answered %s, %q)",
				snap.Entry.State, snap.Entry.Payload, e.State, e.Payload)
		}
	})
}
