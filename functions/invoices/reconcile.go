package invoices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
)

// NotVisibleError is a billing document SAP does not show (yet): a Created event can come before SAP's read side
// shows the document. The caller reads it again later, a bounded number of times.
type NotVisibleError struct{ err *problem.Error }

func (e *NotVisibleError) Error() string { return e.err.Error() }

// Unwrap gives the problem and sap.ErrNotFound, so a caller that bounds SAP's missing documents counts it.
func (e *NotVisibleError) Unwrap() []error { return []error{e.err, sap.ErrNotFound} }

// Reconcile makes D365 show SAP's billing document number: its invoice created, corrected, canceled or marked
// paid, or nothing when the mapping skips it.
func (s *Service) Reconcile(ctx context.Context, number string) error {
	if !s.Mapping.Enabled {
		return nil
	}
	number = sap.NormalizeDocumentNumber(number)
	if err := addressable(number); err != nil {
		return err
	}
	return s.reconcile(ctx, number, false, 0)
}

// reconcile works one document; named says it is the document a cancellation names, and raced counts the times a
// create found the invoice made meanwhile.
func (s *Service) reconcile(ctx context.Context, number string, named bool, raced int) error {
	// D365 first: what SAP says is compared with, and any write fenced by, what D365 showed before SAP was read.
	cur, found, err := s.current(ctx, number)
	if err != nil {
		return err
	}
	b, err := s.SAP.GetBillingDocumentPriced(ctx, number)
	switch {
	case errors.Is(err, sap.ErrNotFound):
		return &NotVisibleError{problem.New(problem.Unavailable, "SAP does not show billing document %s (yet)", number)}
	case err != nil:
		return classify.SAP(err, "reading SAP billing document "+number)
	}
	a, mapped := s.Mapping.actionOf(b)
	switch {
	case a == Cancel && named:
		return problem.New(problem.Invalid, "SAP billing document %s is named by a cancellation but is a cancellation itself", number)
	case a == Cancel:
		target := sap.NormalizeDocumentNumber(b.CancelledBillingDocument)
		if target == "" {
			return problem.New(problem.Invalid, "SAP cancellation document %s names no billing document it cancels", number)
		}
		if err := addressable(target); err != nil {
			return problem.Wrap(problem.Invalid, err, "SAP cancellation document %s", number)
		}
		// The cancelled document says itself that it is cancelled: reconciling it cancels its invoice (creating
		// it first, canceled, when its own event has not been worked yet).
		return s.reconcile(ctx, target, true, 0)
	case a == Skip:
		s.Stats.Skipped.Add(1)
		why := "the invoice mapping skips"
		if !mapped {
			why = "the invoice mapping names neither"
		}
		s.audit(ctx, number, "skipped", fmt.Sprintf("%s type %q and category %q of SAP billing document %s; no invoice", why, b.BillingDocumentType, b.SDDocumentCategory, number))
		return nil
	}
	if found && cur.State == paid && s.wantedState(b) == canceled {
		// SAP cancels a cleared document too (it keeps clearing status C): D365 lets a paid invoice be canceled,
		// and that state change is the one write a closed invoice gets. Fenced like any other.
		if err := s.changeset(ctx, number, []dataverse.Op{dataverse.UpdateOp("invoices", dataverse.ID(cur.ID), canceled.fields(), cur.ETag)}, false); err != nil {
			return err
		}
		s.Stats.Canceled.Add(1)
		s.audit(ctx, number, "canceled", "the paid D365 invoice of SAP billing document "+number+" canceled, as SAP cancelled the document")
		return nil
	}
	if found && cur.State != active {
		// Paid or canceled is read-only in D365, and final here: nothing SAP changes afterwards is written.
		if cur.State != s.wantedState(b) || b.LastChangeDateTime.After(cur.Changed) {
			s.Stats.Closed.Add(1)
			s.audit(ctx, number, "closed", fmt.Sprintf("the D365 invoice of SAP billing document %s is %s; SAP's later state (%s, changed %s) is not written",
				number, cur.State, s.wantedState(b), b.LastChangeDateTime.UTC().Format(time.RFC3339)))
		} else {
			s.Stats.Unchanged.Add(1)
		}
		return nil
	}
	if found && !b.LastChangeDateTime.IsZero() && b.LastChangeDateTime.Before(cur.Changed) {
		// SAP answered with an older state than the one D365 shows (a read served before a later change landed).
		s.Stats.Stale.Add(1)
		return nil
	}
	if found && cur.Changed.Equal(b.LastChangeDateTime.Time) && cur.State == s.wantedState(b) && !b.LastChangeDateTime.IsZero() {
		// Written from this very state of SAP's already (a duplicate event): no read of products, no write.
		s.Stats.Unchanged.Add(1)
		return nil
	}
	want, ok, err := s.build(ctx, b, a)
	if err != nil || !ok {
		return err
	}
	if !found {
		err := s.create(ctx, number, want)
		var dup *existsError
		if errors.As(err, &dup) && raced < 2 {
			// Another instance (or an earlier try whose answer was lost) created it: compare with what it wrote.
			return s.reconcile(ctx, number, named, raced+1)
		}
		return err
	}
	return s.update(ctx, number, cur, want)
}

// existsError is a create that found the invoice there already.
type existsError struct{ err error }

func (e *existsError) Error() string { return e.err.Error() }
func (e *existsError) Unwrap() error { return e.err }

// create writes the invoice and its lines in one changeset, the header by a create-only upsert on the billing
// number: D365 refuses a second one, and a failure leaves nothing behind.
func (s *Service) create(ctx context.Context, number string, want invoice) error {
	m := s.Mapping
	places, _ := s.pricingPrecision(ctx)
	key := dataverse.AltKey(m.KeyColumn, number)
	header := want.header(m)
	ops := []dataverse.Op{dataverse.UpsertOp("invoices", key, header, dataverse.CreateOnly)}
	ref := "/invoices(" + m.KeyColumn + "='" + number + "')"
	for _, l := range want.Lines {
		r := l.record(places)
		r["invoiceid@odata.bind"] = ref
		ops = append(ops, dataverse.CreateOp("invoicedetails", r))
	}
	if want.State != active {
		ops = append(ops, dataverse.UpdateOp("invoices", key, want.State.fields(), "*"))
	}
	if err := s.changeset(ctx, number, ops, true); err != nil {
		return err
	}
	s.Stats.Created.Add(1)
	s.counted(want.State)
	s.audit(ctx, number, "created", fmt.Sprintf("D365 invoice created for SAP billing document %s with %d lines (%s)", number, len(want.Lines), want.State))
	return nil
}

// update rewrites what differs of an active invoice, fenced by the ETag read before SAP was: if anyone wrote
// the invoice since, nothing lands and the work is tried again.
func (s *Service) update(ctx context.Context, number string, cur, want invoice) error {
	m := s.Mapping
	places, _ := s.pricingPrecision(ctx)
	header := dataverse.Record{}
	if !want.Changed.IsZero() {
		header[m.ChangedColumn] = stampText(want.Changed)
	}
	changed := false
	for c, v := range want.Columns {
		if fmt.Sprint(cur.Columns[c]) != fmt.Sprint(v) {
			header[c], changed = v, true
		}
	}
	for nav, id := range want.Binds {
		if cur.Binds[nav] != id {
			header[nav+"@odata.bind"], changed = "/"+lookups[nav].set+"("+id+")", true
		}
	}
	ops := []dataverse.Op{dataverse.UpdateOp("invoices", dataverse.ID(cur.ID), header, cur.ETag)}
	have := map[int]line{}
	for _, l := range cur.Lines {
		have[l.Item] = l
	}
	ref := "/invoices(" + cur.ID + ")"
	for _, l := range want.Lines {
		got, ok := have[l.Item]
		delete(have, l.Item)
		switch {
		case !ok:
			r := l.record(places)
			r["invoiceid@odata.bind"] = ref
			ops = append(ops, dataverse.CreateOp("invoicedetails", r))
		case l.Product != got.Product || l.Unit != got.Unit:
			// Another product, unit or a write-in instead: a lookup is not cleared by a PATCH, so the line is
			// made again.
			r := l.record(places)
			r["invoiceid@odata.bind"] = ref
			ops = append(ops, dataverse.DeleteOp("invoicedetails", dataverse.ID(got.ID)), dataverse.CreateOp("invoicedetails", r))
		case !l.same(got):
			ops = append(ops, dataverse.UpdateOp("invoicedetails", dataverse.ID(got.ID), l.record(places), "*"))
		}
	}
	for _, l := range have {
		ops = append(ops, dataverse.DeleteOp("invoicedetails", dataverse.ID(l.ID)))
	}
	if len(ops) > 1 {
		changed = true
	}
	if want.State != cur.State {
		ops = append(ops, dataverse.UpdateOp("invoices", dataverse.ID(cur.ID), want.State.fields(), "*"))
	}
	if !changed && want.State == cur.State && cur.Changed.Equal(want.Changed) {
		s.Stats.Unchanged.Add(1)
		return nil
	}
	if err := s.changeset(ctx, number, ops, false); err != nil {
		return err
	}
	if changed {
		s.Stats.Corrected.Add(1)
	}
	s.counted(want.State)
	what := "corrected"
	if !changed {
		what = "stamped"
	}
	s.audit(ctx, number, what, fmt.Sprintf("D365 invoice %s of SAP billing document %s %s (%s)", cur.ID, number, what, want.State))
	return nil
}

func (s *Service) counted(st state) {
	switch st {
	case canceled:
		s.Stats.Canceled.Add(1)
	case paid:
		s.Stats.Paid.Add(1)
	}
}

// header is the invoice row as created (the key column is in the URL, never in the body).
func (i invoice) header(m Mapping) dataverse.Record {
	r := dataverse.Record{}
	if !i.Changed.IsZero() {
		// No stamp is no column: Dataverse takes no date before 1753, and year 1 is what a zero time would be.
		r[m.ChangedColumn] = stampText(i.Changed)
	}
	for c, v := range i.Columns {
		r[c] = v
	}
	for nav, id := range i.Binds {
		r[nav+"@odata.bind"] = "/" + lookups[nav].set + "(" + id + ")"
	}
	return r
}

// changeset sends ops atomically and says what their failure means: a create that met the key taken is an
// existsError, a fenced write that met a newer ETag is tried again, a refusal is permanent.
func (s *Service) changeset(ctx context.Context, number string, ops []dataverse.Op, creating bool) error {
	if len(ops) > dataverse.MaxBatchOperations {
		return problem.New(problem.Invalid, "the D365 invoice of SAP billing document %s needs %d operations; one changeset holds %d",
			number, len(ops), dataverse.MaxBatchOperations)
	}
	b := (&dataverse.Batch{}).ChangeSet(ops...)
	results, err := s.Dataverse.ExecuteBatch(ctx, b, nil)
	if err != nil {
		return classify.Dataverse(err, "writing the D365 invoice of SAP billing document "+number)
	}
	for i, r := range results {
		if r.Err == nil || errors.Is(r.Err, dataverse.ErrRolledBack) || errors.Is(r.Err, dataverse.ErrNotRun) {
			continue
		}
		switch {
		case i == 0 && creating && dataverse.IsKind(r.Err, dataverse.KindDuplicate):
			return &existsError{r.Err}
		case i == 0 && dataverse.IsKind(r.Err, dataverse.KindConcurrency):
			return &problem.Error{Kind: problem.Unavailable, Detail: "the D365 invoice of SAP billing document " + number + " changed since it was read", RetryAfter: time.Second, Err: r.Err}
		case dataverse.IsKind(r.Err, dataverse.KindNotFound) && i > 0:
			// A product or unit bound by a line was deleted since it was read (or a line since it was read): the
			// retry reads them again, and makes the line a write-in if the product is gone.
			return &problem.Error{Kind: problem.Unavailable, Detail: "a line of the D365 invoice of SAP billing document " + number + " is gone since it was read", RetryAfter: time.Second, Err: r.Err}
		}
		return classify.Dataverse(r.Err, fmt.Sprintf("writing the D365 invoice of SAP billing document %s (operation %d of %d)", number, i+1, len(results)))
	}
	return nil
}

// pricingPrecision is the organization's pricing precision, read once.
func (s *Service) pricingPrecision(ctx context.Context) (int, error) {
	if s.PricingPrecision > 0 {
		return s.PricingPrecision, nil
	}
	if p := s.precision.Load(); p > 0 {
		return int(p - 1), nil
	}
	for rec, err := range s.Dataverse.List(ctx, "organizations", &dataverse.Query{Select: []string{"pricingdecimalprecision"}}) {
		if err != nil {
			return 0, classify.Dataverse(err, "reading the organization's pricing precision")
		}
		p, perr := rec.Number("pricingdecimalprecision").Int64()
		if perr != nil || p < 0 || p > 10 {
			p = 2
		}
		s.precision.Store(int32(p + 1))
		return int(p), nil
	}
	s.precision.Store(3)
	return 2, nil
}

// stampText is SAP's change time as the invoice keeps it: text to the 100 ns SAP gives, since a date-and-time
// column keeps whole seconds and two states within one second would compare equal.
func stampText(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// addressable refuses a billing number no alternate key can name in a URL (and so no request could ever write):
// permanent, where the client's own refusal would look like an outage and be retried forever.
func addressable(number string) error {
	switch {
	case number == "":
		return problem.New(problem.Invalid, "no billing document number")
	case len(number) > 10 || strings.ContainsAny(number, "/<>*%&:\\?+'#\"") || strings.IndexFunc(number, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0:
		return problem.New(problem.Invalid, "billing document number %q is not one SAP writes (10 printable characters, none of / < > * %% & : \\ ? + ' # \")", number)
	}
	return nil
}
