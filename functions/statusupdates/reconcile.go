package statusupdates

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/sapevent"
	"github.com/d365sap/d365sap/shared/store"
)

// Version is the row that says what of an SAP order Dynamics shows already.
type Version struct {
	// Applied fingerprints the values (and closing) last written; Changed is SAP's change time of that state.
	Applied string    `json:"applied,omitempty"`
	Changed time.Time `json:"changed,omitzero"`
	// Closed says the D365 order is closed (fulfilled, canceled, or closed in D365 itself): nothing more is written.
	Closed string `json:"closed,omitempty"`
	// Claim fingerprints the state an instance is writing since ClaimedAt; others keep off until it lapses.
	Claim     string    `json:"claim,omitempty"`
	ClaimedAt time.Time `json:"claimedAt,omitzero"`
	// Order is the D365 order, for operators reading the row.
	Order string `json:"order,omitempty"`
}

const versionRow = "version"

// linkGrace is how long after an event was raised an order without a link row is taken for one whose push has not
// written its link yet, rather than one D365 never pushed.
const linkGrace = 2 * time.Minute

// reconcile makes the D365 order of one SAP order show SAP's state. The version row is read before SAP is, and
// claimed with the ETag of that read: a state read from SAP is written only if nobody applied or claimed a
// change between the two reads, so a slow reader cannot write an older state over a newer one.
func (s *Service) reconcile(ctx context.Context, number string, ref sapevent.Ref, env envelope) error {
	key := orderKey(number)
	// The link and the version are independent point reads: read together, an event waits for one round trip
	// to storage instead of two. The version read is wasted only for an order D365 never pushed.
	var (
		row    store.Row[Version]
		rowErr error
		read   sync.WaitGroup
	)
	read.Go(func() { row, rowErr = s.Versions.Get(ctx, key, versionRow) })
	link, found, err := s.Links.FindLink(ctx, number)
	read.Wait()
	if err != nil {
		return err
	}
	if !found {
		// The age comes from the sender's stamp, so it is also bounded by the reads: a stamp in the future (SAP's
		// local time sent as UTC, a skewed clock) would otherwise keep the event young for as long as it is ahead.
		if !ref.Raised.IsZero() && s.now().Sub(ref.Raised) < linkGrace && env.Missing < maxMissing {
			// The push writes the link just after SAP answers its create (and retries a failed write seconds
			// later): a young event may come first, so it is read again, a bounded number of times.
			return &missingError{problem.New(problem.Unavailable, "SAP order %s has no link to a D365 order (yet)", number)}
		}
		// D365 never pushed this order: nothing there to update, and nothing a retry could change.
		s.Stats.NotLinked.Add(1)
		s.audit(ctx, key, "not-linked", number, "SAP order "+number+" was not pushed from Dynamics 365; "+ref.Operation+" skipped")
		return nil
	}
	exists := rowErr == nil
	if rowErr != nil && !errors.Is(rowErr, store.ErrNotFound) {
		return classify.Storage(rowErr, "reading the version of SAP order "+number)
	}
	v := row.Value
	switch {
	case v.Closed != "":
		// Closed: a late event (even a Changed after the Deleted that canceled it) has nothing left to do.
		s.Stats.Stale.Add(1)
		return nil
	case v.Claim != "" && s.now().Sub(v.ClaimedAt) < s.claimLease():
		// Another instance (or this message's own earlier try) is writing: look again once its claim lapses.
		// Never acknowledged on the claim alone, since the claimant may fail.
		return &problem.Error{Kind: problem.Unavailable, Detail: "another instance is updating the order of SAP order " + number,
			RetryAfter: s.claimLease() - s.now().Sub(v.ClaimedAt)}
	}
	t, err := s.targetFromSAP(ctx, number, ref, env)
	if err != nil || t == nil {
		return err
	}
	fp := t.fingerprint()
	switch {
	case v.Applied == fp:
		s.Stats.Unchanged.Add(1)
		return nil
	case !t.Changed.IsZero() && t.Changed.Before(v.Changed):
		// SAP answered with a state older than the one applied (a read served before a later change landed).
		s.Stats.Stale.Add(1)
		return nil
	}
	// Claim the row with the ETag read before SAP was: if anyone applied or claimed since, this fails.
	claimed := v
	claimedAt := s.now()
	claimed.Claim, claimed.ClaimedAt, claimed.Order = fp, claimedAt, link.Key
	row.PartitionKey, row.RowKey, row.Value = key, versionRow, claimed
	var etag azcore.ETag
	if exists {
		etag, err = s.Versions.Update(ctx, row)
	} else {
		etag, err = s.Versions.Insert(ctx, row)
	}
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return &problem.Error{Kind: problem.Unavailable, Detail: "the version of SAP order " + number + " changed meanwhile", RetryAfter: time.Second}
		}
		return classify.Storage(err, "claiming the version of SAP order "+number)
	}
	row.ETag = etag
	// renew takes the claim again just before the order is closed, so the close has a whole lease to itself
	// and is never sent by an instance whose claim another has taken over.
	renew := func() (time.Time, error) {
		at := s.now()
		next := row
		next.Value.ClaimedAt = at
		etag, err := s.Versions.Update(ctx, next)
		if err != nil {
			if errors.Is(err, store.ErrConflict) {
				return time.Time{}, &problem.Error{Kind: problem.Unavailable, Detail: "the claim on SAP order " + number + " was taken over before the close", RetryAfter: time.Second}
			}
			return time.Time{}, classify.Storage(err, "renewing the claim on SAP order "+number)
		}
		row.ETag, row.Value.ClaimedAt = etag, at
		return at, nil
	}
	closed, err := s.apply(ctx, link.Key, number, t, claimedAt, renew)
	if err != nil {
		// Give the claim back, so the retry (or another instance) need not wait for it to lapse.
		row.Value = v
		if _, rerr := s.Versions.Update(ctx, row); rerr != nil && !errors.Is(rerr, store.ErrConflict) {
			s.log().WarnContext(ctx, "releasing the claim failed; it lapses", "sap_order", number, "err", rerr)
		}
		return err
	}
	done := claimed
	done.Applied, done.Changed, done.Claim, done.ClaimedAt, done.Closed = fp, t.Changed, "", time.Time{}, closed
	row.Value = done
	// The audit entry is written beside the version, not after it: neither decides anything about the other.
	var story sync.WaitGroup
	story.Go(func() { s.audit(ctx, link.Key, "status", number, "SAP order "+number+": "+describe(t, closed)) })
	if _, err := s.Versions.Update(ctx, row); err != nil && !errors.Is(err, store.ErrConflict) {
		// D365 shows the state; the next event finds it applied by its values (one repeated write at most).
		s.log().WarnContext(ctx, "recording the applied version failed", "sap_order", number, "err", err)
	}
	story.Wait()
	if closed != "" {
		s.Stats.Closed.Add(1)
	}
	s.Stats.Applied.Add(1)
	return nil
}

// targetFromSAP re-reads the order (and its deliveries and billing documents when the mapping needs them). A nil
// target with a nil error means there is nothing to do.
func (s *Service) targetFromSAP(ctx context.Context, number string, ref sapevent.Ref, env envelope) (*target, error) {
	o, err := s.SAP.GetSalesOrderFlow(ctx, number)
	switch {
	case errors.Is(err, sap.ErrNotFound) && ref.Object == sapevent.SalesOrder && ref.Operation == "Deleted":
		// SAP confirms the Deleted event: the order is gone, so the D365 order is canceled.
		return &target{Values: dataverse.Record{}, Close: cancel, Changed: ref.Raised}, nil
	case errors.Is(err, sap.ErrNotFound):
		// Never cancel on a 404 alone: the order may not be visible to the API user, or not yet.
		return nil, s.missing(ctx, sapevent.Ref{Object: sapevent.SalesOrder, Number: number, Operation: "Read"}, env, err)
	case err != nil:
		return nil, classify.SAP(err, "reading SAP order "+number)
	}
	var deliveries []sap.OutboundDelivery
	var bills []sap.BillingDocument
	for _, f := range o.Subsequent.Results {
		n := sap.NormalizeDocumentNumber(f.SubsequentDocument)
		switch {
		case f.SubsequentDocumentCategory == "J" && s.Mapping.readsDeliveries():
			d, err := s.SAP.GetOutboundDelivery(ctx, n)
			if errors.Is(err, sap.ErrNotFound) {
				continue // deleted since the flow was read
			}
			if err != nil {
				return nil, classify.SAP(err, "reading SAP delivery "+n)
			}
			deliveries = append(deliveries, d)
		case billingCategories[f.SubsequentDocumentCategory] && s.Mapping.readsBilling():
			b, err := s.SAP.GetBillingDocument(ctx, n)
			if errors.Is(err, sap.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, classify.SAP(err, "reading SAP billing document "+n)
			}
			b.SDDocumentCategory = f.SubsequentDocumentCategory
			bills = append(bills, b)
		}
	}
	t := s.Mapping.targetOf(o, deliveries, bills)
	return &t, nil
}

// billingCategories are the SD document categories of billing documents that count toward what was billed:
// invoices and debit memos add, credit memos take away; cancellations (N, S) only mark what they cancel, which
// the cancelled document says itself (BillingDocumentIsCancelled).
var billingCategories = map[string]bool{"M": true, "O": true, "P": true}

// apply writes the values while the order is open, then closes it if SAP is done. It returns how the order
// ended up closed ("" while open). The write is fenced: the order's ETag is read while the claim is young, and
// the PATCH carries it, so a write delayed past the claim (when another instance may have written a newer state)
// fails with 412 instead of landing.
func (s *Service) apply(ctx context.Context, id, number string, t *target, claimedAt time.Time, renew func() (time.Time, error)) (string, error) {
	rec, err := s.Dataverse.Retrieve(ctx, "salesorders", dataverse.ID(id), &dataverse.RetrieveOptions{Select: []string{"statecode"}})
	switch {
	case dataverse.IsKind(err, dataverse.KindNotFound):
		s.audit(ctx, id, "gone", number, "the D365 order no longer exists; SAP order "+number+" is not followed further")
		return "deleted-in-d365", nil
	case err != nil:
		return "", classify.Dataverse(err, "reading D365 order "+id)
	}
	if st := rec.Number("statecode").String(); st != "0" && st != "1" {
		// Closed in D365 (by a user, or by an earlier run that stopped before recording it): read-only now.
		return "closed-in-d365", nil
	}
	if s.now().Sub(claimedAt) >= s.claimLease() {
		return "", &problem.Error{Kind: problem.Unavailable, Detail: "the claim on SAP order " + number + " lapsed before the write", RetryAfter: time.Second}
	}
	if len(t.Values) > 0 {
		_, err := s.Dataverse.Update(ctx, "salesorders", dataverse.ID(id), t.Values, &dataverse.UpdateOptions{ETag: rec.ETag()})
		switch {
		case dataverse.IsKind(err, dataverse.KindNotFound):
			return "deleted-in-d365", nil
		case dataverse.IsKind(err, dataverse.KindConcurrency):
			return "", &problem.Error{Kind: problem.Unavailable, Detail: "D365 order " + id + " changed since it was read", RetryAfter: time.Second}
		case dataverse.IsKind(err, dataverse.KindBadRequest):
			// A closed order is read-only: closed since it was read.
			state, rerr := s.orderState(ctx, id)
			if rerr != nil {
				return "", classify.Dataverse(rerr, "reading the state of D365 order "+id)
			}
			if state != "0" && state != "1" {
				return "closed-in-d365", nil
			}
			return "", classify.Dataverse(err, "writing SAP's state of order "+number+" to D365 order "+id)
		case err != nil:
			return "", classify.Dataverse(err, "writing SAP's state of order "+number+" to D365 order "+id)
		}
	}
	bind := "/salesorders(" + id + ")"
	if t.Close == stayOpen {
		return "", nil
	}
	// A close cannot be fenced by the order's ETag (the actions take none), and no later write can undo it: it
	// is sent under a freshly renewed claim, and given up (client side) before that claim lapses, so another
	// instance that applies a newer state once the lease is over never has this close land after it. What the
	// server does with a request it already holds when the client gives up is beyond this; the margin is for it.
	renewedAt, err := renew()
	if err != nil {
		return "", err
	}
	lease := s.claimLease()
	cctx, cancelClose := context.WithTimeout(ctx, lease-lease/4-s.now().Sub(renewedAt))
	defer cancelClose()
	switch t.Close {
	case fulfil:
		_, err = s.Dataverse.Action(cctx, "FulfillSalesOrder", map[string]any{
			"OrderClose": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.orderclose",
				"subject": "SAP order " + number + " delivered in full", "salesorderid@odata.bind": bind},
			"Status": 100001,
		}, &dataverse.ActionOptions{Set: "salesorders"})
	case cancel:
		_, err = s.Dataverse.Action(cctx, "CancelSalesOrder", map[string]any{
			"OrderClose": map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.orderclose",
				"subject": "SAP order " + number + " rejected or deleted in SAP", "salesorderid@odata.bind": bind},
			"Status": 4,
		}, nil)
	}
	if dataverse.IsKind(err, dataverse.KindBadRequest) {
		state, rerr := s.orderState(ctx, id)
		if rerr != nil {
			return "", classify.Dataverse(rerr, "reading the state of D365 order "+id)
		}
		if state != "0" && state != "1" {
			return "closed-in-d365", nil
		}
	}
	if err != nil {
		return "", classify.Dataverse(err, "closing D365 order "+id)
	}
	return t.Close.String(), nil
}

// orderState reads the D365 order's statecode.
func (s *Service) orderState(ctx context.Context, id string) (string, error) {
	rec, err := s.Dataverse.Retrieve(ctx, "salesorders", dataverse.ID(id), &dataverse.RetrieveOptions{Select: []string{"statecode"}})
	if err != nil {
		return "", err
	}
	return rec.Number("statecode").String(), nil
}

func describe(t *target, closed string) string {
	var b strings.Builder
	b.WriteString("statuses written")
	if closed != "" {
		b.WriteString("; order closed (" + closed + ")")
	}
	return b.String()
}
