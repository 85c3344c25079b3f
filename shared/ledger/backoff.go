package ledger

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/store"
)

// Backoff spaces out the queue's retries of work that met an outage. Instead of failing the message (which uses
// up one of the host's deliveries, so a long outage would end in the poison queue), the queue function sends the
// work again, later, as a new message, and acknowledges the old one: unavailability never uses up deliveries;
// only permanent problems end the work.
type Backoff struct {
	// Base is the first delay; each retry doubles it, up to Max, with jitter in its upper half.
	Base, Max time.Duration
}

// Delay is the wait before retry number n (0 for the first retry), at least floor (a Retry-After).
func (b Backoff) Delay(n int, floor time.Duration) time.Duration {
	d := b.Base
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	if d > 1 {
		d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	}
	if d < floor {
		d = floor
	}
	return d
}

// Enqueuer sends queue messages.
type Enqueuer interface {
	Enqueue(ctx context.Context, queue string, body []byte, opts *store.EnqueueOptions) (string, error)
}

// Requeue sends body to queue to be seen after delay (at most the queue's 7 days), never expiring: an expired
// retry would be lost work. A nil error means the caller may acknowledge the message it is working on;
// otherwise it must fail it, so the host redelivers it.
func Requeue(ctx context.Context, q Enqueuer, queue string, body []byte, delay time.Duration) error {
	if delay < 0 {
		delay = 0
	}
	if max := 7 * 24 * time.Hour; delay > max {
		delay = max
	}
	if _, err := q.Enqueue(ctx, queue, body, &store.EnqueueOptions{VisibilityDelay: delay, TimeToLive: -1}); err != nil {
		return problem.Wrap(problem.Unavailable, err, "queueing the retry")
	}
	return nil
}
