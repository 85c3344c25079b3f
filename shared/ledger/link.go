package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
)

// Link names the key whose effect the remote knows by an id: later messages that carry only the remote's id
// (a status event with an SAP number) find their key in one read.
type Link struct {
	Key       string    `json:"key"`
	Kind      string    `json:"kind"`
	CreatedAt time.Time `json:"createdAt"`
}

func (l *Ledger) linkPartition(remoteID string) string { return "link-" + l.Kind + "-" + remoteID }

// LinkRow is the link row of remoteID (already normalised by the caller) to key, for a write of its own.
func (l *Ledger) LinkRow(remoteID, key string) (store.Row[json.RawMessage], error) {
	if !validKey(remoteID) {
		return store.Row[json.RawMessage]{}, fmt.Errorf("%q cannot be linked: not usable as a table key", remoteID)
	}
	b, err := json.Marshal(Link{Key: key, Kind: l.Kind, CreatedAt: l.now()})
	if err != nil {
		return store.Row[json.RawMessage]{}, fmt.Errorf("encoding link: %w", err)
	}
	return store.Row[json.RawMessage]{PartitionKey: l.linkPartition(remoteID), RowKey: "link", Value: b}, nil
}

// PutLink writes the link of remoteID to key. Writing it again is harmless.
func (l *Ledger) PutLink(ctx context.Context, remoteID, key string) error {
	row, err := l.LinkRow(remoteID, key)
	if err != nil {
		return err
	}
	if _, err := l.Table.Upsert(ctx, row); err != nil {
		return problem.Wrap(problem.Unavailable, err, "linking %s %s to %s", l.Kind, remoteID, key)
	}
	return nil
}

// FindLink returns the key linked to remoteID (normalised by the caller); found is false when there is none.
func (l *Ledger) FindLink(ctx context.Context, remoteID string) (Link, bool, error) {
	if !validKey(remoteID) {
		return Link{}, false, nil
	}
	row, err := l.Table.Get(ctx, l.linkPartition(remoteID), "link")
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Link{}, false, nil
	case err != nil:
		return Link{}, false, problem.Wrap(problem.Unavailable, err, "reading the link of %s %s", l.Kind, remoteID)
	}
	var k Link
	if err := json.Unmarshal(row.Value, &k); err != nil {
		return Link{}, false, problem.Wrap(problem.Internal, err, "decoding the link of %s %s", l.Kind, remoteID)
	}
	return k, true, nil
}
