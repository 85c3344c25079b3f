package orderpush

import (
	"testing"
	"time"
)

// Service.Check refuses a request wait shorter than one create ("every push would be queued"), but a wait equal
// to it passes, and with it every push is queued just the same: the create may start only when the request has a
// whole SAP_TIMEOUT left, and the claim has already used some of it.
func TestEveryTimeSettingCheckAcceptsLetsACleanPushAnswer201(t *testing.T) {
	r := newRig(t)
	r.s.CreateTimeout, r.s.SyncTimeout = 10*time.Second, 10*time.Second
	if err := r.s.Check(); err != nil {
		t.Skipf("refused at start-up, as it should be: %v", err)
	}
	res, err := r.s.Push(t.Context(), inline("0c0ffee0-0000-4000-8000-0000000e0001", "17100001", "PO-CHECK", "MAT-1", "1"), false)
	if err != nil || !res.Created {
		t.Errorf("settings Check accepts (ORDER_PUSH_SYNC_TIMEOUT = SAP_TIMEOUT = 10s): a push SAP answers at once is %+v %v", res, err)
	}
}
