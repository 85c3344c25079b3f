package orderpush

import (
	"strings"
	"testing"
	"time"
)

// Service.Check refuses a request wait of exactly one create ("every push would be queued": the create may start
// only when the request has a whole SAP_TIMEOUT left, and the claim has already used some of it), and a wait it
// does accept lets a push SAP answers at once answer 201, not 202.
func TestEveryTimeSettingCheckAcceptsLetsACleanPushAnswer201(t *testing.T) {
	r := newRig(t)
	r.s.CreateTimeout, r.s.SyncTimeout = 10*time.Second, 10*time.Second
	if err := r.s.Check(); err == nil || !strings.Contains(err.Error(), "every push would be queued") {
		t.Fatalf("Check of a wait equal to one create: %v, want it refused as queueing every push", err)
	}
	r.s.SyncTimeout = 12 * time.Second
	if need := r.s.SyncTimeout + r.s.Ledger.Margin + 2*r.s.Ledger.Skew; r.s.Ledger.Lease < need {
		r.s.Ledger.Lease = need
	}
	if err := r.s.Check(); err != nil {
		t.Fatalf("Check refuses a wait of two seconds more than a create: %v", err)
	}
	res, err := r.s.Push(t.Context(), inline("0c0ffee0-0000-4000-8000-0000000e0001", "17100001", "PO-CHECK", "MAT-1", "1"), false)
	if err != nil || !res.Created {
		t.Errorf("with settings Check accepts (ORDER_PUSH_SYNC_TIMEOUT 12s, SAP_TIMEOUT 10s), a push SAP answers at once is %+v %v", res, err)
	}
}
