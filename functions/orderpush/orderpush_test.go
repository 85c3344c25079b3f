package orderpush_test

import (
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
)

// Check refuses times whose relations would break exactly-once or make every push wait for the queue.
func TestCheckRefusesTimesThatBreakTheRelations(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *orderpush.Service)
		want   string // "" when the times are sound
	}{
		{"the harness's times", func(*orderpush.Service) {}, ""},
		{"a lease that a create and the margin do not fit", func(s *orderpush.Service) { s.Ledger.Lease = createTimeout + margin + skew },
			"must be at least the remote call's timeout"},
		{"a lease shorter than the request's wait", func(s *orderpush.Service) { s.Ledger.Lease = syncTimeout + margin + 2*skew - time.Second },
			"must outlast a request's wait"},
		{"a commit window shorter than a create", func(s *orderpush.Service) { s.Ledger.CommitWindow = createTimeout - time.Second },
			"the commit window"},
		{"a wait shorter than a create", func(s *orderpush.Service) { s.SyncTimeout = createTimeout - time.Second }, "every push would be queued"},
		// A create starts only when the request still has its whole timeout left, which is never once any time has
		// passed: a wait of exactly one create would queue every push too.
		{"a wait of exactly one create", func(s *orderpush.Service) { s.SyncTimeout = createTimeout }, "every push would be queued"},
		{"a negative skew", func(s *orderpush.Service) { s.Ledger.Skew = -time.Second }, "must not be negative"},
		{"a kind no row key can hold", func(s *orderpush.Service) { s.Ledger.Kind = "sales/order" }, "not usable in a row key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.change)
			err := h.svc.Check()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Check: %v, want %q", err, tt.want)
			}
		})
	}
}

// The relation Check guards, seen from a push: with a wait of exactly one create, nothing is ever created in time.
func TestAWaitOfOneCreateQueuesEveryPush(t *testing.T) {
	h := newHarness(t, func(s *orderpush.Service) { s.SyncTimeout, s.CreateTimeout = time.Second, time.Second })
	res, err := h.push(t, inlineOrder())
	if err != nil || !res.Accepted || len(h.sap.creates()) != 0 {
		t.Errorf("push %+v %v, %d creates: expected to be queued", res, err, len(h.sap.creates()))
	}
}
