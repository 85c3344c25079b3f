package ledger

import "time"

// Stuck says whether an entry needs the queue again although nothing may be scheduled to look at it: a queued
// entry whose next attempt is overdue (its message was dead-lettered or never written), an attempt past its
// lease (its instance died), an effect created but not followed up, an end not reported. grace is how late
// the queue may be before the entry counts as stuck.
func (l *Ledger) Stuck(e Entry, now time.Time, grace time.Duration) bool {
	switch e.State {
	case Accepted:
		due := e.NextAttempt
		if due.IsZero() || due.Before(e.UpdatedAt) {
			due = e.UpdatedAt
		}
		return now.After(due.Add(grace))
	case InProgress:
		return now.After(e.LeaseUntil.Add(l.Skew + grace))
	case Created:
		due := e.NextAttempt
		if due.IsZero() || due.Before(e.UpdatedAt) {
			due = e.UpdatedAt
		}
		return now.After(due.Add(grace))
	case Rejected, Failed:
		return !e.Reported && now.After(e.UpdatedAt.Add(grace))
	}
	return false
}

// RowKey is the row key of this ledger's entries, for queries over them (the sweeper).
func (l *Ledger) RowKey() string { return l.rowKey() }

// Decode reads an entry from a row of this ledger.
func Decode(raw []byte) (Entry, error) { return decodeEntry(raw) }
