package orderpush

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/d365sap/d365sap/shared/classify"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/trigger"
)

// State is where a push stands, as callers see it.
type State string

// States of a push. Terminal: written-back, rejected, failed. A created order still owes its write-back.
const (
	StateAccepted    State = "accepted"     // queued; the queue function will (re)try it
	StateInProgress  State = "in-progress"  // an attempt owns the order
	StateCreated     State = "created"      // SAP has the order; the write-back to Dynamics is pending
	StateWrittenBack State = "written-back" // done
	StateRejected    State = "rejected"     // SAP refused it; pushing it again tries again
	StateFailed      State = "failed"       // it could not be sent (the order cannot be mapped); fix and push again
)

func stateOf(e ledger.Entry) State {
	switch e.State {
	case ledger.InProgress:
		return StateInProgress
	case ledger.Created:
		return StateCreated
	case ledger.Completed:
		if !e.Reported {
			return StateCreated // SAP has it; Dynamics refused the write-back (lastError says so)
		}
		return StateWrittenBack
	case ledger.Rejected:
		return StateRejected
	case ledger.Failed:
		return StateFailed
	}
	return StateAccepted
}

// Status is the answer of GET /api/orders/{salesorderid}; on 422 and other problems its members ride along
// with the problem's.
type Status struct {
	SalesOrderID  string             `json:"salesorderid"`
	State         State              `json:"state"`
	SAPSalesOrder string             `json:"sapSalesOrder,omitempty"`
	Attempts      int                `json:"attempts"`
	LastError     string             `json:"lastError,omitempty"`
	SAPMessages   []classify.Message `json:"sapMessages,omitempty"`
	CreatedAt     time.Time          `json:"createdAt"`
	UpdatedAt     time.Time          `json:"updatedAt"`
	CompletedAt   *time.Time         `json:"completedAt,omitempty"`
	StatusURL     string             `json:"statusUrl"`
}

func messagesOf(e ledger.Entry) []classify.Message {
	var m []classify.Message
	_ = json.Unmarshal([]byte(e.Messages), &m)
	return m
}

// RecordReader reads a push's ledger entry.
type RecordReader interface {
	Get(ctx context.Context, key string) (ledger.Snapshot, bool, error)
}

// ServeStatus answers the status of a push as the push itself would have: 202 with Location and Retry-After
// while it is under way (the asynchronous pattern Power Automate polls), 200 once SAP has the order, 422 with
// SAP's messages when SAP rejected it and the failure's own problem when it failed, so a flow using the
// asynchronous pattern fails (and its run-after branch runs) exactly when a synchronous push would have.
func ServeStatus(w http.ResponseWriter, r *http.Request, records RecordReader, base string) {
	instance := ""
	if inv, ok := trigger.InvocationFrom(r.Context()); ok {
		instance = inv.ID
	}
	// Every answer, problems included: a cached 422 or 404 would outlive a push again.
	w.Header().Set("Cache-Control", "no-store")
	id := strings.ToLower(r.PathValue("salesorderid"))
	if !guidRe.MatchString(id) {
		problem.Write(w, problem.InvalidFields("the order id is not a GUID", []problem.FieldError{{Field: "salesorderid", Reason: "is not a GUID"}}), instance)
		return
	}
	snap, found, err := records.Get(r.Context(), id)
	switch {
	case err != nil:
		problem.Write(w, err, instance)
		return
	case !found:
		problem.Write(w, problem.New(problem.NotFound, "no push of order %s is known", id), instance)
		return
	}
	e := snap.Entry
	st := Status{SalesOrderID: id, State: stateOf(e), SAPSalesOrder: e.Result, Attempts: e.Attempts,
		LastError: e.LastError, SAPMessages: messagesOf(e), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		StatusURL: StatusURL(base, id)}
	if !e.CompletedAt.IsZero() {
		c := e.CompletedAt
		st.CompletedAt = &c
	}
	switch e.State {
	case ledger.Accepted, ledger.InProgress:
		w.Header().Set("Location", st.StatusURL)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusAccepted, st)
	case ledger.Rejected, ledger.Failed:
		var pe *problem.Error
		_ = errors.As(endProblem(id, e), &pe)
		pe.Extra = statusMembers(st)
		problem.Write(w, pe, instance)
	default:
		writeJSON(w, http.StatusOK, st)
	}
}

// statusMembers are the status's members for a problem document (those RFC 9457 does not define).
func statusMembers(st Status) map[string]any {
	b, _ := json.Marshal(st)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}
