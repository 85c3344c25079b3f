package orderpush

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// State is where a push stands. Terminal: written-back, rejected. A created order still owes its write-back.
type State string

// States of a push.
const (
	// StateAccepted: queued; the queue function will (re)try it.
	StateAccepted State = "accepted"
	// StateInProgress: an attempt owns the order until LeaseUntil.
	StateInProgress State = "in-progress"
	// StateCreated: SAP has the order (SAPSalesOrder); the write-back to Dynamics is pending.
	StateCreated State = "created"
	// StateWrittenBack: done.
	StateWrittenBack State = "written-back"
	// StateRejected: SAP refused the order; pushing it again tries again.
	StateRejected State = "rejected"
	// StateFailed: the last attempt failed on something temporary; pushing it again tries again.
	StateFailed State = "failed"
)

// soldTos are every sold-to party a create may have been sent with, the current one first.
func (r Record) soldTos() []string {
	out := []string{r.SoldTo}
	for _, s := range strings.Split(r.PriorSoldTo, ",") {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Done says the SAP order exists.
func (s State) Done() bool { return s == StateCreated || s == StateWrittenBack }

// Record is the idempotency record of one D365 order: one row per order (PartitionKey = the order id,
// RowKey = recordKey), created with a create-only insert and changed only under its ETag, so concurrent pushes
// of one order agree on a single owner and a single SAP number.
type Record struct {
	State         State  `json:"state"`
	SAPSalesOrder string `json:"sapSalesOrder,omitempty"`
	PurchaseOrder string `json:"purchaseOrder"`
	SoldTo        string `json:"soldTo"`
	// PriorSoldTo lists, comma-separated, sold-to parties earlier attempts sent (the customer was corrected in
	// Dynamics after a rejection): the duplicate check looks under each of them too.
	PriorSoldTo string `json:"priorSoldTo,omitempty"`
	Attempts    int    `json:"attempts"`
	Owner       string `json:"owner,omitempty"`
	// LeaseUntil: nobody else may start an attempt before then. Set while an attempt runs, and after an attempt
	// whose create's outcome is unknown, for as long as that create may still be running at SAP.
	LeaseUntil    time.Time `json:"leaseUntil,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
	SAPMessages   string    `json:"sapMessages,omitempty"`
	RequestBlob   string    `json:"requestBlob,omitempty"`
	WriteBackDone bool      `json:"writeBackDone,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
	CompletedAt   time.Time `json:"completedAt,omitzero"`
}

const recordKey = "push"

// SAPMessage is one message of SAP's answer, kept for the 422 and the status.
type SAPMessage struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Severity string `json:"severity,omitempty"`
	Target   string `json:"target,omitempty"`
}

func (r Record) messages() []SAPMessage {
	var m []SAPMessage
	_ = json.Unmarshal([]byte(r.SAPMessages), &m)
	return m
}

// AuditEntry is one attempt, kept beside the record (same partition, RowKey "audit-<time>-<invocation>").
type AuditEntry struct {
	InvocationID  string `json:"invocationId"`
	Trigger       string `json:"trigger"`
	Attempt       int    `json:"attempt"`
	Outcome       string `json:"outcome"`
	SAPSalesOrder string `json:"sapSalesOrder,omitempty"`
	PurchaseOrder string `json:"purchaseOrder,omitempty"`
	SoldTo        string `json:"soldTo,omitempty"`
	Error         string `json:"error,omitempty"`
	DurationMS    int64  `json:"durationMs"`
	DataverseMS   int64  `json:"dataverseMs"`
	SAPMS         int64  `json:"sapMs"`
	// ArchivePrefix names the blobs holding this attempt's request and SAP payloads.
	ArchivePrefix string    `json:"archivePrefix,omitempty"`
	At            time.Time `json:"at"`
}

// QueueMessage is what the order-push queue carries: which order, and what is left to do.
type QueueMessage struct {
	SalesOrderID string `json:"salesorderid"`
	Action       string `json:"action"`
	// LastDelivery is set by the queue function when the host will not deliver this message again (it has reached
	// maxDequeueCount): a retryable failure then marks the push failed instead of leaving it "accepted" forever.
	LastDelivery bool `json:"-"`
}

// Queue message actions.
const (
	ActionPush      = "push"
	ActionWriteBack = "writeback"
)
