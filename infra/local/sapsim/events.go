package sapsim

import (
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"
)

// EventSource is the CloudEvents source the simulator's events carry: S/4HANA names the sending system so.
const EventSource = "/default/sap.s4.beh/SIMCLNT100"

// CloudEvent is the event in the envelope S/4HANA sends it in: structured CloudEvents 1.0 JSON with every data
// field a string, under id (a UUID in SAP's events; a duplicate redelivered keeps it, a copy raised again does
// not).
func (e Event) CloudEvent(id string) []byte {
	b, _ := json.Marshal(map[string]any{"specversion": "1.0", "type": e.Type, "source": EventSource, "id": id,
		"time": e.Raised.UTC().Format(time.RFC3339Nano), "datacontenttype": "application/json", "data": e.Data})
	return b
}

// PublisherFaults are the ways an event broker delivers, from the kit's sap-events.md: at least once, in no
// guaranteed order, late, and not at all while the endpoint is down (the broker keeps the message and tries again).
type PublisherFaults struct {
	// Duplicate is the share of events delivered twice with the same id (a redelivery); NewID the share raised
	// again under a new id (SAP raising the same change twice).
	Duplicate, NewID float64
	// Reorder is the share of events held back and delivered after the next few.
	Reorder float64
	// Delay holds every delivery back by up to this long.
	Delay time.Duration
	// Retry is the wait before a failed delivery is tried again (default 100 ms).
	Retry time.Duration
}

// Publisher delivers the simulator's events as a broker with QoS 1 does: every event until the endpoint takes
// it, with the faults set. Deliver sends one CloudEvent (an HTTP push, an enqueue); an error keeps the event for a
// later attempt, as Event Mesh does while a webhook answers non-2xx.
type Publisher struct {
	Deliver func(body []byte) error
	Faults  PublisherFaults

	mu      sync.Mutex
	rng     *mrand.Rand
	ids     int
	pending []pending
	held    []pending
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	stats   PublisherStats
}

type pending struct {
	body []byte
	due  time.Time
}

// PublisherStats counts what the publisher did.
type PublisherStats struct {
	Raised, Delivered, Failed, Duplicated, NewIDs, Reordered int
}

// NewPublisher starts a publisher; Close stops it once everything raised is delivered or the deadline passes.
func NewPublisher(deliver func(body []byte) error, f PublisherFaults, seed uint64) *Publisher {
	p := &Publisher{Deliver: deliver, Faults: f, rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

// Raise takes an event from the simulator (set it as Options.Events).
func (p *Publisher) Raise(e Event) {
	p.mu.Lock()
	p.stats.Raised++
	body := e.CloudEvent(p.newID())
	p.add(body)
	if p.rng.Float64() < p.Faults.Duplicate {
		p.stats.Duplicated++
		p.add(body)
	}
	if p.rng.Float64() < p.Faults.NewID {
		p.stats.NewIDs++
		p.add(e.CloudEvent(p.newID()))
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Publisher) newID() string {
	p.ids++
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(p.rng.IntN(256))
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// add queues a body (the lock is held): held back for reordering, or due after a random delay.
func (p *Publisher) add(body []byte) {
	var due time.Time
	if p.Faults.Delay > 0 {
		due = time.Now().Add(time.Duration(p.rng.Int64N(int64(p.Faults.Delay))))
	}
	if p.rng.Float64() < p.Faults.Reorder {
		p.stats.Reordered++
		p.held = append(p.held, pending{body: body, due: due})
		return
	}
	p.pending = append(p.pending, pending{body: body, due: due})
	if len(p.held) > 0 && len(p.pending)%3 == 0 {
		// What was held back goes out behind events raised after it.
		p.pending = append(p.pending, p.held...)
		p.held = nil
	}
}

func (p *Publisher) run() {
	defer close(p.done)
	retry := p.Faults.Retry
	if retry <= 0 {
		retry = 100 * time.Millisecond
	}
	for {
		p.mu.Lock()
		if len(p.pending) == 0 && len(p.held) > 0 {
			p.pending, p.held = p.held, nil
		}
		var next *pending
		idx := -1
		now := time.Now()
		for i := range p.pending {
			if !p.pending[i].due.After(now) {
				next, idx = &p.pending[i], i
				break
			}
		}
		var body []byte
		if next != nil {
			body = next.body
			p.pending = append(p.pending[:idx], p.pending[idx+1:]...)
		}
		p.mu.Unlock()
		if body != nil {
			if err := p.Deliver(body); err != nil {
				p.mu.Lock()
				p.stats.Failed++
				p.pending = append(p.pending, pending{body: body, due: time.Now().Add(retry)})
				p.mu.Unlock()
			} else {
				p.mu.Lock()
				p.stats.Delivered++
				p.mu.Unlock()
			}
			continue
		}
		select {
		case <-p.stop:
			return
		case <-p.wake:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Pending is how many deliveries are still to be made (held back ones included).
func (p *Publisher) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending) + len(p.held)
}

// Stats returns the counts so far.
func (p *Publisher) Stats() PublisherStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Drain waits until everything raised is delivered, or the deadline passes (false).
func (p *Publisher) Drain(deadline time.Duration) bool {
	end := time.Now().Add(deadline)
	for p.Pending() > 0 {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// Close stops the publisher; what is still pending is dropped.
func (p *Publisher) Close() {
	close(p.stop)
	<-p.done
}
