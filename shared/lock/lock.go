// Package lock gives a run one named lock across every instance of the app: a blob lease in the app's storage
// account, renewed while the run holds it. The host's timer lock keeps two timer ticks apart, but not a timer tick
// and a continuation message, a drift fix and a manual run, or two apps pointed at one store; a lease does.
package lock

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/store"
)

// Blobs is what a lock needs of the storage account (a *store.Account or a *store.MemAccount).
type Blobs interface {
	EnsureContainer(ctx context.Context, name string) error
	CreateBlob(ctx context.Context, container, name string, data []byte, opts *store.BlobOptions) (azcore.ETag, error)
	AcquireLease(ctx context.Context, container, name string, d time.Duration) (*store.Lease, error)
}

// ErrHeld: another run holds the lock. The caller should end quietly: that run does the work.
var ErrHeld = errors.New("lock held by another run")

// Lease is how long a lease lasts unrenewed: a run that dies holding the lock blocks the next one at most this
// long. Renewal runs every third of it, so two renewals may fail before the lease lapses.
const Lease = 30 * time.Second

// Held is a lock a run holds. Lost is closed when renewal failed and the lease may be gone: the run must stop
// writing, because another run may have taken the lock.
type Held struct {
	lease  *store.Lease
	lost   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	reason error
}

// Take acquires the lock name (a blob in container, created on first use) or fails with ErrHeld.
func Take(ctx context.Context, b Blobs, container, name string) (*Held, error) {
	if err := b.EnsureContainer(ctx, container); err != nil {
		return nil, fmt.Errorf("taking lock %s: %w", name, err)
	}
	if _, err := b.CreateBlob(ctx, container, name, nil, nil); err != nil && !errors.Is(err, store.ErrConflict) {
		return nil, fmt.Errorf("taking lock %s: %w", name, err)
	}
	l, err := b.AcquireLease(ctx, container, name, Lease)
	switch {
	case errors.Is(err, store.ErrLeaseHeld):
		return nil, fmt.Errorf("taking lock %s: %w", name, ErrHeld)
	case err != nil:
		return nil, fmt.Errorf("taking lock %s: %w", name, err)
	}
	h := &Held{lease: l, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go h.renew(context.WithoutCancel(ctx))
	return h, nil
}

func (h *Held) renew(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(Lease / 3)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		// A renewal may take as long as the time between renewals: a busy storage account answers slowly, and
		// the lease still runs until Lease after the last renewal that succeeded.
		rctx, cancel := context.WithTimeout(ctx, Lease/3)
		err := h.lease.Renew(rctx)
		cancel()
		switch {
		case err == nil:
			lastOK = time.Now()
		case errors.Is(err, store.ErrLeaseLost):
			h.lose(err)
			return
		case time.Since(lastOK) > Lease-Lease/6:
			// The lease may lapse before another renewal could land: stop before another run can take it.
			h.lose(err)
			return
		}
	}
}

func (h *Held) lose(err error) {
	h.once.Do(func() {
		h.reason = err
		close(h.lost)
	})
}

// Lost is closed when the lock may be gone.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Err says why the lock was lost (nil while held).
func (h *Held) Err() error {
	select {
	case <-h.lost:
		return fmt.Errorf("lock lost: %w", h.reason)
	default:
		return nil
	}
}

// Release stops renewing and gives the lease up, so the next run need not wait for it to lapse.
func (h *Held) Release(ctx context.Context) error {
	close(h.stop)
	<-h.done
	if h.Err() != nil {
		return nil
	}
	if err := h.lease.Release(ctx); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		return fmt.Errorf("releasing lock: %w", err)
	}
	return nil
}
