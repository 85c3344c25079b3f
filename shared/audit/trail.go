// Package audit keeps a bounded record of every attempt the function app makes (an order push, a
// sync, a sweep): one table row per attempt, in the partition of the thing attempted, cut to fit the
// Table service's limits, with the whole payloads gzip-compressed in Blob Storage beside it.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/d365sap/d365sap/shared/store"
)

// Entry is one attempt at anything. Its strings are bounded when it becomes a row ([Trail.Row]);
// Truncated says that something was cut, and Archive names the blob that holds the whole payloads.
type Entry struct {
	Kind         string    `json:"kind"`         // what was attempted, e.g. "salesorder"
	Key          string    `json:"-"`            // what it was attempted on, e.g. the D365 order id: the row's PartitionKey
	InvocationID string    `json:"invocationId"` // the Functions invocation that made the attempt
	Trigger      string    `json:"trigger"`      // "http", "queue", "timer" or "sweep"
	Attempt      int       `json:"attempt"`
	Outcome      string    `json:"outcome"`            // one short word, e.g. "created", "rejected", "unknown"
	RemoteID     string    `json:"remoteId,omitempty"` // e.g. the SAP sales order number
	Error        string    `json:"error,omitempty"`
	Messages     string    `json:"messages,omitempty"` // the remote system's messages, as JSON
	Detail       string    `json:"detail,omitempty"`   // free JSON
	DurationMS   int64     `json:"durationMs"`
	RemoteMS     int64     `json:"remoteMs"`            // time spent waiting on the remote system
	Archive      string    `json:"archive,omitempty"`   // blob name of the whole payloads (see Archive.Put)
	Truncated    bool      `json:"truncated,omitempty"` // some string above was cut to fit the row
	At           time.Time `json:"at"`
}

// RowKeyPrefix begins the RowKey of every audit row, so that queries over a partition (or a Find of
// ledger records) can keep audit rows in or out by RowKey range.
const RowKeyPrefix = "audit-"

// Table is what a Trail needs of a table: a store.Table[json.RawMessage] or store.MemTable of it.
type Table interface {
	Insert(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error)
	Query(ctx context.Context, partitionKey string, opts *store.QueryOptions) iter.Seq2[store.Row[json.RawMessage], error]
}

// Trail writes and lists audit rows. Rows sit in the partition of their Key, beside the ledger record
// of that key, so [Trail.Row] can go into the same entity-group transaction as the record's update.
type Trail struct {
	Table Table
	// Now stamps entries whose At is zero; nil means time.Now.
	Now func() time.Time
}

// Row makes the table row of e: PartitionKey e.Key, RowKey RowKeyPrefix + e.At as a sortable UTC
// time with nanoseconds + "-" + the invocation id (with the characters keys may not hold replaced),
// so a partition lists its audit rows in time order. Every string is cut to the service's 64 KiB
// property limit and, if the whole entity would still exceed 1 MiB, the longest are cut further;
// either sets Truncated. A Key the service would refuse as a PartitionKey fails with store.ErrInvalid.
func (t Trail) Row(e Entry) (store.Row[json.RawMessage], error) {
	if err := checkKey(e.Key); err != nil {
		return store.Row[json.RawMessage]{}, fmt.Errorf("making audit row: %w", err)
	}
	if e.At.IsZero() {
		e.At = t.now()
	}
	e.At = e.At.UTC()
	e.DurationMS, e.RemoteMS = clampInt(e.DurationMS), clampInt(e.RemoteMS)
	rk := RowKeyPrefix + store.SortableTime(e.At) + "-" + keySafe(e.InvocationID)
	if err := bound(&e, rk); err != nil {
		return store.Row[json.RawMessage]{}, fmt.Errorf("making audit row for %s: %w", e.Key, err)
	}
	v, err := json.Marshal(e)
	if err != nil {
		return store.Row[json.RawMessage]{}, fmt.Errorf("encoding audit row for %s: %w", e.Key, err)
	}
	return store.Row[json.RawMessage]{PartitionKey: e.Key, RowKey: rk, Value: v}, nil
}

// Insert writes e's row. Two entries with the same Key, At and InvocationID collide: the second fails
// with store.ErrConflict.
func (t Trail) Insert(ctx context.Context, e Entry) error {
	row, err := t.Row(e)
	if err != nil {
		return err
	}
	if _, err := t.Table.Insert(ctx, row); err != nil {
		return fmt.Errorf("inserting audit row %s for %s: %w", row.RowKey, e.Key, err)
	}
	return nil
}

// List streams the audit entries of key, oldest first. Iteration stops at the first error.
func (t Trail) List(ctx context.Context, key string) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		// '.' follows '-', so the range holds exactly the RowKeys that start with the prefix.
		opts := &store.QueryOptions{RowKeyFrom: RowKeyPrefix, RowKeyBefore: strings.TrimSuffix(RowKeyPrefix, "-") + "."}
		for row, err := range t.Table.Query(ctx, key, opts) {
			if err != nil {
				yield(Entry{}, fmt.Errorf("listing audit trail of %s: %w", key, err))
				return
			}
			var e Entry
			if err := json.Unmarshal(row.Value, &e); err != nil {
				yield(Entry{}, fmt.Errorf("decoding audit row %s of %s: %w", row.RowKey, key, err))
				return
			}
			e.Key = row.PartitionKey
			if !yield(e, nil) {
				return
			}
		}
	}
}

func (t Trail) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// checkKey applies the service's PartitionKey rules: at most 1 KiB, none of / \ # ? or control characters.
func checkKey(k string) error {
	if k == "" || len(k) > 1024 || strings.ContainsFunc(k, badKeyRune) {
		return fmt.Errorf("%w: key %q must be 1 to 1024 bytes without / \\ # ? or control characters", store.ErrInvalid, k)
	}
	return nil
}

func badKeyRune(r rune) bool {
	return r == '/' || r == '\\' || r == '#' || r == '?' || r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

// maxInvocationBytes keeps the RowKey well inside its 1 KiB.
const maxInvocationBytes = 256

// keySafe replaces the characters a RowKey may not hold with '_' and bounds the length, cutting
// between characters.
func keySafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if badKeyRune(r) {
			return '_'
		}
		return r
	}, strings.ToValidUTF8(s, "_"))
	if len(s) > maxInvocationBytes {
		i := maxInvocationBytes
		for !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return s
}

// maxExact is the largest integer the store writes exactly (it refuses larger ones).
const maxExact = 1 << 53

func clampInt(n int64) int64 { return max(-maxExact, min(n, maxExact)) }
