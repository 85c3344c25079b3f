package uom

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// fakeSource is a Source whose behaviour each test sets.
type fakeSource struct {
	MaterialFn func(ctx context.Context, product string) (Material, error)
	calls      atomic.Int32
}

var _ Source = (*fakeSource)(nil)

func (f *fakeSource) Material(ctx context.Context, product string) (Material, error) {
	f.calls.Add(1)
	return f.MaterialFn(ctx, product)
}

var errNotFound = errors.New("SAP: not found")

// catalog is a Source over fixed materials; a product it lacks is errNotFound, wrapped as a client would.
func catalog(ms ...Material) *fakeSource {
	byProduct := map[string]Material{}
	for _, m := range ms {
		byProduct[m.Product] = m
	}
	return &fakeSource{MaterialFn: func(_ context.Context, product string) (Material, error) {
		m, ok := byProduct[product]
		if !ok {
			return Material{}, &wrapped{errNotFound}
		}
		return m, nil
	}}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "reading A_ProductUnitsOfMeasure: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// clock is a fake time source that tests move by hand; safe for the converter's concurrent reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
