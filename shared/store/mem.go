package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// MemTable is the in-memory twin of [Table] for unit tests of later features: same methods, same
// typed errors and service error codes, values round-tripped through JSON as the service would
// (it ignores ctx).
// The contract tests run the same cases against both. It is safe for concurrent use.
type MemTable[T any] struct {
	name string
	// Now stamps Timestamps; nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	rows map[memKey]memRow
	// parts lists each partition's row keys, sorted when a query needs them: a query reads its partition's range,
	// not every row of the table (a million-row twin answered each query by scanning all of them).
	parts map[string]*memPart
	seq   uint64
}

type memPart struct {
	keys   []string
	sorted bool
}

// put stores a row, indexing a new key; callers hold mu.
func (m *MemTable[T]) put(k memKey, r memRow) {
	if _, ok := m.rows[k]; !ok {
		p := m.parts[k.pk]
		if p == nil {
			p = &memPart{sorted: true}
			m.parts[k.pk] = p
		}
		p.sorted = p.sorted && (len(p.keys) == 0 || p.keys[len(p.keys)-1] < k.rk)
		p.keys = append(p.keys, k.rk)
	}
	m.rows[k] = r
}

// remove deletes a row and its key; callers hold mu.
func (m *MemTable[T]) remove(k memKey) {
	if _, ok := m.rows[k]; !ok {
		return
	}
	delete(m.rows, k)
	p := m.parts[k.pk]
	if i := slices.Index(p.keys, k.rk); i >= 0 {
		p.keys = slices.Delete(p.keys, i, i+1)
	}
}

// rangeKeys are the sorted row keys of pk in [from, before) ("" for no bound); callers hold mu.
func (m *MemTable[T]) rangeKeys(pk, from, before string) []string {
	p := m.parts[pk]
	if p == nil {
		return nil
	}
	if !p.sorted {
		slices.Sort(p.keys)
		p.sorted = true
	}
	lo, hi := 0, len(p.keys)
	if from != "" {
		lo, _ = slices.BinarySearch(p.keys, from)
	}
	if before != "" {
		hi, _ = slices.BinarySearch(p.keys, before)
	}
	if lo >= hi {
		return nil
	}
	return slices.Clone(p.keys[lo:hi])
}

type memKey struct{ pk, rk string }

type memRow struct {
	body []byte // the encoded entity, as it would be sent
	etag azcore.ETag
	ts   time.Time
}

// NewMemTable returns an empty in-memory table; it always exists (Ensure is a no-op).
func NewMemTable[T any](name string) *MemTable[T] {
	return &MemTable[T]{name: name, rows: map[memKey]memRow{}, parts: map[string]*memPart{}}
}

// Name returns the table's name.
func (m *MemTable[T]) Name() string { return m.name }

// Ensure does nothing: a MemTable always exists.
func (m *MemTable[T]) Ensure(context.Context) error { return nil }

func (m *MemTable[T]) resource(pk, rk string) string {
	return fmt.Sprintf("table %s entity (%q, %q)", m.name, pk, rk)
}

// stamp makes a new row version; callers hold mu.
func (m *MemTable[T]) stamp(body []byte) memRow {
	m.seq++
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	return memRow{body: body, etag: azcore.ETag(fmt.Sprintf(`W/"mem'%d'"`, m.seq)), ts: now().UTC()}
}

// Insert mirrors [Table.Insert].
func (m *MemTable[T]) Insert(_ context.Context, row Row[T]) (azcore.ETag, error) {
	body, err := encodeRow(row)
	if err != nil {
		return "", fmt.Errorf("inserting into table %s: %w", m.name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey{row.PartitionKey, row.RowKey}
	if _, ok := m.rows[k]; ok {
		return "", fmt.Errorf("inserting entity: %w", &ConflictError{Resource: m.resource(k.pk, k.rk), StatusCode: http.StatusConflict, Code: "EntityAlreadyExists"})
	}
	r := m.stamp(body)
	m.put(k, r)
	return r.etag, nil
}

// Get mirrors [Table.Get].
func (m *MemTable[T]) Get(_ context.Context, partitionKey, rowKey string) (Row[T], error) {
	if err := validKeys(partitionKey, rowKey); err != nil {
		return Row[T]{}, fmt.Errorf("getting entity from table %s: %w", m.name, err)
	}
	m.mu.Lock()
	r, ok := m.rows[memKey{partitionKey, rowKey}]
	m.mu.Unlock()
	if !ok {
		return Row[T]{}, fmt.Errorf("getting entity: %w", &NotFoundError{Resource: m.resource(partitionKey, rowKey), Code: "ResourceNotFound"})
	}
	return decodeMem[T](r)
}

func decodeMem[T any](r memRow) (Row[T], error) {
	row, err := decodeRow[T](r.body)
	row.ETag, row.Timestamp = r.etag, r.ts
	return row, err
}

// Update mirrors [Table.Update].
func (m *MemTable[T]) Update(_ context.Context, row Row[T]) (azcore.ETag, error) {
	if row.ETag == "" {
		return "", fmt.Errorf("updating entity in table %s: %w", m.name, invalid("Update needs the row's ETag; use Upsert for an unconditional write"))
	}
	body, err := encodeRow(row)
	if err != nil {
		return "", fmt.Errorf("updating entity in table %s: %w", m.name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey{row.PartitionKey, row.RowKey}
	if err := m.checkMatch(k, row.ETag); err != nil {
		return "", fmt.Errorf("updating entity: %w", err)
	}
	r := m.stamp(body)
	m.put(k, r)
	return r.etag, nil
}

// checkMatch applies If-Match to the stored row; callers hold mu.
func (m *MemTable[T]) checkMatch(k memKey, etag azcore.ETag) error {
	cur, ok := m.rows[k]
	if !ok {
		return &NotFoundError{Resource: m.resource(k.pk, k.rk), Code: "ResourceNotFound"}
	}
	if etag != azcore.ETagAny && etag != cur.etag {
		return &ConflictError{Resource: m.resource(k.pk, k.rk), StatusCode: http.StatusPreconditionFailed, Code: "UpdateConditionNotSatisfied"}
	}
	return nil
}

// Upsert mirrors [Table.Upsert].
func (m *MemTable[T]) Upsert(_ context.Context, row Row[T]) (azcore.ETag, error) {
	body, err := encodeRow(row)
	if err != nil {
		return "", fmt.Errorf("upserting entity in table %s: %w", m.name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.stamp(body)
	m.put(memKey{row.PartitionKey, row.RowKey}, r)
	return r.etag, nil
}

// Delete mirrors [Table.Delete].
func (m *MemTable[T]) Delete(_ context.Context, partitionKey, rowKey string, etag azcore.ETag) error {
	if etag == "" {
		return fmt.Errorf("deleting entity from table %s: %w", m.name, invalid("Delete needs an ETag (azcore.ETagAny for unconditional)"))
	}
	if err := validKeys(partitionKey, rowKey); err != nil {
		return fmt.Errorf("deleting entity from table %s: %w", m.name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := memKey{partitionKey, rowKey}
	if err := m.checkMatch(k, etag); err != nil {
		return fmt.Errorf("deleting entity: %w", err)
	}
	m.remove(k)
	return nil
}

// Query mirrors [Table.Query]; it reads a snapshot taken when iteration starts.
func (m *MemTable[T]) Query(_ context.Context, partitionKey string, opts *QueryOptions) iter.Seq2[Row[T], error] {
	return func(yield func(Row[T], error) bool) {
		if err := validKeys(partitionKey, ""); err != nil {
			yield(Row[T]{}, fmt.Errorf("querying table %s: %w", m.name, err))
			return
		}
		var snap []memRow
		var from, before string
		if opts != nil {
			from, before = opts.RowKeyFrom, opts.RowKeyBefore
		}
		m.mu.Lock()
		for _, rk := range m.rangeKeys(partitionKey, from, before) {
			snap = append(snap, m.rows[memKey{partitionKey, rk}])
		}
		m.mu.Unlock()
		for _, r := range snap {
			row, err := decodeMem[T](r)
			if err != nil {
				yield(Row[T]{}, fmt.Errorf("decoding entity from table %s: %w", m.name, err))
				return
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

// Transact mirrors [Table.Transact]: the same checks before anything is applied, all-or-nothing,
// and a [*TransactionError] naming the first operation that fails.
func (m *MemTable[T]) Transact(ctx context.Context, partition string, ops []Op[T]) error {
	_, err := m.TransactETags(ctx, partition, ops)
	return err
}

// TransactETags mirrors [Table.TransactETags].
func (m *MemTable[T]) TransactETags(_ context.Context, partition string, ops []Op[T]) (TransactResult, error) {
	if err := checkOps(partition, ops); err != nil {
		return TransactResult{}, fmt.Errorf("submitting transaction to table %s: %w", m.name, err)
	}
	bodies := make([][]byte, len(ops))
	for i, op := range ops {
		if op.Kind == OpDelete {
			if err := validKeys(op.Row.PartitionKey, op.Row.RowKey); err != nil {
				return TransactResult{}, fmt.Errorf("encoding transaction operation %d: %w", i, err)
			}
			continue
		}
		b, err := encodeRow(op.Row)
		if err != nil {
			return TransactResult{}, fmt.Errorf("encoding transaction operation %d: %w", i, err)
		}
		bodies[i] = b
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Check every op against the current state first (row keys are distinct, so ops do not interact).
	for i, op := range ops {
		k := memKey{op.Row.PartitionKey, op.Row.RowKey}
		var err error
		switch op.Kind {
		case OpInsert:
			if _, ok := m.rows[k]; ok {
				err = &ConflictError{StatusCode: http.StatusConflict, Code: "EntityAlreadyExists"}
			}
		case OpUpdate, OpDelete:
			err = m.checkMatch(k, op.Row.ETag)
		}
		if err != nil {
			te := &TransactionError{Table: m.name, Index: i}
			if ce, ok := err.(*ConflictError); ok {
				te.StatusCode, te.Code = ce.StatusCode, ce.Code
			} else {
				te.StatusCode, te.Code = http.StatusNotFound, "ResourceNotFound"
			}
			return TransactResult{}, fmt.Errorf("submitting transaction: %w", te)
		}
	}
	res := TransactResult{ETags: make([]azcore.ETag, len(ops))}
	for i, op := range ops {
		k := memKey{op.Row.PartitionKey, op.Row.RowKey}
		if op.Kind == OpDelete {
			m.remove(k)
			continue
		}
		r := m.stamp(bodies[i])
		m.put(k, r)
		res.ETags[i] = r.etag
	}
	return res, nil
}

// MemAccount is the in-memory twin of [Account]'s blob and queue methods (and Ping), for unit tests
// of later features. Leases and message visibility follow Now, so tests can move time by hand.
type MemAccount struct {
	// Now is the clock for leases, message visibility and expiry; nil means time.Now.
	Now func() time.Time

	mu         sync.Mutex
	containers map[string]map[string]*memBlob
	queues     map[string][]*memMessage
	seq        uint64
}

type memBlob struct {
	data        []byte
	etag        azcore.ETag
	contentType string
	modified    time.Time
	leaseID     string
	leaseUntil  time.Time // zero with a leaseID: infinite
}

type memMessage struct {
	id, text, popReceipt string
	dequeueCount         int64
	inserted, expires    time.Time
	visibleAt            time.Time
}

// NewMemAccount returns an account with no containers and no queues.
func NewMemAccount() *MemAccount {
	return &MemAccount{containers: map[string]map[string]*memBlob{}, queues: map[string][]*memMessage{}}
}

func (m *MemAccount) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Ping answers at once unless ctx is done.
func (m *MemAccount) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pinging table service: %w", err)
	}
	return nil
}

// EnsureContainer mirrors [Account.EnsureContainer].
func (m *MemAccount) EnsureContainer(_ context.Context, name string) error {
	if err := checkContainerName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.containers[name] == nil {
		m.containers[name] = map[string]*memBlob{}
	}
	return nil
}

// blob finds a blob; callers hold mu.
func (m *MemAccount) blob(container, name string) (map[string]*memBlob, *memBlob, error) {
	c, ok := m.containers[container]
	if !ok {
		return nil, nil, &NotFoundError{Resource: blobResource(container, name), Code: "ContainerNotFound"}
	}
	return c, c[name], nil
}

func (b *memBlob) leased(now time.Time) bool {
	return b != nil && b.leaseID != "" && (b.leaseUntil.IsZero() || now.Before(b.leaseUntil))
}

// checkWrite applies the lease and If-Match rules of a write or delete to an existing blob.
func (m *MemAccount) checkWrite(res string, b *memBlob, opts *BlobOptions) error {
	var o BlobOptions
	if opts != nil {
		o = *opts
	}
	pre := func(code string) error {
		return &ConflictError{Resource: res, StatusCode: http.StatusPreconditionFailed, Code: code}
	}
	switch leased := b.leased(m.now()); {
	case leased && o.LeaseID == "":
		return pre("LeaseIdMissing")
	case leased && o.LeaseID != b.leaseID:
		return pre("LeaseIdMismatchWithBlobOperation")
	case !leased && o.LeaseID != "":
		return pre("LeaseNotPresentWithBlobOperation")
	}
	if o.IfMatch != "" && o.IfMatch != azcore.ETagAny && (b == nil || o.IfMatch != b.etag) {
		return pre("ConditionNotMet")
	}
	return nil
}

func (m *MemAccount) write(container, name string, data []byte, opts *BlobOptions, createOnly bool) (azcore.ETag, error) {
	if err := checkBlobName(container, name); err != nil {
		return "", err
	}
	res := blobResource(container, name)
	m.mu.Lock()
	defer m.mu.Unlock()
	c, b, err := m.blob(container, name)
	if err != nil {
		return "", err
	}
	if createOnly && b != nil {
		return "", &ConflictError{Resource: res, StatusCode: http.StatusConflict, Code: "BlobAlreadyExists"}
	}
	if err := m.checkWrite(res, b, opts); err != nil {
		return "", err
	}
	m.seq++
	nb := &memBlob{data: slices.Clone(data), etag: azcore.ETag(fmt.Sprintf(`"0xMEM%d"`, m.seq)), contentType: "application/octet-stream", modified: m.now()}
	if opts != nil && opts.ContentType != "" {
		nb.contentType = opts.ContentType
	}
	if b != nil {
		// A write under the lease keeps the lease.
		nb.leaseID, nb.leaseUntil = b.leaseID, b.leaseUntil
	}
	c[name] = nb
	return nb.etag, nil
}

// CreateBlob mirrors [Account.CreateBlob].
func (m *MemAccount) CreateBlob(_ context.Context, container, name string, data []byte, opts *BlobOptions) (azcore.ETag, error) {
	o := BlobOptions{}
	if opts != nil {
		o = *opts
	}
	o.IfMatch = ""
	etag, err := m.write(container, name, data, &o, true)
	if err != nil {
		return "", fmt.Errorf("creating blob: %w", err)
	}
	return etag, nil
}

// PutBlob mirrors [Account.PutBlob].
func (m *MemAccount) PutBlob(_ context.Context, container, name string, data []byte, opts *BlobOptions) (azcore.ETag, error) {
	etag, err := m.write(container, name, data, opts, false)
	if err != nil {
		return "", fmt.Errorf("writing blob: %w", err)
	}
	return etag, nil
}

// GetBlob mirrors [Account.GetBlob].
func (m *MemAccount) GetBlob(_ context.Context, container, name string) (Blob, error) {
	if err := checkBlobName(container, name); err != nil {
		return Blob{}, fmt.Errorf("reading blob: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, b, err := m.blob(container, name)
	if err == nil && b == nil {
		err = &NotFoundError{Resource: blobResource(container, name), Code: "BlobNotFound"}
	}
	if err != nil {
		return Blob{}, fmt.Errorf("reading blob: %w", err)
	}
	return Blob{Data: slices.Clone(b.data), ETag: b.etag, ContentType: b.contentType, LastModified: b.modified}, nil
}

// DeleteBlob mirrors [Account.DeleteBlob].
func (m *MemAccount) DeleteBlob(_ context.Context, container, name string, opts *BlobOptions) error {
	if err := checkBlobName(container, name); err != nil {
		return fmt.Errorf("deleting blob: %w", err)
	}
	res := blobResource(container, name)
	m.mu.Lock()
	defer m.mu.Unlock()
	c, b, err := m.blob(container, name)
	if err == nil && b == nil {
		err = &NotFoundError{Resource: res, Code: "BlobNotFound"}
	}
	if err == nil {
		err = m.checkWrite(res, b, opts)
	}
	if err != nil {
		return fmt.Errorf("deleting blob: %w", err)
	}
	delete(c, name)
	return nil
}

// AcquireLease mirrors [Account.AcquireLease].
func (m *MemAccount) AcquireLease(_ context.Context, container, name string, d time.Duration) (*Lease, error) {
	res := blobResource(container, name)
	seconds, err := leaseSeconds(d)
	if err != nil {
		return nil, fmt.Errorf("acquiring lease on %s: %w", res, err)
	}
	if err := checkBlobName(container, name); err != nil {
		return nil, fmt.Errorf("acquiring lease: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, b, err := m.blob(container, name)
	if err == nil && b == nil {
		err = &NotFoundError{Resource: res, Code: "BlobNotFound"}
	}
	if err == nil && b.leased(m.now()) {
		err = &ConflictError{Resource: res, StatusCode: http.StatusConflict, Code: "LeaseAlreadyPresent"}
	}
	if err != nil {
		return nil, fmt.Errorf("acquiring lease: %w", err)
	}
	id := randomID()
	until := func() time.Time {
		if seconds < 0 {
			return time.Time{}
		}
		return m.now().Add(time.Duration(seconds) * time.Second)
	}
	b.leaseID, b.leaseUntil = id, until()
	// mine finds the blob again and checks the lease is still this one; callers hold mu.
	mine := func() (*memBlob, error) {
		_, cur, err := m.blob(container, name)
		if err == nil && cur == nil {
			err = &NotFoundError{Resource: res, Code: "BlobNotFound"}
		}
		if err == nil && cur.leaseID != id {
			err = &ConflictError{Resource: res, StatusCode: http.StatusConflict, Code: "LeaseIdMismatchWithLeaseOperation"}
		}
		return cur, err
	}
	return &Lease{
		id: id,
		renew: func(context.Context) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			cur, err := mine()
			if err == nil {
				cur.leaseUntil = until()
			}
			return err
		},
		release: func(context.Context) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			cur, err := mine()
			if err == nil {
				cur.leaseID, cur.leaseUntil = "", time.Time{}
			}
			return err
		},
		put: func(ctx context.Context, data []byte, opts *BlobOptions) (azcore.ETag, error) {
			return m.PutBlob(ctx, container, name, data, opts)
		},
	}, nil
}

// EnsureQueue mirrors [Account.EnsureQueue].
func (m *MemAccount) EnsureQueue(_ context.Context, name string) error {
	if err := checkQueueName(name); err != nil {
		return fmt.Errorf("creating queue: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.queues[name]; !ok {
		m.queues[name] = nil
	}
	return nil
}

// Enqueue mirrors [Account.Enqueue], storing the base64 text the service would hold.
func (m *MemAccount) Enqueue(_ context.Context, queue string, body []byte, opts *EnqueueOptions) (string, error) {
	if err := checkQueueName(queue); err != nil {
		return "", fmt.Errorf("enqueuing message: %w", err)
	}
	if err := checkEnqueue(body, opts); err != nil {
		return "", fmt.Errorf("enqueuing message on %s: %w", queue, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	msgs, ok := m.queues[queue]
	if !ok {
		return "", fmt.Errorf("enqueuing message: %w", &NotFoundError{Resource: "queue " + queue, Code: "QueueNotFound"})
	}
	now := m.now()
	msg := &memMessage{id: randomID(), text: base64.StdEncoding.EncodeToString(body), inserted: now,
		expires: now.Add(7 * 24 * time.Hour), visibleAt: now}
	if opts != nil {
		msg.visibleAt = now.Add(opts.VisibilityDelay.Truncate(time.Second))
		switch {
		case opts.TimeToLive < 0:
			msg.expires = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
		case opts.TimeToLive > 0:
			msg.expires = now.Add(max(opts.TimeToLive.Truncate(time.Second), time.Second))
		}
	}
	m.queues[queue] = append(msgs, msg)
	return msg.id, nil
}

// Dequeue mirrors [Account.Dequeue]: oldest visible messages first.
func (m *MemAccount) Dequeue(_ context.Context, queue string, n int, visibility time.Duration) ([]Message, error) {
	if err := checkQueueName(queue); err != nil {
		return nil, fmt.Errorf("dequeuing messages: %w", err)
	}
	if err := checkDequeue(n, visibility); err != nil {
		return nil, fmt.Errorf("dequeuing messages from %s: %w", queue, err)
	}
	if visibility == 0 {
		visibility = 30 * time.Second
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	msgs, ok := m.queues[queue]
	if !ok {
		return nil, fmt.Errorf("dequeuing messages: %w", &NotFoundError{Resource: "queue " + queue, Code: "QueueNotFound"})
	}
	now := m.now()
	msgs = slices.DeleteFunc(msgs, func(x *memMessage) bool { return !now.Before(x.expires) })
	m.queues[queue] = msgs
	visible := slices.Clone(msgs)
	visible = slices.DeleteFunc(visible, func(x *memMessage) bool { return now.Before(x.visibleAt) })
	slices.SortStableFunc(visible, func(a, b *memMessage) int { return cmp.Compare(a.inserted.UnixNano(), b.inserted.UnixNano()) })
	var out []Message
	for _, x := range visible[:min(n, len(visible))] {
		x.dequeueCount++
		x.popReceipt = randomID()
		x.visibleAt = now.Add(visibility.Truncate(time.Second))
		msg := Message{ID: x.id, PopReceipt: x.popReceipt, DequeueCount: x.dequeueCount, Text: x.text,
			Inserted: x.inserted, Expires: x.expires, NextVisible: x.visibleAt}
		if b, err := base64.StdEncoding.DecodeString(x.text); err == nil {
			msg.Body = b
		}
		out = append(out, msg)
	}
	return out, nil
}

// DeleteMessage mirrors [Account.DeleteMessage].
func (m *MemAccount) DeleteMessage(_ context.Context, queue, id, popReceipt string) error {
	if err := checkQueueName(queue); err != nil {
		return fmt.Errorf("deleting message: %w", err)
	}
	res := "queue " + queue + " message " + id
	m.mu.Lock()
	defer m.mu.Unlock()
	msgs, ok := m.queues[queue]
	if !ok {
		return fmt.Errorf("deleting message: %w", &NotFoundError{Resource: res, Code: "QueueNotFound"})
	}
	i := slices.IndexFunc(msgs, func(x *memMessage) bool { return x.id == id })
	if i < 0 {
		return fmt.Errorf("deleting message: %w", &NotFoundError{Resource: res, Code: "MessageNotFound"})
	}
	if msgs[i].popReceipt != popReceipt {
		return fmt.Errorf("deleting message: %w", &ConflictError{Resource: res, StatusCode: http.StatusBadRequest, Code: codePopReceiptMismatch})
	}
	m.queues[queue] = slices.Delete(msgs, i, i+1)
	return nil
}
