package orderpush

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
)

// Column limits of the write-back (salesorder.submitstatusdescription is a 2,000-character memo); a custom
// SAP message column is assumed to hold as much.
const maxStatusText = 2000

// writeBackCreated tells Dynamics the SAP number and the submit status, in the mapping's columns.
func (s *Service) writeBackCreated(ctx context.Context, id, number string) error {
	wb := s.Mapping.WriteBack
	now := s.now().Format(time.RFC3339)
	rec := dataverse.Record{}
	set := func(col string, v any) {
		if col != "" {
			rec[col] = v
		}
	}
	set(wb.SAPNumberColumn, number)
	set(wb.StatusDescriptionColumn, fmt.Sprintf("Created in SAP as sales order %s", number))
	set(wb.SubmitDateColumn, now)
	set(wb.LastBackOfficeSubmitColumn, now)
	if wb.SAPMessageColumn != "" {
		rec[wb.SAPMessageColumn] = ""
	}
	return s.updateOrder(ctx, id, rec)
}

// writeBackEnd tells Dynamics that the push ended without an SAP order: a readable status, and SAP's first
// message when the mapping has a column for it. An order deleted in Dynamics meanwhile has nobody to tell.
func (s *Service) writeBackEnd(ctx context.Context, id, status, sapMessage string) error {
	wb := s.Mapping.WriteBack
	rec := dataverse.Record{}
	if wb.StatusDescriptionColumn != "" {
		rec[wb.StatusDescriptionColumn] = cutRunes(status, maxStatusText)
	}
	if wb.SAPMessageColumn != "" {
		rec[wb.SAPMessageColumn] = cutRunes(sapMessage, maxStatusText)
	}
	if len(rec) == 0 {
		return nil
	}
	err := s.updateOrder(ctx, id, rec)
	if problem.KindOf(err) == problem.NotFound {
		return nil
	}
	return err
}

func (s *Service) updateOrder(ctx context.Context, id string, rec dataverse.Record) error {
	if _, err := s.Dataverse.Update(ctx, "salesorders", dataverse.ID(id), rec, nil); err != nil {
		return classify.Dataverse(err, "writing the push's outcome back to order "+id)
	}
	return nil
}

// finishFollowUp completes an order SAP has but Dynamics does not know of yet (state created): the link row,
// the write-back, then the entry. Never touches SAP.
func (s *Service) finishFollowUp(ctx context.Context, id string) error {
	snap, found, err := s.Ledger.Get(ctx, id)
	if err != nil {
		return err
	}
	if !found || !(snap.Entry.State == ledger.Created || snap.Entry.State == ledger.Completed && !snap.Entry.Reported) {
		return nil
	}
	number := snap.Entry.Result
	if err := s.Ledger.PutLink(ctx, number, id); err != nil {
		return err
	}
	if err := s.writeBackCreated(ctx, id, number); err != nil {
		return err
	}
	_, err = s.Ledger.Update(ctx, snap, func(e *ledger.Entry) {
		e.State, e.Reported, e.CompletedAt, e.NextAttempt = ledger.Completed, true, s.now(), time.Time{}
		e.LastError, e.Kind = "", ""
	})
	if err != nil && !isLost(err) {
		// Dynamics has the number; writing it again later is harmless.
		return err
	}
	return nil
}

// reportEnd tells Dynamics again how an ended push ended, when the first try failed.
func (s *Service) reportEnd(ctx context.Context, snap ledger.Snapshot) error {
	e := snap.Entry
	var err error
	if e.State == ledger.Rejected {
		first := ""
		if m := messagesOf(e); len(m) > 0 {
			first = m[0].Code + " " + m[0].Message
		}
		err = s.writeBackEnd(ctx, snap.Key(), "Rejected by SAP: "+first, first)
	} else {
		err = s.writeBackEnd(ctx, snap.Key(), notSentText(e.LastError, e.Kind), "")
	}
	return err
}

// notSentText tells Dynamics why a push ended before reaching SAP: the problem with every field's reason (which
// is what someone has to fix), worded alike on the first try and on a retry from the stored entry. lastError is
// the cause's Error(), kind its problem kind's name.
func notSentText(lastError, kind string) string {
	return "Not sent to SAP: " + strings.TrimPrefix(lastError, kind+": ")
}

func cutRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}
