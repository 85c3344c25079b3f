package orderpush

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// What each SAP answer to a create proves. Answers that may follow a commit must keep the create unresolved
// (no 422, no second create inside the commit window, whatever the caller and the queue do); only answers that
// prove SAP did nothing may let a second create go out. These pin the table in shared/classify as the push uses it.

func TestSAPAnswersThatMayFollowACommitNeverLetASecondCreateOut(t *testing.T) {
	cases := []struct {
		name string
		err  error
	}{
		{"500 with an SAP business-error body", fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 500, Code: "V1/320", Message: "Sold-to party does not exist"})},
		{"502 HTML page of the Web Dispatcher", fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 502, Message: "502 Bad Gateway"})},
		{"504 HTML page of the Application Gateway", fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 504, Message: "504 Gateway Time-out"})},
		{"201 whose body broke off", fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, errors.New("unexpected EOF"))},
		{"201 without a SalesOrder number", errors.New("creating SAP sales order: the answer has no SalesOrder number")},
		{"a timeout after sending", fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, context.DeadlineExceeded)},
		{"a reset after sending", fmt.Errorf("creating SAP sales order: %w: %w", sap.ErrOutcomeUnknown, errors.New("read: connection reset by peer"))},
		{"a 3xx redirect", fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 302, Message: "Found"})},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			id := fmt.Sprintf("0c0ffee0-0000-4000-8000-0000000a%04d", i)
			r.sap.hideNew = true // the committed order is not visible to lookups yet
			r.sap.answerNext(createAnswer{commit: true, err: tc.err})
			req := inline(id, "17100001", "PO-PROOF", "MAT-1", "1")
			res, err := r.s.Push(t.Context(), req, false)
			if problem.KindOf(err) == problem.Rejected || !res.Accepted {
				t.Fatalf("the push answered %+v %v; it must be queued (202)", res, err)
			}
			if e := r.entry(t, id); !e.Unresolved() {
				t.Fatalf("the create is no longer unresolved: %+v", e)
			}
			// The caller retries and the queue works, through most of the commit window.
			for range 8 {
				r.clock.Advance(rigWindow / 10)
				_, _ = r.s.Push(t.Context(), req, false)
				r.drain(t, 3, 0)
			}
			if n := r.sap.createCount(); n != 1 {
				t.Fatalf("%d creates inside the commit window", n)
			}
			r.sap.reveal()
			r.clock.Advance(rigWindow)
			r.drain(t, 10, rigLease)
			_, _ = r.s.Push(t.Context(), req, false)
			if got := len(r.sap.ours(id)); got != 1 || r.sap.createCount() != 1 {
				t.Fatalf("SAP holds %d orders after %d creates", got, r.sap.createCount())
			}
			if e := r.entry(t, id); !e.State.Done() {
				t.Fatalf("the push ended %s", e.State)
			}
		})
	}
}

func TestSAPAnswersThatProveNothingWasCreatedLetThePushGoOn(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		rejected bool
	}{
		{"400 business error", businessError("V1/320", "Sold-to party does not exist"), true},
		{"400 from a proxy without a code", fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 400, Message: "Bad Request"}), false},
		{"403 CSRF token required", fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 403, CSRFRequired: true, Message: "CSRF token validation failed"}), false},
		{"429", fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 429, RetryAfter: 3 * time.Second}), false},
		{"connection refused", fmt.Errorf("creating SAP sales order: %w: dial tcp: connection refused", sap.ErrNotSent), false},
		{"CSRF fetch answered 503", fmt.Errorf("creating SAP sales order: %w: fetching CSRF token: %w", sap.ErrNotSent, &sap.Error{StatusCode: 503}), false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			id := fmt.Sprintf("0c0ffee0-0000-4000-8000-0000000b%04d", i)
			r.sap.answerNext(createAnswer{err: tc.err})
			res, err := r.s.Push(t.Context(), inline(id, "17100001", "PO-NOTHING", "MAT-1", "1"), false)
			if tc.rejected != (problem.KindOf(err) == problem.Rejected) {
				t.Fatalf("rejected: want %v, got %+v %v", tc.rejected, res, err)
			}
			if e := r.entry(t, id); e.Unresolved() {
				t.Fatalf("a create SAP provably did not run is still unresolved: %+v", e)
			}
			if tc.rejected {
				return
			}
			r.drain(t, 5, rigLease)
			if got := len(r.sap.ours(id)); got != 1 {
				t.Fatalf("SAP holds %d orders", got)
			}
		})
	}
}
