package orderpush

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// Claim 9: "Every attempt leaves an audit row ... and its whole story — the order, what was sent, SAP's answer or
// error — gzip-compressed in ARCHIVE_CONTAINER". Only created and rejected attempts are archived: the attempt that
// most needs its story kept — a create SAP answered 500 (or did not answer), whose order may or may not exist —
// and a push that failed before it could be sent leave an audit row naming no archive, and no blob.

func (r *rig) audits(t *testing.T, id string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for e, err := range (audit.Trail{Table: r.table.Table.(*store.MemTable[json.RawMessage])}).List(t.Context(), id) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestEveryAttemptArchivesItsWholeStory(t *testing.T) {
	for i, tc := range []struct {
		outcome string
		setup   func(r *rig)
		want    string // a member the archived document must have
	}{
		{"unknown", func(r *rig) {
			r.sap.answerNext(createAnswer{err: fmt.Errorf("creating SAP sales order: %w", &sap.Error{StatusCode: 500, Message: "Internal Server Error: ABAP runtime error TIME_OUT"})})
		}, "sapPayload"},
		{"failed", func(r *rig) { r.s.Units = fakeUnits{missing: map[string]bool{"MAT-1": true}} }, "error"},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			r := newRig(t)
			tc.setup(r)
			id := fmt.Sprintf("0c0ffee0-0000-4000-8000-0000000d06%02d", i)
			_, _ = r.s.Push(t.Context(), inline(id, "17100001", "PO-ARCH", "MAT-1", "1"), false)
			var found bool
			for _, a := range r.audits(t, id) {
				if a.Outcome != tc.outcome {
					continue
				}
				found = true
				if a.Archive == "" {
					t.Errorf("the %s attempt's audit row names no archive: the order, what was sent and SAP's answer are kept nowhere (error %q)", a.Outcome, a.Error)
					continue
				}
				var doc map[string]any
				if err := r.arch.Get(t.Context(), a.Archive, &doc); err != nil || doc[tc.want] == nil {
					t.Errorf("archive %s of the %s attempt lacks %s: %v %v", a.Archive, a.Outcome, tc.want, doc, err)
				}
			}
			if !found {
				t.Fatalf("no %s audit row: %+v", tc.outcome, r.audits(t, id))
			}
		})
	}
}
