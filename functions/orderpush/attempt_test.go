package orderpush_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/uom"
)

var (
	gateway504 = &sap.Error{StatusCode: 504, Message: "Gateway Timeout"}
	reset      = fmt.Errorf("creating sales order: %w: %w", sap.ErrOutcomeUnknown, syscall.ECONNRESET)
)

// An answer lost after SAP committed is usually visible at once: the attempt looks before it gives up.
func TestAnUnknownOutcomeIsLookedUpAtOnce(t *testing.T) {
	for name, lost := range map[string]error{"a 504 from the gateway": gateway504, "a reset after sending": reset} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.sap.CreateSalesOrderFn = h.sap.commitThen(lost)
			code, _, body := h.post(t, inlineOrder(), "")
			if code != 201 || body["sapSalesOrder"] != "4711" {
				t.Fatalf("push %d %v", code, body)
			}
			if n := len(h.sap.creates()); n != 1 {
				t.Errorf("%d creates", n)
			}
			if !contains(h.sap.Calls(), "findByField "+refField+" "+upperID) {
				t.Errorf("calls %v: the lookup goes by the reference", h.sap.Calls())
			}
			if e := h.entry(t, orderID); e.State != ledger.Completed || e.Result != "4711" || e.Unresolved() {
				t.Errorf("entry %+v", e)
			}
			if a := h.audits(t, orderID); len(a) != 1 || a[0].Outcome != "created" {
				t.Errorf("audit %+v", a)
			}
		})
	}
}

// An unknown outcome SAP cannot show yet holds the order: no create until a lookup finds it or the commit window
// has passed with nothing found, and then exactly one.
func TestAnUnknownOutcomeHoldsTheOrderUntilItIsSettled(t *testing.T) {
	tests := []struct {
		name string
		// committed: the lost create did commit in SAP.
		committed bool
		// after is how long after the push the queue resumes; visible whether SAP's lookups show the order then.
		after   time.Duration
		visible bool
		// want: the entry's state after the resume, the creates sent in all, the orders SAP holds.
		state   ledger.State
		creates int
		orders  int
	}{
		{"found during the hold", true, time.Minute, true, ledger.Completed, 1, 1},
		{"still hidden during the hold: held again", true, 5 * time.Minute, false, ledger.Accepted, 1, 1},
		{"committed late, found after the window", true, lease + commitWindow + time.Minute, true, ledger.Completed, 1, 1},
		{"nothing after the window: created once more", false, lease + commitWindow + time.Minute, true, ledger.Completed, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.sap.lag(true)
			if tt.committed {
				h.sap.CreateSalesOrderFn = h.sap.commitThen(gateway504)
			} else {
				h.sap.CreateSalesOrderFn = fails(gateway504)
			}
			code, _, body := h.post(t, inlineOrder(), "")
			if code != 202 || body["state"] != string(orderpush.StateAccepted) {
				t.Fatalf("push %d %v", code, body)
			}
			held := h.entry(t, orderID)
			if held.State != ledger.Accepted || !held.Unresolved() || !held.HoldUntil.Equal(held.SentUntil.Add(commitWindow+skew)) {
				t.Fatalf("entry %+v: accepted, unresolved, held for the commit window", held)
			}
			if m := h.handovers(); len(m) != 1 || m[0].Msg.Action != orderpush.ActionPush {
				t.Errorf("queued %+v", m)
			}
			h.clock.Advance(tt.after)
			h.sap.lag(!tt.visible)
			h.sap.CreateSalesOrderFn = nil
			if err := h.resume(t, orderID, orderpush.ActionPush); err != nil {
				t.Fatal(err)
			}
			e := h.entry(t, orderID)
			if e.State != tt.state || len(h.sap.creates()) != tt.creates || len(h.sap.orders()) != tt.orders {
				t.Fatalf("after the resume: %s, %d creates, %d SAP orders; want %s, %d, %d", e.State, len(h.sap.creates()), len(h.sap.orders()), tt.state, tt.creates, tt.orders)
			}
			if tt.state == ledger.Completed {
				if e.Result != "4711" || e.Unresolved() {
					t.Errorf("entry %+v", e)
				}
				return
			}
			// Held again: the hold is not cleared, and the queue looks again after its backoff, never later than
			// when the hold ends (by the service's clock): each look may settle the unknown create early.
			if !e.Unresolved() || !e.HoldUntil.Equal(held.HoldUntil) {
				t.Errorf("entry %+v, want the same hold as %v", e, held.HoldUntil)
			}
			m := h.handovers()
			left := held.HoldUntil.Sub(h.clock.Now())
			if last := m[len(m)-1]; last.Msg.Retry != e.Retries || last.Delay <= 0 || last.Delay > left {
				t.Errorf("re-queued %+v, want retry %d within the %s the hold has left", last, e.Retries, left)
			}
		})
	}
}

// Answers that prove SAP did nothing clear the intent at once: the queue may create again without waiting for the
// commit window, after the queue's own backoff, or later if SAP asked for it (Retry-After).
func TestProvedNotSentIsQueuedWithoutAHold(t *testing.T) {
	quick := ledger.Backoff{Base: time.Second, Max: time.Minute}
	tests := []struct {
		name        string
		err         error
		least, most time.Duration
	}{
		{"connection refused", fmt.Errorf("dialing SAP: %w: %w", sap.ErrNotSent, syscall.ECONNREFUSED), quick.Base / 2, quick.Base},
		{"throttled with Retry-After", &sap.Error{StatusCode: 429, Message: "Too Many Requests", RetryAfter: 20 * time.Minute}, 20 * time.Minute, 20 * time.Minute},
		{"throttled without", &sap.Error{StatusCode: 429, Message: "Too Many Requests"}, quick.Base / 2, quick.Base},
		{"credentials refused", &sap.Error{StatusCode: 401, Message: "Unauthorized"}, quick.Base / 2, quick.Base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(s *orderpush.Service) { s.Backoff = quick })
			h.sap.CreateSalesOrderFn = fails(tt.err)
			code, _, body := h.post(t, inlineOrder(), "")
			if code != 202 || body["state"] != string(orderpush.StateAccepted) {
				t.Fatalf("push %d %v", code, body)
			}
			e := h.entry(t, orderID)
			if e.State != ledger.Accepted || e.Unresolved() || !e.HoldUntil.IsZero() {
				t.Errorf("entry %+v: nothing may be unresolved", e)
			}
			if contains(h.sap.Calls(), "findByField") {
				t.Errorf("calls %v: nothing to look up after a proved refusal", h.sap.Calls())
			}
			m := h.handovers()
			if len(m) != 1 || m[0].Delay < tt.least || m[0].Delay > tt.most {
				t.Errorf("queued %+v, want one push after %s to %s", m, tt.least, tt.most)
			}
			h.sap.CreateSalesOrderFn = nil
			if err := h.resume(t, orderID, orderpush.ActionPush); err != nil {
				t.Fatal(err)
			}
			if e := h.entry(t, orderID); e.State != ledger.Completed || len(h.sap.orders()) != 1 || len(h.sap.creates()) != 2 {
				t.Errorf("after the resume: %+v, %d SAP orders, %d creates", e, len(h.sap.orders()), len(h.sap.creates()))
			}
		})
	}
}

func TestUnitProblemsFoundInSAP(t *testing.T) {
	t.Run("a unit the material lacks fails the order", func(t *testing.T) {
		h := newHarness(t)
		h.units.ToBaseFn = func(_ context.Context, product, unit, qty string) (uom.Result, error) {
			if product == "TG11" {
				return uom.Result{}, &uom.UnknownUnitError{Product: product, Unit: unit, Units: []string{"PC"}}
			}
			return uom.Result{Quantity: qty, Unit: unit}, nil
		}
		code, _, body := h.post(t, inlineOrder(), "")
		if code != 400 || body["type"] != problem.TypeBase+"invalid" {
			t.Fatalf("push %d %v", code, body)
		}
		e := h.entry(t, orderID)
		if e.State != ledger.Failed || e.Kind != "invalid" || e.Unresolved() || !e.Reported {
			t.Errorf("entry %+v", e)
		}
		if n := len(h.sap.creates()); n != 0 {
			t.Errorf("%d creates", n)
		}
		wb := h.dv.written()
		const reason = "material TG11 has no unit EA in SAP (it has PC)"
		if told, _ := wb[0]["submitstatusdescription"].(string); len(wb) != 1 || !strings.HasPrefix(told, "Not sent to SAP: ") || !strings.Contains(told, reason) {
			t.Errorf("Dynamics was told %v; want the reason %q, which is what someone fixes", wb, reason)
		}
		if a := h.audits(t, orderID); len(a) != 1 || a[0].Outcome != "failed" {
			t.Errorf("audit %+v", a)
		}
		status, _ := h.status(t, orderID)
		if status != 400 {
			t.Errorf("status answers %d, want the push's 400", status)
		}
	})
	// A refusal is SAP's last word on that read (here, a material number SAP cannot take as a key): retrying it
	// would keep the order in the queue for ever.
	t.Run("SAP refusing the units read ends the push", func(t *testing.T) {
		h := newHarness(t)
		h.units.ToBaseFn = func(context.Context, string, string, string) (uom.Result, error) {
			return uom.Result{}, fmt.Errorf("reading units: %w", &sap.Error{StatusCode: 400, Code: "/IWBEP/CM_MGW_RT/020", Message: "Invalid key predicate"})
		}
		code, _, body := h.post(t, inlineOrder(), "")
		if code != 422 || body["type"] != problem.TypeBase+"rejected" {
			t.Fatalf("push %d %v", code, body)
		}
		if e := h.entry(t, orderID); e.State != ledger.Failed || e.Kind != "rejected" || !e.Reported {
			t.Errorf("entry %+v", e)
		}
		if m := h.handovers(); len(m) != 0 || len(h.sap.creates()) != 0 {
			t.Errorf("queued %+v, creates %d", m, len(h.sap.creates()))
		}
	})
	t.Run("SAP unreachable while reading units queues it", func(t *testing.T) {
		h := newHarness(t)
		h.units.ToBaseFn = func(context.Context, string, string, string) (uom.Result, error) {
			return uom.Result{}, fmt.Errorf("reading units: %w", sap.ErrNotSent)
		}
		code, _, body := h.post(t, inlineOrder(), "")
		if code != 202 || body["state"] != string(orderpush.StateAccepted) {
			t.Fatalf("push %d %v", code, body)
		}
		if e := h.entry(t, orderID); e.State != ledger.Accepted || e.Unresolved() || e.Kind != "unavailable" {
			t.Errorf("entry %+v", e)
		}
		if m := h.handovers(); len(m) != 1 || len(h.sap.creates()) != 0 || len(h.dv.written()) != 0 {
			t.Errorf("queued %+v, creates %d, Dynamics %v", m, len(h.sap.creates()), h.dv.written())
		}
	})
}

func TestTheAuditRowTimesTheAttempt(t *testing.T) {
	h := newHarness(t)
	const took = 30 * time.Millisecond
	h.sap.CreateSalesOrderFn = func(_ context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error) {
		time.Sleep(took)
		return h.sap.commit(o), nil
	}
	if _, err := h.push(t, inlineOrder()); err != nil {
		t.Fatal(err)
	}
	a := h.audits(t, orderID)
	if len(a) != 1 || a[0].RemoteMS < took.Milliseconds() || a[0].DurationMS < a[0].RemoteMS {
		t.Errorf("audit %+v: want remoteMs >= %d and durationMs >= remoteMs", a, took.Milliseconds())
	}
}
