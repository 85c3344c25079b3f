// Package checkpoint keeps where each timer sync stopped, one row per stream in the state table,
// advanced only by the run that read it: two overlapping runs cannot both move it.
package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/d365sap/d365sap/shared/store"
)

// Checkpoint is data only; how a sync uses it (how far back to overlap, when a delta link is too old
// to trust) is that sync's own setting. The usual shapes:
//
//   - an SAP delta poll by LastChangeDateTime: Value is the latest change time seen ([Checkpoint.SetTime]),
//     and the next run reads from [Checkpoint.Time] minus its overlap, so changes committed late with
//     an earlier stamp are read again rather than lost (the reconcile makes re-reads harmless);
//   - a Dataverse change-tracking delta link: Value is the @odata.deltaLink of the last complete read.
//     Dataverse expires links after its change-tracking retention, so when it refuses one the sync
//     reads everything again and saves the new link; UpdatedAt tells how old the link is;
//   - a "last sent" comparison: Digest is the hash of what the stream last sent, so an unchanged
//     payload is not sent again.
type Checkpoint struct {
	// Stream names the sync, e.g. "sap-salesorder-status": the row's RowKey, 1 to 256 ASCII letters,
	// digits, '.', '_', ':' or '-'.
	Stream string `json:"-"`
	// Value is the position: a time ([Checkpoint.SetTime]), a delta link or an opaque token. Empty
	// means from the beginning. At most 32,768 UTF-16 units, like every property.
	Value string `json:"value"`
	// Digest identifies what the stream last sent (for example a hex SHA-256 of a canonical payload).
	Digest string `json:"digest,omitempty"`
	// RunID is the run that saved the checkpoint (its invocation id), for tracing a bad advance.
	RunID string `json:"runId"`
	// UpdatedAt is when the checkpoint was saved; Save sets it.
	UpdatedAt time.Time `json:"updatedAt"`
	// Extra is free JSON for what a stream needs beside Value (e.g. paging state of an interrupted read).
	Extra string `json:"extra,omitempty"`
}

// SetTime stores t as Value, in UTC RFC 3339 with nanoseconds, so that Time reads it back exactly.
func (c *Checkpoint) SetTime(t time.Time) { c.Value = t.UTC().Format(time.RFC3339Nano) }

// Time reads a Value that SetTime stored; an empty Value is the zero time (from the beginning).
func (c Checkpoint) Time() (time.Time, error) {
	if c.Value == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, c.Value)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading checkpoint %s as a time: %w", c.Stream, err)
	}
	return t, nil
}

// Partition is the PartitionKey of every checkpoint row in the state table.
const Partition = "checkpoint"

// ErrConflict: another run saved the stream's checkpoint since this one read it (or first, for a
// create). The loser should stop: the winner's position stands, and the next run starts from it.
var ErrConflict = errors.New("checkpoint saved by another run")

// ConflictError is the [ErrConflict] of one stream. Err is the store's error beneath (matching
// store.ErrConflict, or store.ErrNotFound if the row was deleted meanwhile).
type ConflictError struct {
	Stream string
	// Created says the save was a create (no ETag) and found the checkpoint already there.
	Created bool
	Err     error
}

func (e *ConflictError) Error() string {
	if e.Created {
		return fmt.Sprintf("checkpoint %s: created by another run first", e.Stream)
	}
	return fmt.Sprintf("checkpoint %s: advanced by another run since it was read", e.Stream)
}

func (e *ConflictError) Unwrap() error { return e.Err }

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Table is what a Store needs of the state table: a store.Table[json.RawMessage] or store.MemTable of it.
type Table interface {
	Get(ctx context.Context, partitionKey, rowKey string) (store.Row[json.RawMessage], error)
	Insert(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error)
	Update(ctx context.Context, row store.Row[json.RawMessage]) (azcore.ETag, error)
}

// Store reads and advances checkpoints, rows (Partition, Stream) of Table.
type Store struct {
	Table Table
	// Now stamps UpdatedAt; nil means time.Now.
	Now func() time.Time
}

// Get reads the stream's checkpoint and the ETag to pass to Save. found is false, with a zero
// Checkpoint (its Stream set) and no error, when the stream has none yet.
func (s Store) Get(ctx context.Context, stream string) (cp Checkpoint, etag azcore.ETag, found bool, err error) {
	cp.Stream = stream
	if err := checkStream(stream); err != nil {
		return cp, "", false, err
	}
	row, err := s.Table.Get(ctx, Partition, stream)
	if errors.Is(err, store.ErrNotFound) {
		return cp, "", false, nil
	}
	if err != nil {
		return cp, "", false, fmt.Errorf("reading checkpoint %s: %w", stream, err)
	}
	if err := json.Unmarshal(row.Value, &cp); err != nil {
		return cp, "", false, fmt.Errorf("decoding checkpoint %s: %w", stream, err)
	}
	return cp, row.ETag, true, nil
}

// Save writes cp with UpdatedAt set to now and returns the new ETag. With an empty etag it only
// creates (a checkpoint already there is a [*ConflictError] with Created set); with the ETag Get
// returned it only replaces that version, so of two runs that read the same checkpoint exactly one
// advances it and the other gets a [*ConflictError] matching [ErrConflict].
func (s Store) Save(ctx context.Context, cp Checkpoint, etag azcore.ETag) (azcore.ETag, error) {
	if err := checkStream(cp.Stream); err != nil {
		return "", err
	}
	cp.UpdatedAt = s.now().UTC()
	v, err := json.Marshal(cp)
	if err != nil {
		return "", fmt.Errorf("encoding checkpoint %s: %w", cp.Stream, err)
	}
	row := store.Row[json.RawMessage]{PartitionKey: Partition, RowKey: cp.Stream, ETag: etag, Value: v}
	var newTag azcore.ETag
	if etag == "" {
		newTag, err = s.Table.Insert(ctx, row)
	} else {
		newTag, err = s.Table.Update(ctx, row)
	}
	var nf *store.NotFoundError
	switch {
	case err == nil:
		return newTag, nil
	case errors.Is(err, store.ErrConflict),
		// The row deleted since it was read; a missing table is a fault, not a lost race.
		etag != "" && errors.As(err, &nf) && nf.Code != "TableNotFound":
		return "", &ConflictError{Stream: cp.Stream, Created: etag == "", Err: err}
	}
	return "", fmt.Errorf("saving checkpoint %s: %w", cp.Stream, err)
}

func (s Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// checkStream keeps stream names to a set that is safe as a RowKey and readable in logs.
func checkStream(s string) error {
	ok := s != "" && len(s) <= 256
	for _, r := range s {
		if !(r == '.' || r == '_' || r == ':' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%w: checkpoint stream %q must be 1 to 256 ASCII letters, digits, '.', '_', ':' or '-'", store.ErrInvalid, s)
	}
	return nil
}
