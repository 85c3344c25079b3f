package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"iter"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// testAccount connects to the Azurite that infra/local/with-azurite started. Without one the test
// skips, except in CI where a missing emulator is a failure.
func testAccount(t *testing.T, opts *AccountOptions) *Account {
	t.Helper()
	conn := os.Getenv("D365SAP_TEST_STORAGE")
	if conn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("D365SAP_TEST_STORAGE is not set; run the tests under infra/local/with-azurite")
		}
		t.Skip("D365SAP_TEST_STORAGE is not set; run under infra/local/with-azurite to test against Azurite")
	}
	a, err := NewAccountFromConnectionString(conn, opts)
	if err != nil {
		t.Fatalf("NewAccountFromConnectionString: %v", err)
	}
	return a
}

// uniqueName returns prefix plus random hex: valid as a table name (letters and digits) and, being
// lowercase, as a container or queue name.
func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// countingTransport counts requests whose path contains a substring, passing all of them on.
type countingTransport struct {
	substr string
	n      atomic.Int64
}

func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, c.substr) {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(req)
}

var _ interface {
	Do(*http.Request) (*http.Response, error)
} = (*countingTransport)(nil)

// withTransport builds AccountOptions that send everything through tr.
func withTransport(tr interface {
	Do(*http.Request) (*http.Response, error)
}) *AccountOptions {
	return &AccountOptions{ClientOptions: azcore.ClientOptions{Transport: tr}}
}

// The contracts the Azure-backed types and their in-memory twins both meet; the tests below run the
// same cases against each, so the twin cannot drift from what Azurite does.
type entityStore[T any] interface {
	Name() string
	Ensure(ctx context.Context) error
	Insert(ctx context.Context, row Row[T]) (azcore.ETag, error)
	Get(ctx context.Context, partitionKey, rowKey string) (Row[T], error)
	Update(ctx context.Context, row Row[T]) (azcore.ETag, error)
	Upsert(ctx context.Context, row Row[T]) (azcore.ETag, error)
	Delete(ctx context.Context, partitionKey, rowKey string, etag azcore.ETag) error
	Query(ctx context.Context, partitionKey string, opts *QueryOptions) iter.Seq2[Row[T], error]
	Transact(ctx context.Context, partition string, ops []Op[T]) error
	TransactETags(ctx context.Context, partition string, ops []Op[T]) (TransactResult, error)
	Find(ctx context.Context, f Filter, opts *FindOptions) iter.Seq2[Row[T], error]
}

type blobQueueStore interface {
	Ping(ctx context.Context) error
	EnsureContainer(ctx context.Context, name string) error
	CreateBlob(ctx context.Context, container, name string, data []byte, opts *BlobOptions) (azcore.ETag, error)
	PutBlob(ctx context.Context, container, name string, data []byte, opts *BlobOptions) (azcore.ETag, error)
	GetBlob(ctx context.Context, container, name string) (Blob, error)
	DeleteBlob(ctx context.Context, container, name string, opts *BlobOptions) error
	AcquireLease(ctx context.Context, container, name string, d time.Duration) (*Lease, error)
	EnsureQueue(ctx context.Context, name string) error
	Enqueue(ctx context.Context, queue string, body []byte, opts *EnqueueOptions) (string, error)
	Dequeue(ctx context.Context, queue string, n int, visibility time.Duration) ([]Message, error)
	DeleteMessage(ctx context.Context, queue, id, popReceipt string) error
}

var (
	_ entityStore[checkpoint] = (*Table[checkpoint])(nil)
	_ entityStore[checkpoint] = (*MemTable[checkpoint])(nil)
	_ blobQueueStore          = (*Account)(nil)
	_ blobQueueStore          = (*MemAccount)(nil)
)

// forEachTable runs test against a fresh Azurite table and a fresh MemTable.
func forEachTable(t *testing.T, test func(t *testing.T, tbl entityStore[checkpoint])) {
	t.Helper()
	t.Run("azurite", func(t *testing.T) { test(t, newTestTable(t, testAccount(t, nil))) })
	t.Run("memory", func(t *testing.T) { test(t, NewMemTable[checkpoint]("memtable")) })
}

// fakeClock drives a MemAccount's leases and message visibility.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// forEachAccount runs test against Azurite and a MemAccount; wait lets time pass (really on Azurite,
// on the fake clock in memory).
func forEachAccount(t *testing.T, test func(t *testing.T, a blobQueueStore, wait func(time.Duration))) {
	t.Helper()
	t.Run("azurite", func(t *testing.T) { test(t, testAccount(t, nil), time.Sleep) })
	t.Run("memory", func(t *testing.T) {
		clock := &fakeClock{now: time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)}
		m := NewMemAccount()
		m.Now = clock.Now
		test(t, m, clock.Advance)
	})
}
