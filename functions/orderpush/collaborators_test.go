package orderpush

// Fakes for driving Service directly, without the host stand-in: an SAP that stores what it creates and can be
// told how to answer, a Dataverse that keeps the columns written back, an archive, a queue that only records, a
// settable clock shared by the ledger and the service, and a table wrapper that lets a test run something
// "concurrently" at an exact moment (just before a given storage write lands) or make a write fail.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/uom"
)

// fakeDataverse keeps the columns written to each order; before runs ahead of each Update.
type fakeDataverse struct {
	mu      sync.Mutex
	columns map[string]dataverse.Record
	updates int
	refused int
	before  func(ctx context.Context, id string, rec dataverse.Record) error
	latency time.Duration
}

func newFakeDataverse() *fakeDataverse { return &fakeDataverse{columns: map[string]dataverse.Record{}} }

func (d *fakeDataverse) Retrieve(context.Context, string, dataverse.Key, *dataverse.RetrieveOptions) (dataverse.Record, error) {
	return nil, errors.New("fakeDataverse: tests push inline orders")
}

func (d *fakeDataverse) Update(ctx context.Context, _ string, key dataverse.Key, rec dataverse.Record, _ *dataverse.UpdateOptions) (dataverse.Written, error) {
	id := keyID(key)
	if d.latency > 0 {
		select {
		case <-time.After(d.latency):
		case <-ctx.Done():
			return dataverse.Written{}, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return dataverse.Written{}, err
	}
	d.mu.Lock()
	before := d.before
	d.mu.Unlock()
	if before != nil {
		if err := before(ctx, id, rec); err != nil {
			d.mu.Lock()
			d.refused++
			d.mu.Unlock()
			return dataverse.Written{}, err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.updates++
	cur := d.columns[id]
	if cur == nil {
		cur = dataverse.Record{}
		d.columns[id] = cur
	}
	for k, v := range rec {
		cur[k] = v
	}
	return dataverse.Written{ID: id}, nil
}

func (d *fakeDataverse) status(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, _ := d.columns[id]["submitstatusdescription"].(string)
	return s
}

func (d *fakeDataverse) setBefore(f func(ctx context.Context, id string, rec dataverse.Record) error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.before = f
}

// keyID reads the GUID back out of a dataverse.Key (printed as "{<guid> []}").
func keyID(k dataverse.Key) string {
	f := strings.Fields(strings.Trim(fmt.Sprint(k), "{}"))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// fakeUnits converts nothing: every line is in the base unit, unless a product is listed in missing.
type fakeUnits struct{ missing map[string]bool }

func (u fakeUnits) ToBase(_ context.Context, product, unit, qty string) (uom.Result, error) {
	if u.missing[product] {
		return uom.Result{}, &uom.UnknownUnitError{Product: product, Unit: unit, Units: []string{"KG"}}
	}
	return uom.Result{Quantity: qty, Unit: unit}, nil
}

// fakeArchive keeps blobs as JSON; beforeGet runs ahead of each Get.
type fakeArchive struct {
	mu        sync.Mutex
	blobs     map[string][]byte
	beforeGet func()
}

func newFakeArchive() *fakeArchive { return &fakeArchive{blobs: map[string][]byte{}} }

func (a *fakeArchive) Put(_ context.Context, kind, key, what string, at time.Time, inv string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	name := audit.ArchiveName(kind, key, what, at, inv)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.blobs[name] = b
	return name, nil
}

func (a *fakeArchive) Get(_ context.Context, name string, v any) error {
	a.mu.Lock()
	hook := a.beforeGet
	a.beforeGet = nil
	b, ok := a.blobs[name]
	a.mu.Unlock()
	if hook != nil {
		hook()
	}
	if !ok {
		return fmt.Errorf("no blob %s", name)
	}
	return json.Unmarshal(b, v)
}

// fakeQueue records every message sent.
type fakeQueue struct {
	mu   sync.Mutex
	msgs []queued
	fail bool
}

type queued struct {
	m     QueueMessage
	delay time.Duration
}

func (q *fakeQueue) Enqueue(_ context.Context, _ string, body []byte, opts *store.EnqueueOptions) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail {
		return "", errors.New("queue service unavailable")
	}
	var m QueueMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return "", err
	}
	d := time.Duration(0)
	if opts != nil {
		d = opts.VisibilityDelay
	}
	q.msgs = append(q.msgs, queued{m: m, delay: d})
	return fmt.Sprint(len(q.msgs)), nil
}

// take removes and returns every message queued so far (the host delivering them, visibility ignored).
func (q *fakeQueue) take() []queued {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.msgs
	q.msgs = nil
	return out
}

func (q *fakeQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// hookTable is a ledger table that can run a function just before a write lands, or fail a write. Like the real
