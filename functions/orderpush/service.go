// Package orderpush turns a Dynamics 365 sales order into exactly one SAP sales order.
//
// Exactly once rests on two things. An idempotency record per D365 order in Table Storage, created with a
// create-only insert and changed only under its ETag, elects one owner among concurrent pushes of the same order;
// the others wait for its outcome and answer the same SAP number. And before any create, the owner looks the order
// up in SAP by PurchaseOrderByCustomer and SoldToParty, so an attempt whose answer was lost after SAP committed
// (or whose owner died) never leads to a second order. An attempt owns the order only until its lease ends, and its
// calls to SAP end before that.
package orderpush

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
)

// SAP is what the push needs of SAP.
type SAP interface {
	CreateSalesOrder(ctx context.Context, o sap.SalesOrderCreate) (sap.SalesOrder, error)
	FindSalesOrders(ctx context.Context, purchaseOrderByCustomer, soldToParty string) ([]sap.SalesOrder, error)
}

// Dataverse is what the push needs of Dataverse.
type Dataverse interface {
	Retrieve(ctx context.Context, set string, key dataverse.Key, o *dataverse.RetrieveOptions) (dataverse.Record, error)
	Update(ctx context.Context, set string, key dataverse.Key, rec dataverse.Record, o *dataverse.UpdateOptions) (dataverse.Written, error)
}

// Records holds the idempotency records.
type Records interface {
	Insert(ctx context.Context, row store.Row[Record]) (azcore.ETag, error)
	Get(ctx context.Context, partitionKey, rowKey string) (store.Row[Record], error)
	Update(ctx context.Context, row store.Row[Record]) (azcore.ETag, error)
}

// AuditLog keeps one entry per attempt.
type AuditLog interface {
	Insert(ctx context.Context, row store.Row[AuditEntry]) (azcore.ETag, error)
}

// Blobs archives payloads.
type Blobs interface {
	PutBlob(ctx context.Context, container, name string, data []byte, opts *store.BlobOptions) (azcore.ETag, error)
	GetBlob(ctx context.Context, container, name string) (store.Blob, error)
}

// Queue completes pushes later.
type Queue interface {
	Enqueue(ctx context.Context, queue string, body []byte, opts *store.EnqueueOptions) (string, error)
}

// Service pushes orders. main builds it with concrete clients.
type Service struct {
	SAP       SAP
	Dataverse Dataverse
	Records   Records
	Audit     AuditLog
	Blobs     Blobs
	Queue     Queue
	Mapping   *Mapping

	QueueName        string
	ArchiveContainer string
	// SyncTimeout is how long a request waits for SAP, or for a concurrent push of the same order, before it
	// answers 202 and leaves the rest to the queue.
	SyncTimeout time.Duration
	// Lease is how long an attempt owns an order. It must outlast any one SAP call (SAP_TIMEOUT), so that an
	// attempt never loses the order while its create may still be in flight.
	Lease time.Duration
	// RetryDelay hides a queued completion long enough for an abandoned create to have ended at SAP, so the
	// lookup that precedes the next create sees it.
	RetryDelay time.Duration
	Now        func() time.Time
	Log        *slog.Logger
	// Ready, when set, makes sure the storage the push writes to exists; called before each push.
	Ready func(ctx context.Context) error
}

func (s *Service) ready(ctx context.Context) error {
	if s.Ready == nil {
		return nil
	}
	if err := s.Ready(ctx); err != nil {
		return problem.Wrap(problem.Unavailable, err, "preparing storage")
	}
	return nil
}

// Result is the outcome of a push.
type Result struct {
	SalesOrderID  string
	SAPSalesOrder string
	State         State
	// Created: this call created the SAP order (201); otherwise a replay (200) or accepted (202).
	Created  bool
	Accepted bool
	// WriteBackPending: the SAP order exists but Dynamics does not know yet; the queue finishes it.
	WriteBackPending bool
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func invocationID(ctx context.Context) string {
	if inv, ok := trigger.InvocationFrom(ctx); ok && inv.ID != "" {
		return inv.ID
	}
	return fmt.Sprintf("local-%d", rand.Int64())
}

// Push handles POST /api/orders. async asks for 202 at once (Prefer: respond-async).
func (s *Service) Push(ctx context.Context, req Request, async bool) (Result, error) {
	id := req.SalesOrderID
	res := Result{SalesOrderID: id}
	if err := s.ready(ctx); err != nil {
		return res, err
	}
	existing, found, err := s.getRecord(ctx, id)
	if err != nil {
		return res, err
	}
	if found && existing.Value.State.Done() {
		// A replay: answer what the first push got, finishing its write-back if that is still owed.
		return s.replay(ctx, existing)
	}

	var dvTime time.Duration
	order := req.Order
	if order == nil {
		t0 := time.Now()
		order, err = s.loadOrder(ctx, id)
		dvTime = time.Since(t0)
		if err != nil {
			return res, err
		}
	}
	po := purchaseOrderFor(order)
	if found && existing.Value.PurchaseOrder != "" {
		po = existing.Value.PurchaseOrder // the duplicate check must use the reference of the first attempt
	}
	payload, err := s.Mapping.Map(order, po)
	if err != nil {
		return res, err
	}
	blob, err := s.archive(ctx, id, "request", map[string]any{"order": order, "sapPayload": payload})
	if err != nil {
		return res, err
	}

	if async {
		return s.accept(ctx, id, po, payload.SoldToParty, blob)
	}
	row, owned, err := s.claim(ctx, id, po, payload.SoldToParty, blob, StateInProgress)
	if err != nil {
		return res, err
	}
	if !owned {
		return s.waitFor(ctx, id)
	}
	// A safety net: should this instance die mid-attempt, the queue takes the order over once the lease has
	// passed (and finds it done, in the usual case, and drops the message).
	if err := s.enqueue(ctx, id, ActionPush, s.Lease+5*time.Second); err != nil {
		s.Log.WarnContext(ctx, "no safety-net message queued; a retry of the request will finish the push", "salesorderid", id, "err", err)
	}
	sctx, cancel := context.WithTimeout(ctx, s.SyncTimeout)
	defer cancel()
	return s.attempt(sctx, ctx, row, payload, "http", dvTime)
}

func (s *Service) getRecord(ctx context.Context, id string) (store.Row[Record], bool, error) {
	row, err := s.Records.Get(ctx, id, recordKey)
	switch {
	case err == nil:
		return row, true, nil
	case errors.Is(err, store.ErrNotFound):
		return row, false, nil
	default:
		return row, false, problem.Wrap(problem.Unavailable, err, "reading the push record of order %s", id)
	}
}

// purchaseOrderFor picks the reference SAP stores in PurchaseOrderByCustomer. It must be unique per D365 order:
// it is the key of the duplicate check. The customer's PO number when given, else the D365 order number, else
// one derived from the order id.
func purchaseOrderFor(o *Order) string {
	switch {
	case strings.TrimSpace(o.PurchaseOrderNumber) != "":
		return strings.TrimSpace(o.PurchaseOrderNumber)
	case strings.TrimSpace(o.OrderNumber) != "":
		return strings.TrimSpace(o.OrderNumber)
	default:
		return "D365-" + strings.ReplaceAll(o.SalesOrderID, "-", "")[:30]
	}
}

// claim makes this call the owner of the order: a create-only insert of a fresh record, or an ETag-guarded
// takeover of a record nobody owns (accepted, failed, rejected, or in progress past its lease). owned is false
// when another attempt holds it.
func (s *Service) claim(ctx context.Context, id, po, soldTo, blob string, state State) (store.Row[Record], bool, error) {
	now := s.now()
	inv := invocationID(ctx)
	lease := time.Time{}
	if state == StateInProgress {
		lease = now.Add(s.Lease)
	}
	row := store.Row[Record]{PartitionKey: id, RowKey: recordKey, Value: Record{
		State: state, PurchaseOrder: po, SoldTo: soldTo, Attempts: 1, Owner: inv, LeaseUntil: lease,
		RequestBlob: blob, CreatedAt: now, UpdatedAt: now,
	}}
	for try := 0; try < 5; try++ {
		etag, err := s.Records.Insert(ctx, row)
		if err == nil {
			row.ETag = etag
			return row, true, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return row, false, problem.Wrap(problem.Unavailable, err, "recording the push of order %s", id)
		}
		cur, found, err := s.getRecord(ctx, id)
		if err != nil {
			return row, false, err
		}
		if !found {
			continue // deleted between insert and read: insert again
		}
		v := cur.Value
		// Done, or held: by a running attempt, or while a create whose answer was lost may still be running at SAP.
		if v.State.Done() || now.Before(v.LeaseUntil) {
			return cur, false, nil
		}
		if v.State == StateAccepted && state == StateAccepted {
			return cur, false, nil // already queued
		}
		// Take it over: nobody owns it. Keep the first attempt's reference for the duplicate check.
		v.State, v.Owner, v.LeaseUntil = state, inv, lease
		v.Attempts++
		v.UpdatedAt = now
		if blob != "" {
			v.RequestBlob = blob
		}
		if v.PurchaseOrder == "" {
			v.PurchaseOrder = po
		}
		if soldTo != "" && soldTo != v.SoldTo {
			// The customer changed (corrected after a rejection): remember the old one, so the duplicate check
			// still looks under every sold-to party a create may have been sent with.
			if v.SoldTo != "" {
				v.PriorSoldTo = strings.Trim(v.PriorSoldTo+","+v.SoldTo, ",")
			}
			v.SoldTo = soldTo
		}
		cur.Value = v
		etag, err = s.Records.Update(ctx, cur)
		if err == nil {
			cur.ETag = etag
			return cur, true, nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return cur, false, problem.Wrap(problem.Unavailable, err, "taking over the push of order %s", id)
		}
		// Someone else changed it first: look again.
	}
	return row, false, problem.New(problem.Conflict, "order %s is being pushed by another request; poll its status", id)
}

// waitFor waits, within the sync timeout, for the attempt that owns the order, and answers its outcome.
func (s *Service) waitFor(ctx context.Context, id string) (Result, error) {
	deadline := time.Now().Add(s.SyncTimeout)
	delay := 50 * time.Millisecond
	for {
		cur, found, err := s.getRecord(ctx, id)
		if err != nil {
			return Result{SalesOrderID: id}, err
		}
		if found {
			v := cur.Value
			switch {
			case v.State.Done():
				return s.replay(ctx, cur)
			case v.State == StateRejected:
				return Result{SalesOrderID: id, State: v.State}, s.rejection(id, v)
			case v.State == StateFailed:
				return Result{SalesOrderID: id, State: v.State}, &problem.Error{Kind: problem.Unavailable, RetryAfter: 10 * time.Second,
					Detail: fmt.Sprintf("the concurrent push of order %s failed: %s; push it again", id, v.LastError)}
			case v.State == StateAccepted:
				return Result{SalesOrderID: id, State: v.State, Accepted: true}, nil
			}
		}
		if time.Now().Add(delay).After(deadline) {
			return Result{SalesOrderID: id, State: StateInProgress}, &problem.Error{Kind: problem.Conflict, RetryAfter: 5 * time.Second,
				Detail: fmt.Sprintf("order %s is being pushed by another request right now; poll its status", id)}
		}
		select {
		case <-ctx.Done():
			return Result{SalesOrderID: id}, problem.Wrap(problem.Timeout, ctx.Err(), "waiting for the concurrent push of order %s", id)
		case <-time.After(delay + time.Duration(rand.Int64N(int64(delay)))):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

func (s *Service) rejection(id string, v Record) error {
	msgs := v.messages()
	return &problem.Error{Kind: problem.Rejected, Detail: fmt.Sprintf("SAP rejected order %s: %s", id, v.LastError),
		Extra: map[string]any{"sapMessages": msgs}}
}

// replay answers a push of an order that SAP already has, finishing the write-back when it is owed.
func (s *Service) replay(ctx context.Context, row store.Row[Record]) (Result, error) {
	res := Result{SalesOrderID: row.PartitionKey, SAPSalesOrder: row.Value.SAPSalesOrder, State: row.Value.State}
	if row.Value.State == StateCreated {
		if err := s.writeBack(ctx, row); err != nil {
			s.Log.WarnContext(ctx, "write-back still pending; queued", "salesorderid", row.PartitionKey, "err", err)
			res.WriteBackPending = true
			if qerr := s.enqueue(ctx, row.PartitionKey, ActionWriteBack, 5*time.Second); qerr != nil {
				s.Log.ErrorContext(ctx, "write-back not queued; the next push will try it", "salesorderid", row.PartitionKey, "err", qerr)
			}
		} else {
			res.State = StateWrittenBack
		}
	}
	return res, nil
}

// accept queues the push (Prefer: respond-async).
func (s *Service) accept(ctx context.Context, id, po, soldTo, blob string) (Result, error) {
	row, owned, err := s.claim(ctx, id, po, soldTo, blob, StateAccepted)
	if err != nil {
		return Result{SalesOrderID: id}, err
	}
	if !owned {
		if row.Value.State.Done() {
			return s.replay(ctx, row)
		}
		if row.Value.State == StateFailed {
			// Held after a lost create whose hand-over to the queue failed: queue it now, for when the hold ends.
			if err := s.enqueue(ctx, id, ActionPush, row.Value.LeaseUntil.Sub(s.now())+2*time.Second); err != nil {
				return Result{SalesOrderID: id}, err
			}
		}
		return Result{SalesOrderID: id, State: row.Value.State, Accepted: true}, nil
	}
	if err := s.enqueue(ctx, id, ActionPush, 0); err != nil {
		// Not queued: give the order back so a retry of this request can claim it again.
		row.Value.State, row.Value.LastError = StateFailed, "queueing the push failed"
		_, _ = s.Records.Update(ctx, row)
		return Result{SalesOrderID: id}, err
	}
	return Result{SalesOrderID: id, State: StateAccepted, Accepted: true}, nil
}

func (s *Service) enqueue(ctx context.Context, id, action string, delay time.Duration) error {
	b, _ := json.Marshal(QueueMessage{SalesOrderID: id, Action: action})
	if _, err := s.Queue.Enqueue(ctx, s.QueueName, b, &store.EnqueueOptions{VisibilityDelay: delay}); err != nil {
		return problem.Wrap(problem.Unavailable, err, "queueing %s of order %s", action, id)
	}
	return nil
}

// errOutcomeUnknown: the create may or may not have reached SAP, and the lookup could not tell yet.
var errOutcomeUnknown = errors.New("the SAP create's outcome is unknown")

// attempt runs one owned attempt: lookup, create if absent, record, write back. sapCtx bounds the SAP calls
// (the sync timeout on the HTTP path); ctx is the invocation's own context, for the bookkeeping that must happen
// whatever SAP did.
func (s *Service) attempt(sapCtx, ctx context.Context, row store.Row[Record], payload sap.SalesOrderCreate, via string, dvTime time.Duration) (Result, error) {
	id := row.PartitionKey
	start := time.Now()
	entry := AuditEntry{InvocationID: invocationID(ctx), Trigger: via, Attempt: row.Value.Attempts,
		PurchaseOrder: row.Value.PurchaseOrder, SoldTo: row.Value.SoldTo, DataverseMS: dvTime.Milliseconds(),
		ArchivePrefix: row.Value.RequestBlob, At: s.now()}
	defer func() {
		entry.DurationMS = time.Since(start).Milliseconds()
		s.audit(ctx, id, entry)
	}()

	t0 := time.Now()
	number, created, err := s.findOrCreate(sapCtx, ctx, id, row.Value, payload)
	entry.SAPMS = time.Since(t0).Milliseconds()
	if err != nil {
		entry.Outcome, entry.Error = "failed", err.Error()
		return s.failAttempt(ctx, row, err, via, &entry)
	}
	entry.SAPSalesOrder = number
	entry.Outcome = "found"
	if created {
		entry.Outcome = "created"
	}
	// Tell Dynamics first, then record the outcome once: one storage round trip fewer. Safe in either order:
	// should the record not be written, the next attempt's lookup finds the SAP order and writes back again.
	res := Result{SalesOrderID: id, SAPSalesOrder: number, State: StateWrittenBack, Created: created}
	wbErr := s.writeBackDataverse(ctx, id, number)
	row.Value.State, row.Value.WriteBackDone = StateWrittenBack, true
	if wbErr != nil {
		s.Log.WarnContext(ctx, "write-back failed; queued", "salesorderid", id, "err", wbErr)
		row.Value.State, row.Value.WriteBackDone, res.State, res.WriteBackPending = StateCreated, false, StateCreated, true
	}
	held := row.Value.LeaseUntil
	row.Value.SAPSalesOrder, row.Value.LastError, row.Value.SAPMessages = number, "", ""
	row.Value.LeaseUntil, row.Value.UpdatedAt, row.Value.CompletedAt = time.Time{}, s.now(), s.now()
	if _, err := s.Records.Update(ctx, row); err != nil {
		// SAP has the order; the record could not say so. The next attempt's lookup finds the order, so nothing
		// is created twice; queue that attempt (after this attempt's lease) rather than lose the number.
		s.Log.WarnContext(ctx, "recording the SAP number failed; queued", "salesorderid", id, "err", err)
		_ = s.enqueue(ctx, id, ActionPush, max(held.Sub(s.now()), 0)+2*time.Second)
		return res, nil
	}
	if wbErr != nil {
		if qerr := s.enqueue(ctx, id, ActionWriteBack, 5*time.Second); qerr != nil {
			s.Log.ErrorContext(ctx, "write-back not queued; the next push will try it", "salesorderid", id, "err", qerr)
		}
	}
	return res, nil
}

// findOrCreate looks the order up in SAP and creates it only when SAP does not have it.
func (s *Service) findOrCreate(sapCtx, ctx context.Context, id string, rec Record, payload sap.SalesOrderCreate) (string, bool, error) {
	soldTos := rec.soldTos()
	if !slices.Contains(soldTos, payload.SoldToParty) {
		soldTos = append(soldTos, payload.SoldToParty)
	}
	number, err := s.lookup(sapCtx, ctx, id, rec.PurchaseOrder, soldTos)
	if err != nil {
		return "", false, classifySAP(err, sapCtx, "looking up order %s in SAP", id)
	}
	if number != "" {
		return number, false, nil
	}
	so, err := s.SAP.CreateSalesOrder(sapCtx, payload)
	if err == nil {
		_, _ = s.archive(ctx, id, "sap-response", so)
		return so.SalesOrder, true, nil
	}
	if errors.Is(err, sap.ErrOutcomeUnknown) || sapCtx.Err() != nil {
		// The create may have committed. Look again (on the invocation's context: the sync budget may be gone).
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if number, lerr := s.lookup(lctx, ctx, id, rec.PurchaseOrder, soldTos); lerr == nil && number != "" {
			return number, true, nil // this attempt's create committed; only its answer was lost
		}
		return "", false, fmt.Errorf("creating order %s in SAP: %w: %w", id, errOutcomeUnknown, err)
	}
	return "", false, classifySAP(err, sapCtx, "creating order %s in SAP", id)
}

// lookup finds the order in SAP under its reference and any of the sold-to parties; "" when SAP has none.
func (s *Service) lookup(sapCtx, ctx context.Context, id, po string, soldTos []string) (string, error) {
	for _, sold := range soldTos {
		found, err := s.SAP.FindSalesOrders(sapCtx, po, sold)
		if err != nil {
			return "", err
		}
		if len(found) > 0 {
			if len(found) > 1 {
				s.Log.WarnContext(ctx, "SAP holds more than one order for this reference; using the first",
					"salesorderid", id, "purchase_order", po, "count", len(found))
			}
			return found[0].SalesOrder, nil
		}
	}
	return "", nil
}

// classifySAP maps SAP client errors onto problem kinds: business errors are rejections, the rest temporary.
func classifySAP(err error, sapCtx context.Context, format string, args ...any) error {
	var se *sap.Error
	var ve *sap.ValidationError
	switch {
	case errors.As(err, &ve):
		return &problem.Error{Kind: problem.Rejected, Detail: fmt.Sprintf(format, args...) + ": " + strings.Join(ve.Problems, "; "), Err: err,
			Extra: map[string]any{"sapMessages": validationMessages(ve)}}
	case errors.As(err, &se) && se.BusinessError():
		return &problem.Error{Kind: problem.Rejected, Detail: se.Message, Err: err, Extra: map[string]any{"sapMessages": sapMessages(se)}}
	case errors.As(err, &se) && se.StatusCode == 429:
		return &problem.Error{Kind: problem.Throttled, Detail: "SAP asked us to slow down", RetryAfter: se.RetryAfter, Err: err}
	case errors.As(err, &se) && (se.StatusCode == 401 || se.StatusCode == 403):
		return &problem.Error{Kind: problem.Unavailable, Detail: "SAP refused the integration's credentials; an operator must fix them", RetryAfter: time.Minute, Err: err}
	case errors.As(err, &se):
		return &problem.Error{Kind: problem.Unavailable, Detail: fmt.Sprintf("SAP answered %d", se.StatusCode), RetryAfter: orDefault(se.RetryAfter, 30*time.Second), Err: err}
	case sapCtx.Err() != nil:
		return &problem.Error{Kind: problem.Timeout, Detail: "SAP did not answer in time", RetryAfter: 30 * time.Second, Err: err}
	default:
		return &problem.Error{Kind: problem.Unavailable, Detail: "SAP is not reachable", RetryAfter: 30 * time.Second, Err: err}
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func sapMessages(se *sap.Error) []SAPMessage {
	msgs := []SAPMessage{{Code: se.Code, Message: se.Message, Severity: "error"}}
	for _, d := range se.Details {
		if d.Code == se.Code && d.Message == se.Message {
			continue
		}
		msgs = append(msgs, SAPMessage{Code: d.Code, Message: d.Message, Severity: d.Severity, Target: d.Target})
	}
	return msgs
}

func validationMessages(ve *sap.ValidationError) []SAPMessage {
	var msgs []SAPMessage
	for _, p := range ve.Problems {
		msgs = append(msgs, SAPMessage{Code: "VALIDATION", Message: p, Severity: "error"})
	}
	return msgs
}

// failAttempt records a failed attempt and decides the answer: a rejection is final until the order is pushed
// again; an unknown outcome or a timeout goes to the queue (202); anything else is temporary (503).
func (s *Service) failAttempt(ctx context.Context, row store.Row[Record], err error, via string, entry *AuditEntry) (Result, error) {
	id := row.PartitionKey
	v := &row.Value
	v.LeaseUntil, v.UpdatedAt, v.LastError, v.SAPMessages = time.Time{}, s.now(), err.Error(), ""
	res := Result{SalesOrderID: id}
	var pe *problem.Error
	unknown := errors.Is(err, errOutcomeUnknown) || problem.KindOf(err) == problem.Timeout
	switch {
	case problem.KindOf(err) == problem.Rejected:
		v.State = StateRejected
		if errors.As(err, &pe) {
			v.LastError = pe.Detail
			if m, ok := pe.Extra["sapMessages"]; ok {
				b, _ := json.Marshal(m)
				v.SAPMessages = string(b)
			}
		}
		entry.Outcome = "rejected"
	case unknown:
		// Hold the order while the abandoned create may still be running at SAP, so that no attempt (queued or
		// a caller's retry) looks it up before it has ended; then the queue finishes it.
		v.State, v.LeaseUntil = StateAccepted, s.now().Add(s.RetryDelay)
		entry.Outcome = "queued"
	case via == "queue":
		v.State = StateAccepted // the queue redelivers the message
	default:
		v.State = StateFailed
	}
	if etag, uerr := s.Records.Update(ctx, row); uerr != nil {
		// The lease ends by itself; the next attempt takes the order over and looks it up first.
		s.Log.WarnContext(ctx, "recording the failed attempt failed", "salesorderid", id, "err", uerr)
	} else {
		row.ETag = etag
	}
	switch {
	case v.State == StateRejected:
		res.State = StateRejected
		return res, s.rejection(id, *v)
	case unknown && via == "http":
		if qerr := s.enqueue(ctx, id, ActionPush, s.RetryDelay+2*time.Second); qerr != nil {
			// Nothing will finish it from the queue: say failed (still held for RetryDelay), so a retry of the
			// request takes it over after the hold instead of trusting a queue message that does not exist.
			v.State = StateFailed
			if _, uerr := s.Records.Update(ctx, row); uerr != nil {
				s.Log.WarnContext(ctx, "recording the failed hand-over failed", "salesorderid", id, "err", uerr)
			}
			return res, qerr
		}
		res.State, res.Accepted = StateAccepted, true
		return res, nil
	case unknown:
		return res, problem.Wrap(problem.Unavailable, err, "the outcome of order %s in SAP is not known yet", id)
	}
	res.State = v.State
	return res, err
}

// writeBack tells Dynamics the SAP number and the submit status, then marks the record done. Retried on
// failure by the queue without touching SAP.
func (s *Service) writeBack(ctx context.Context, row store.Row[Record]) error {
	id := row.PartitionKey
	if err := s.writeBackDataverse(ctx, id, row.Value.SAPSalesOrder); err != nil {
		return err
	}
	row.Value.State, row.Value.WriteBackDone, row.Value.UpdatedAt = StateWrittenBack, true, s.now()
	if _, err := s.Records.Update(ctx, row); err != nil && !errors.Is(err, store.ErrConflict) {
		// Dynamics has the number; writing it again later is harmless.
		return problem.Wrap(problem.Unavailable, err, "recording the write-back of order %s", id)
	}
	return nil
}

// writeBackDataverse sets the SAP number and the submit status on the D365 order, in the mapping's columns.
func (s *Service) writeBackDataverse(ctx context.Context, id, number string) error {
	wb := s.Mapping.WriteBack
	now := s.now()
	rec := dataverse.Record{}
	if wb.SAPNumberColumn != "" {
		rec[wb.SAPNumberColumn] = number
	}
	if wb.StatusDescriptionColumn != "" {
		rec[wb.StatusDescriptionColumn] = fmt.Sprintf("Created in SAP as sales order %s", number)
	}
	if wb.SubmitDateColumn != "" {
		rec[wb.SubmitDateColumn] = now.Format(time.RFC3339)
	}
	if wb.LastBackOfficeSubmitColumn != "" {
		rec[wb.LastBackOfficeSubmitColumn] = now.Format(time.RFC3339)
	}
	if _, err := s.Dataverse.Update(ctx, "salesorders", dataverse.ID(id), rec, nil); err != nil {
		return classifyDataverse(err, "writing the SAP number back to order %s", id)
	}
	return nil
}

func classifyDataverse(err error, format string, args ...any) error {
	var de *dataverse.Error
	detail := fmt.Sprintf(format, args...)
	if errors.As(err, &de) {
		switch de.Kind {
		case dataverse.KindNotFound:
			return problem.Wrap(problem.NotFound, err, "%s: not found in Dynamics 365", detail)
		case dataverse.KindThrottled:
			return &problem.Error{Kind: problem.Throttled, Detail: detail + ": Dataverse is throttling", RetryAfter: de.RetryAfter, Err: err}
		case dataverse.KindAuth:
			return &problem.Error{Kind: problem.Unavailable, Detail: detail + ": Dataverse refused the integration's credentials", RetryAfter: time.Minute, Err: err}
		case dataverse.KindBadRequest:
			return problem.Wrap(problem.Rejected, err, "%s: Dataverse refused it: %s", detail, de.Message)
		}
	}
	return &problem.Error{Kind: problem.Unavailable, Detail: detail + ": Dataverse is not reachable", RetryAfter: 30 * time.Second, Err: err}
}

func (s *Service) audit(ctx context.Context, id string, e AuditEntry) {
	key := fmt.Sprintf("audit-%s-%s", e.At.Format("20060102T150405.000000000Z"), e.InvocationID)
	if _, err := s.Audit.Insert(ctx, store.Row[AuditEntry]{PartitionKey: id, RowKey: key, Value: e}); err != nil {
		s.Log.WarnContext(ctx, "writing the audit entry failed", "salesorderid", id, "err", err)
	}
}

// archive stores a payload gzip-compressed and returns its blob name.
func (s *Service) archive(ctx context.Context, id, what string, v any) (string, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return "", fmt.Errorf("encoding %s archive: %w", what, err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compressing %s archive: %w", what, err)
	}
	name := fmt.Sprintf("orders/%s/%s-%s-%s.json.gz", id, s.now().Format("20060102T150405.000Z"), invocationID(ctx), what)
	if _, err := s.Blobs.PutBlob(ctx, s.ArchiveContainer, name, buf.Bytes(), &store.BlobOptions{ContentType: "application/gzip"}); err != nil {
		return "", problem.Wrap(problem.Unavailable, err, "archiving the %s of order %s", what, id)
	}
	return name, nil
}

// loadArchived reads back the request archived by the push that queued the order.
func (s *Service) loadArchived(ctx context.Context, name string) (*Order, sap.SalesOrderCreate, error) {
	b, err := s.Blobs.GetBlob(ctx, s.ArchiveContainer, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, sap.SalesOrderCreate{}, problem.Wrap(problem.NotFound, err, "the archived request %s is gone", name)
		}
		return nil, sap.SalesOrderCreate{}, problem.Wrap(problem.Unavailable, err, "reading the archived request %s", name)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Data))
	if err != nil {
		return nil, sap.SalesOrderCreate{}, problem.Wrap(problem.Internal, err, "decompressing %s", name)
	}
	var a struct {
		Order      *Order               `json:"order"`
		SAPPayload sap.SalesOrderCreate `json:"sapPayload"`
	}
	if err := json.NewDecoder(zr).Decode(&a); err != nil {
		return nil, sap.SalesOrderCreate{}, problem.Wrap(problem.Internal, err, "decoding %s", name)
	}
	return a.Order, a.SAPPayload, nil
}

// Resume continues a queued push or write-back (the order-push queue function). A nil error acknowledges the
// message; a retryable one has it redelivered (and, after the host's maxDequeueCount, moved to the poison queue
// with the record still saying what went wrong).
func (s *Service) Resume(ctx context.Context, m QueueMessage) error {
	err := s.resume(ctx, m)
	if err != nil && m.LastDelivery && problem.Retryable(err) {
		s.giveUp(ctx, strings.ToLower(m.SalesOrderID), err)
	}
	return err
}

// giveUp records that the queue stops trying, so the status answers "failed" (a caller can push again) rather
// than 202 for ever. The message itself goes to the poison queue, kept.
func (s *Service) giveUp(ctx context.Context, id string, cause error) {
	cur, found, err := s.getRecord(ctx, id)
	if err != nil || !found {
		return
	}
	v := &cur.Value
	if v.State.Done() || v.State == StateRejected || (v.State == StateInProgress && s.now().Before(v.LeaseUntil)) {
		return
	}
	v.State, v.LeaseUntil, v.UpdatedAt = StateFailed, time.Time{}, s.now()
	v.LastError = "the queue gave up on this push: " + cause.Error() + "; push the order again"
	if _, err := s.Records.Update(ctx, cur); err != nil {
		s.Log.WarnContext(ctx, "recording that the queue gave up failed", "salesorderid", id, "err", err)
	}
}

func (s *Service) resume(ctx context.Context, m QueueMessage) error {
	id := strings.ToLower(m.SalesOrderID)
	if !IsOrderID(id) {
		return problem.New(problem.Invalid, "%q is not an order id", m.SalesOrderID)
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	cur, found, err := s.getRecord(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return problem.New(problem.NotFound, "no push is recorded for order %s", id)
	}
	switch v := cur.Value; {
	case v.State == StateWrittenBack || v.State == StateRejected:
		return nil
	case v.State == StateCreated:
		return s.writeBack(ctx, cur)
	case v.State == StateInProgress && s.now().Before(v.LeaseUntil):
		// Retryable on purpose: the message comes back after the lease.
		return &problem.Error{Kind: problem.Unavailable, Detail: "another attempt owns the order", RetryAfter: v.LeaseUntil.Sub(s.now())}
	}
	if m.Action == ActionWriteBack {
		return nil // nothing to write back yet: a push message carries the order
	}
	_, payload, err := s.loadArchived(ctx, cur.Value.RequestBlob)
	if err != nil {
		return err
	}
	payload.PurchaseOrderByCustomer = cur.Value.PurchaseOrder
	row, owned, err := s.claim(ctx, id, cur.Value.PurchaseOrder, cur.Value.SoldTo, "", StateInProgress)
	if err != nil {
		return err
	}
	if !owned {
		if row.Value.State.Done() {
			return nil
		}
		return &problem.Error{Kind: problem.Unavailable, Detail: "another attempt owns the order", RetryAfter: 5 * time.Second}
	}
	sctx, cancel := context.WithTimeout(ctx, s.Lease-5*time.Second)
	defer cancel()
	_, err = s.attempt(sctx, ctx, row, payload, "queue", 0)
	if problem.KindOf(err) == problem.Rejected {
		return nil // recorded; the status tells the caller, nothing to retry
	}
	if err != nil && problem.KindOf(err) == problem.Conflict {
		// Conflicts are permanent for the HTTP caller, but the queue must try again.
		return &problem.Error{Kind: problem.Unavailable, Detail: err.Error(), Err: err}
	}
	return err
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
