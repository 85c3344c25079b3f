package orderpush

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
)

// Claim 10: "The first such answer stops every further create ... until the mapping matches SAP and the app is
// restarted." The breaker is one atomic in one Service: a process's memory. Other instances of the app (the
// Consumption and Premium plans scale out; every deploy, scale-in and platform recycle is a restart) never hear of
// it, and while it is tripped the ledger goes on treating lookups by that reference as proof.

const refField = "YY1_D365OrderID_SDH"

// cutTo32 is SAP whose custom field was created with 32 characters while the mapping says 36: ABAP cuts on
// assignment, and the 201 echoes what was stored.
func cutTo32(so *sap.SalesOrder) {
	if v := so.Extensions[refField]; len(v) > 32 {
		so.Extensions = map[string]string{refField: v[:32]}
	}
}

// instance is another instance of the app on the same storage, SAP and Dataverse (another worker, or this one
// after a restart): its own Service, its own memory.
func (r *rig) instance() *Service {
	s := r.s
	return &Service{SAP: s.SAP, Dataverse: s.Dataverse, Units: s.Units, Ledger: s.Ledger, Queue: s.Queue, Archive: s.Archive,
		Audit: s.Audit, Mapping: s.Mapping, QueueName: s.QueueName, SyncTimeout: s.SyncTimeout, CreateTimeout: s.CreateTimeout,
		Backoff: s.Backoff, SweepGrace: s.SweepGrace, Now: s.Now, Log: s.Log}
}

// drainWith delivers every queued message to s, round after round, advancing the clock by step before each.
func (r *rig) drainWith(t *testing.T, s *Service, rounds int, step time.Duration) {
	t.Helper()
	for range rounds {
		msgs := r.queue.take()
		if len(msgs) == 0 {
			return
		}
		r.clock.Advance(step)
		for _, q := range msgs {
			_ = s.Resume(t.Context(), q.m)
		}
	}
}

func (r *rig) ordersWithPO(po string) int {
	r.sap.mu.Lock()
	defer r.sap.mu.Unlock()
	n := 0
	for _, o := range r.sap.orders {
		if o.PurchaseOrderByCustomer == po {
			n++
		}
	}
	return n
}

var lostAnswer = createAnswer{commit: true, err: fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, context.DeadlineExceeded)}

func TestAReferenceBreakerTrippedOnOneInstanceStopsCreatesOnTheOthers(t *testing.T) {
	r := newRig(t)
	r.sap.store = cutTo32
	a, b := r.s, r.instance()
	// Instance A sees the first 201 and trips.
	if res, err := a.Push(t.Context(), inline("0c0ffee0-0000-4000-8000-0000000b0001", "17100001", "PO-BRK-1", "MAT-1", "1"), false); err != nil || !res.Created {
		t.Fatalf("first push: %+v %v", res, err)
	}
	if a.breaker(t.Context()) == nil {
		t.Fatal("instance A did not trip")
	}
	// Instance B never saw a 201 (it trips only on its own first one): its create commits, the answer is lost; the
	// lookups by the whole reference miss the order SAP stored with the cut one, and once the commit window has
	// passed B creates it again — and only that second create's 201 trips B.
	r.sap.answerNext(lostAnswer)
	req := inline("0c0ffee0-0000-4000-8000-0000000b0003", "17100001", "PO-BRK-3", "MAT-1", "1")
	_, _ = b.Push(t.Context(), req, false)
	r.clock.Advance(rigWindow + rigLease)
	r.drainWith(t, b, 20, rigLease)
	if n := r.ordersWithPO("PO-BRK-3"); n > 1 {
		t.Errorf("instance A had stopped creates (SAP stores the reference cut to 32 characters), yet instance B created "+
			"D365 order %s %d times in SAP (entry %s)", req.SalesOrderID, n, r.entry(t, req.SalesOrderID).State)
	}
}

// While the breaker is tripped the lookups by the reference are known to miss, yet the ledger still takes "nothing
// found after the commit window" as proof that the earlier create did not happen: it clears the create's intent
// (only the breaker's own check stands between the order and a second create). The restart the breaker asks for —
// after the field is lengthened in SAP — then creates the order a second time: the lost create's order holds the
// cut reference, which no lookup by the whole one finds.
func TestAnOrderUnresolvedWhenTheBreakerTrippedIsNotCreatedAgainAfterTheRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fixed bool
	}{
		{"the field lengthened in SAP, as the error asks", true},
		{"a platform recycle, nothing fixed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.sap.store = cutTo32
			lost := inline("0c0ffee0-0000-4000-8000-0000000b0011", "17100001", "PO-BRK-11", "MAT-1", "1")
			r.sap.answerNext(lostAnswer)
			_, _ = r.s.Push(t.Context(), lost, false)
			if res, err := r.s.Push(t.Context(), inline("0c0ffee0-0000-4000-8000-0000000b0012", "17100001", "PO-BRK-12", "MAT-1", "1"), false); err != nil || !res.Created {
				t.Fatalf("second push: %+v %v", res, err)
			}
			if r.s.breaker(t.Context()) == nil {
				t.Fatal("the breaker did not trip")
			}
			// The queue works the lost create while creates are stopped, past the commit window.
			r.clock.Advance(rigWindow + rigLease)
			r.drainWith(t, r.s, 10, rigLease)
			e := r.entry(t, lost.SalesOrderID)
			if !e.Unresolved() {
				t.Errorf("with the breaker tripped (lookups by this reference cannot find SAP's orders) the ledger recorded the lost create of %s "+
					"as proven absent: state %s, intent cleared", lost.SalesOrderID, e.State)
			}
			if tc.fixed {
				r.sap.store = nil
			}
			restarted := r.instance()
			for range 5 {
				_, _ = restarted.Push(t.Context(), lost, false) // the flow, or the queue, pushes it again
				r.drainWith(t, restarted, 10, rigLease)
				r.clock.Advance(rigWindow)
			}
			if n := r.ordersWithPO("PO-BRK-11"); n > 1 {
				t.Errorf("after the restart, D365 order %s is in SAP %d times (entry %s)", lost.SalesOrderID, n, r.entry(t, lost.SalesOrderID).State)
			}
		})
	}
}

// What held: answers that do show the reference as sent — in another case, or without the field at all, or (in
// headerText mode) without to_Text — do not trip the breaker.
func TestTheReferenceBreakerDoesNotTripOnLegitimateEchoes(t *testing.T) {
	for i, tc := range []struct {
		name  string
		ref   *Reference
		store func(*sap.SalesOrder)
	}{
		{"field echoed in lower case", nil, func(so *sap.SalesOrder) {
			so.Extensions = map[string]string{refField: strings.ToLower(so.Extensions[refField])}
		}},
		{"field not echoed", nil, func(so *sap.SalesOrder) { so.Extensions = nil }},
		{"texts not echoed", &Reference{Mode: RefHeaderText, TextID: "Z001", Language: "EN"}, func(so *sap.SalesOrder) { so.Texts.Results = nil }},
		{"text echoed in another case", &Reference{Mode: RefHeaderText, TextID: "Z001", Language: "EN"}, func(so *sap.SalesOrder) {
			for j := range so.Texts.Results {
				so.Texts.Results[j].LongText = strings.ToLower(so.Texts.Results[j].LongText)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			if tc.ref != nil {
				r.s.Mapping.Reference = *tc.ref
			}
			r.sap.store = tc.store
			for j := range 2 {
				id := fmt.Sprintf("0c0ffee0-0000-4000-8000-0000000b%02d%02d", 20+i, j)
				if res, err := r.s.Push(t.Context(), inline(id, "17100001", "PO-ECHO", "MAT-1", "1"), false); err != nil || !res.Created {
					t.Fatalf("push %d: %+v %v", j, res, err)
				}
			}
			if p := r.s.breaker(t.Context()); p != nil {
				t.Errorf("tripped: %v", p)
			}
		})
	}
	_ = ledger.Completed
}
