package orderpush

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/d365sap/d365sap/shared/problem"
)

// "GET /api/orders/{salesorderid} answers as the push itself would have, so a flow using the asynchronous
// pattern fails (and its run after → has failed branch runs) exactly when a synchronous push would have", and the
// README tells flows to read a 400's body/errors to fix the data.

const statusID = "0c0ffee0-0000-4000-8000-00000000d001"

func statusOf(t *testing.T, r *rig, id string) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api/orders/"+id, nil)
	req.SetPathValue("salesorderid", id)
	ServeStatus(rec, req, r.s.Ledger, "")
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	return rec.Code, body
}

// A unit the material does not have in SAP: the synchronous push answers 400 naming lines/0/unit in errors[];
// the status of the same push answers 400 without errors[], so the flow's "fix the data (body/errors)" branch has
// nothing to show.
func TestTheStatusOfAFailedPushNamesTheFieldsThePushNamed(t *testing.T) {
	r := newRig(t, func(r *rig) { r.s.Units = fakeUnits{missing: map[string]bool{"MAT-NOUNIT": true}} })
	_, err := r.s.Push(t.Context(), inline(statusID, "17100001", "PO-UNIT-1", "MAT-NOUNIT", "2"), false)
	var pe *problem.Error
	if !errors.As(err, &pe) || pe.Kind != problem.Invalid || len(pe.Fields) == 0 {
		t.Fatalf("the push: %v", err)
	}
	code, body := statusOf(t, r, statusID)
	if code != http.StatusBadRequest {
		t.Fatalf("status: %d %v", code, body)
	}
	if errs, _ := body["errors"].([]any); len(errs) != len(pe.Fields) {
		t.Errorf("the push answered 400 with errors %v; its status answers 400 with errors %v", pe.Fields, body["errors"])
	}
}

// Held: SAP's rejection reads the same both ways (422 with SAP's code in sapMessages).
func TestTheStatusOfARejectedPushCarriesSAPsMessagesAsThePushDid(t *testing.T) {
	r := newRig(t)
	r.sap.answerNext(createAnswer{err: businessError("V1/320", "Sold-to party 99999999 does not exist")})
	_, err := r.s.Push(t.Context(), inline(statusID, "99999999", "PO-REJ-2", "MAT-1", "1"), false)
	if problem.KindOf(err) != problem.Rejected {
		t.Fatalf("push: %v", err)
	}
	code, body := statusOf(t, r, statusID)
	msgs, _ := body["sapMessages"].([]any)
	if code != http.StatusUnprocessableEntity || len(msgs) == 0 || msgs[0].(map[string]any)["code"] != "V1/320" {
		t.Fatalf("status: %d %v", code, body)
	}
}
