package ledger

import (
	"encoding/json"
	"fmt"
	"time"
)

// State is where an entry stands.
type State string

// The states. Created and Completed mean the remote has the effect (Result); Completed also means the caller's
// follow-up (the write-back) is done. Rejected and Failed are final until the key is claimed again.
const (
	Accepted   State = "accepted"    // waiting for the queue (possibly held until HoldUntil)
	InProgress State = "in-progress" // owned by an attempt until LeaseUntil
	Created    State = "created"     // the remote has it; the follow-up is pending
	Completed  State = "completed"   // the remote has it and the follow-up is done
	Rejected   State = "rejected"    // the remote refused it: nothing was created
	Failed     State = "failed"      // ended for a permanent reason other than the remote's refusal
)

// Done says the remote has the effect.
func (s State) Done() bool { return s == Created || s == Completed }

// Ended says no queue work is owed, apart from reporting the end to the caller's side (see Entry.Reported).
func (s State) Ended() bool { return s == Completed || s == Rejected || s == Failed }

// Entry is the ledger's record of one key.
type Entry struct {
	State State `json:"state"`
	// Ref is the reference the remote stores with the effect, the key of every lookup. Fixed by the first claim.
	Ref string `json:"ref"`
	// Result is the remote's id of the effect, once known.
	Result   string `json:"result,omitempty"`
	Attempts int    `json:"attempts"`
	Owner    string `json:"owner,omitempty"`
	// LeaseUntil: the owner's lease, by the owner's clock.
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// SentUntil is set while an effect may have been sent and is not resolved: the latest moment the remote may
	// have received it. Zero when no unresolved effect exists.
	SentUntil time.Time `json:"sentUntil,omitzero"`
	// Sends counts effects sent (or about to be) over the entry's life.
	Sends int `json:"sends,omitempty"`
	// HoldUntil: while an unresolved effect may still commit, no effect is sent before then.
	HoldUntil time.Time `json:"holdUntil,omitzero"`
	// NextAttempt is when the queue is expected to look at the entry again; the sweeper goes by it.
	NextAttempt time.Time `json:"nextAttempt,omitzero"`
	// Retries counts consecutive temporary failures, for the backoff.
	Retries int `json:"retries,omitempty"`
	// Payload is the caller's payload for the queue to resume from (see PackPayload).
	Payload string `json:"payload,omitempty"`
	// Data is the caller's own state (JSON), e.g. the lookup keys every send used.
	Data      string `json:"data,omitempty"`
	LastError string `json:"lastError,omitempty"`
	// Messages are the remote's messages of the last outcome (JSON, cut to fit).
	Messages string `json:"messages,omitempty"`
	// Fields are the invalid fields of a failure (JSON of problem.FieldError, cut to fit), so a status can name
	// what to fix as the failed attempt did.
	Fields string `json:"fields,omitempty"`
	// Kind is the problem kind of the last failure (problem.Kind's name), so a status can answer as the failed
	// attempt would have.
	Kind string `json:"kind,omitempty"`
	// Reported says the caller's side was told the end (written back); the sweeper retries it when false. Always
	// stored, so the sweeper's query can filter on it.
	Reported    bool      `json:"reported"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
	CompletedAt time.Time `json:"completedAt,omitzero"`
}

// Unresolved says an effect may have been sent and nobody knows yet whether the remote applied it.
func (e Entry) Unresolved() bool { return !e.SentUntil.IsZero() }

func (e Entry) encode() (json.RawMessage, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encoding ledger entry: %w", err)
	}
	return b, nil
}

func decodeEntry(raw json.RawMessage) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return Entry{}, fmt.Errorf("decoding ledger entry: %w", err)
	}
	return e, nil
}
