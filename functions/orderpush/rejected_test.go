package orderpush_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/uom"
)

// soldToUnknown is SAP's business error for a sold-to party it does not know.
func soldToUnknown() *sap.Error {
	return &sap.Error{StatusCode: 400, Code: "V1/320", Message: "Sold-to party 17100001 not defined for sales area 1010/10/00",
		Details: []sap.ErrorDetail{
			{Code: "V1/320", Message: "Sold-to party 17100001 not defined for sales area 1010/10/00", Severity: "error"},
			{Code: "V4/219", Message: "Sales document was not changed", Severity: "error"},
		}}
}

func TestARejectionIs422AndDynamicsIsTold(t *testing.T) {
	h := newHarness(t)
	h.svc.Mapping.WriteBack.SAPMessageColumn = "new_sapmessage"
	h.sap.CreateSalesOrderFn = fails(soldToUnknown())
	code, _, body := h.post(t, inlineOrder(), "")
	if code != 422 || body["type"] != problem.TypeBase+"rejected" {
		t.Fatalf("push %d %v", code, body)
	}
	msgs, _ := body["sapMessages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["code"] != "V1/320" || msgs[1].(map[string]any)["code"] != "V4/219" {
		t.Errorf("sapMessages %v", body["sapMessages"])
	}
	const first = "V1/320 Sold-to party 17100001 not defined for sales area 1010/10/00"
	wb := h.dv.written()
	if len(wb) != 1 || wb[0]["submitstatusdescription"] != "Rejected by SAP: "+first || wb[0]["new_sapmessage"] != first {
		t.Errorf("Dynamics was told %v", wb)
	}
	e := h.entry(t, orderID)
	if e.State != ledger.Rejected || !e.Reported || e.Unresolved() || e.Kind != "rejected" ||
		!strings.Contains(e.Messages, "V4/219") || !strings.Contains(e.LastError, "SAP rejected it") {
		t.Errorf("entry %+v", e)
	}
	a := h.audits(t, orderID)
	if len(a) != 1 || a[0].Outcome != "rejected" || !strings.Contains(a[0].Messages, "V1/320") {
		t.Fatalf("audit %+v", a)
	}
	if se, _ := h.arch.doc(a[0].Archive)["sapError"].(map[string]any); se["Code"] != "V1/320" {
		t.Errorf("archive %v", h.arch.doc(a[0].Archive))
	}
	if status, st := h.status(t, orderID); status != 422 || st["state"] != string(orderpush.StateRejected) || st["sapMessages"] == nil {
		t.Errorf("status %d %v", status, st)
	}
	if m := h.handovers(); len(m) != 0 {
		t.Errorf("queued %+v: nothing is owed", m)
	}
}

// An end Dynamics could not be told is queued to be told again, worded as the first try, and told only once.
func TestAnEndDynamicsMissedIsReportedFromTheQueue(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		state ledger.State
		told  string
	}{
		{"rejected", func(h *harness) { h.sap.CreateSalesOrderFn = fails(soldToUnknown()) }, ledger.Rejected,
			"Rejected by SAP: V1/320 Sold-to party 17100001 not defined for sales area 1010/10/00"},
		{"failed", func(h *harness) {
			h.units.ToBaseFn = func(_ context.Context, product, unit, _ string) (uom.Result, error) {
				return uom.Result{}, &uom.UnknownUnitError{Product: product, Unit: unit, Units: []string{"PC"}}
			}
		}, ledger.Failed, "Not sent to SAP: the order cannot be mapped to SAP: 2 problem(s); lines/0/unit: material TG11 has no unit EA in SAP (it has PC); lines/1/unit: material TG12 has no unit KG in SAP (it has PC)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tt.setup(h)
			h.dv.UpdateFn = dvDown
			if code, _, _ := h.post(t, inlineOrder(), "respond-async"); code != 202 {
				t.Fatalf("async push %d", code)
			}
			if err := h.resume(t, orderID, orderpush.ActionPush); err != nil {
				t.Fatalf("the queue's attempt: %v", err)
			}
			if e := h.entry(t, orderID); e.State != tt.state || e.Reported {
				t.Fatalf("entry %+v, want %s and not reported", e, tt.state)
			}
			m := h.handovers()
			if last := m[len(m)-1]; last.Msg.Action != orderpush.ActionReport || last.Delay < backoff.Base/2 || last.Delay > backoff.Base {
				t.Fatalf("queued %+v, want a report after the first backoff", m)
			}
			h.dv.UpdateFn = nil
			if err := h.resume(t, orderID, orderpush.ActionReport); err != nil {
				t.Fatal(err)
			}
			wb := h.dv.written()
			if len(wb) != 2 || wb[0]["submitstatusdescription"] != tt.told || wb[1]["submitstatusdescription"] != tt.told {
				t.Errorf("Dynamics was told %v, want %q both times", wb, tt.told)
			}
			if e := h.entry(t, orderID); !e.Reported || e.State != tt.state {
				t.Errorf("entry %+v", e)
			}
			if err := h.resume(t, orderID, orderpush.ActionReport); err != nil || len(h.dv.written()) != 2 {
				t.Errorf("a second report: %v, %d writes", err, len(h.dv.written()))
			}
			if n := len(h.sap.creates()); n > 1 {
				t.Errorf("%d creates", n)
			}
		})
	}
}

// A Table property holds 64 KiB (32,768 UTF-16 code units); the whole answer belongs in the archive.
func TestAHugeSAPMessageIsCutToFitButArchivedWhole(t *testing.T) {
	h := newHarness(t)
	huge := strings.Repeat("Ä", 200_000)
	se := &sap.Error{StatusCode: 400, Code: "V1/320", Message: huge}
	for range 30 {
		se.Details = append(se.Details, sap.ErrorDetail{Code: "V1/999", Message: huge, Severity: "error"})
	}
	h.sap.CreateSalesOrderFn = fails(se)
	code, _, body := h.post(t, inlineOrder(), "")
	if code != 422 || len(body["detail"].(string)) > 10_000 {
		t.Fatalf("push %d, detail of %d bytes", code, len(body["detail"].(string)))
	}
	e := h.entry(t, orderID)
	var kept []json.RawMessage
	if e.State != ledger.Rejected || json.Unmarshal([]byte(e.Messages), &kept) != nil || len(kept) == 0 || len(kept) > 31 {
		t.Fatalf("entry %s with %d messages kept: %.200s", e.State, len(kept), e.Messages)
	}
	if n := units16(e.Messages); n > 16<<10 {
		t.Errorf("the entry keeps %d code units of messages", n)
	}
	if n := units16(e.LastError); n > 4<<10 {
		t.Errorf("the entry keeps %d code units of error", n)
	}
	rows := h.auditRows(t, orderID)
	if len(rows) != 1 {
		t.Fatalf("%d audit rows", len(rows))
	}
	var props map[string]any
	if err := json.Unmarshal(rows[0].Value, &props); err != nil {
		t.Fatal(err)
	}
	for k, v := range props {
		if s, ok := v.(string); ok && units16(s) > 32<<10 {
			t.Errorf("audit property %s holds %d code units", k, units16(s))
		}
	}
	a := h.audits(t, orderID)[0]
	if !a.Truncated {
		t.Errorf("the audit row does not say it was cut")
	}
	whole := h.arch.doc(a.Archive)
	if got, _ := whole["sapError"].(map[string]any)["Message"].(string); got != huge {
		t.Errorf("the archive keeps %d of %d characters of SAP's message", len([]rune(got)), len([]rune(huge)))
	}
	if told, _ := h.dv.written()[0]["submitstatusdescription"].(string); len([]rune(told)) > 2000 {
		t.Errorf("Dynamics was told %d characters; its column holds 2,000", len([]rune(told)))
	}
}

func units16(s string) int { return len(utf16.Encode([]rune(s))) }
