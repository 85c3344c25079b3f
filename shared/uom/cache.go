package uom

import (
	"context"
	"fmt"
	"time"
)

type cached struct {
	m       Material
	expires time.Time
}

// material returns the product's units, from the cache while they are fresh. Concurrent misses for one product
// share one Source call (golang.org/x/sync/singleflight, already linked into the handler through azidentity).
//
// Errors are not cached: a product missing from SAP may be created a minute later, an outage should end for every
// product the moment SAP answers again, and the queue's redelivery back-off already spaces out the retries, while
// the shared call keeps a burst of them to one request.
func (c *Converter) material(ctx context.Context, product string) (Material, error) {
	if c.Source == nil {
		return Material{}, fmt.Errorf("reading units of measure of product %s: uom.Converter has no Source", product)
	}
	if err := ctx.Err(); err != nil { // a caller already gone should not start a call it will not wait for
		return Material{}, fmt.Errorf("reading units of measure of product %s: %w", product, err)
	}
	c.mu.Lock()
	e, ok := c.cache[product]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.m, nil
	}
	// The shared call outlives any one caller: detached from this caller's cancellation (keeping its values, for
	// logging), so one caller giving up does not fail the others waiting on the same call.
	shared := context.WithoutCancel(ctx)
	ch := c.flight.DoChan(product, func() (any, error) {
		m, err := c.Source.Material(shared, product)
		if err != nil {
			return nil, err
		}
		m.Units = append([]Unit(nil), m.Units...) // the cache must not share the Source's slice
		c.store(product, m)
		return m, nil
	})
	select {
	case <-ctx.Done():
		return Material{}, fmt.Errorf("reading units of measure of product %s: %w", product, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return Material{}, fmt.Errorf("reading units of measure of product %s: %w", product, r.Err)
		}
		return r.Val.(Material), nil
	}
}

func (c *Converter) store(product string, m Material) {
	ttl := c.TTL
	switch {
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < 0:
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = map[string]cached{}
	}
	// Expired entries of products nobody asks for again would stay forever; drop them whenever the cache has
	// doubled since the last sweep, which keeps the cost per store constant on average.
	if len(c.cache) >= c.sweepAt {
		for k, e := range c.cache {
			if !now.Before(e.expires) {
				delete(c.cache, k)
			}
		}
		c.sweepAt = 2*len(c.cache) + 64
	}
	c.cache[product] = cached{m: m, expires: now.Add(ttl)}
}

func (c *Converter) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
