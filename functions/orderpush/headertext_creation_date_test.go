package orderpush

import (
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
)

// headerText lookups read only orders whose CreationDate is on or after the UTC day before the entry's CreatedAt
// (the first claim). What held: SAP dates an order in its own time zone (anything from UTC-12 to UTC+14), an order
// created just after midnight UTC is dated the day before there, and an order pushed again months after a
// rejection is still found — the bound only ever reaches further back, never past the create.

func TestAHeaderTextLookupFindsALostCreateWhateverDaySAPDatedIt(t *testing.T) {
	for i, tc := range []struct {
		name       string
		firstClaim time.Duration // after the rig's 09:00 UTC start
		sapOffset  time.Duration // SAP's time zone
		ago        time.Duration // a rejection this long before the push again
	}{
		{"SAP at UTC-12", 0, -12 * time.Hour, 0},
		{"just after midnight UTC, SAP at UTC-12", 15*time.Hour + 31*time.Minute, -12 * time.Hour, 0},
		{"just before midnight UTC, SAP at UTC+14", 14*time.Hour + 59*time.Minute, 14 * time.Hour, 0},
		{"pushed again 4 months after a rejection", 0, 2 * time.Hour, 120 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.s.Mapping.Reference = Reference{Mode: RefHeaderText, TextID: "Z001", Language: "EN"}
			r.clock.Advance(tc.firstClaim)
			id := "0c0ffee0-0000-4000-8000-0000000d05" + string(rune('0'+i)) + "0"
			req := inline(id, "17100001", "PO-TZ", "MAT-1", "1")
			if tc.ago > 0 {
				r.sap.answerNext(createAnswer{err: businessError("V1/458", "blocked")})
				_, _ = r.s.Push(t.Context(), req, false)
				if e := r.entry(t, id); e.State != ledger.Rejected {
					t.Fatalf("first push: %s", e.State)
				}
				r.queue.take()
				r.clock.Advance(tc.ago)
			}
			r.sap.store = func(so *sap.SalesOrder) {
				local := r.clock.Now().Add(tc.sapOffset)
				so.CreationDate = sap.Date(local.Year(), local.Month(), local.Day())
			}
			r.sap.answerNext(lostAnswer)
			r.sap.hideNew = true // SAP's search lag: not even the lookup right after the lost answer sees it
			_, _ = r.s.Push(t.Context(), req, false)
			r.sap.reveal()
			r.clock.Advance(rigWindow + rigLease)
			r.drain(t, 20, rigLease)
			if n := r.ordersWithPO("PO-TZ"); n != 1 {
				t.Errorf("SAP holds %d orders for D365 order %s (entry %s)", n, id, r.entry(t, id).State)
			}
		})
	}
}
