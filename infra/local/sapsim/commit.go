package sapsim

import (
	"context"
	"sync"
	"time"
)

// The create path with the faults that decide when an order commits and what the client hears about it.

// pendingCommits counts creates committing on their own goroutine (SlowCommit), so tests and shutdown can wait for
// them: a sync.WaitGroup may not be reused while Wait runs, this may.
type pendingCommits struct {
	mu   sync.Mutex
	n    int
	idle *sync.Cond
}

func (p *pendingCommits) add() {
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
}

func (p *pendingCommits) done() {
	p.mu.Lock()
	p.n--
	if p.n == 0 && p.idle != nil {
		p.idle.Broadcast()
	}
	p.mu.Unlock()
}

func (p *pendingCommits) wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.idle == nil {
		p.idle = sync.NewCond(&p.mu)
	}
	for p.n > 0 {
		p.idle.Wait()
	}
}

// Quiesce waits until every create that is still committing (SlowCommit) has committed. Call it after the HTTP
// server has stopped and before reading Orders or Stats for the final count.
func (s *Server) Quiesce() { s.pending.wait() }

// createWithFaults commits an API create, first waiting SlowCommitDelay when SlowCommit hits. waited is false when
// the client left before the commit; the commit then still happens on its own goroutine.
func (s *Server) createWithFaults(ctx context.Context, in record, service string) (so record, waited bool, err error) {
	s.mu.Lock()
	slow := s.faults.createFault(s.rng, service, &s.faults.SlowCommitNext, s.faults.SlowCommitRate)
	delay := time.Duration(s.faults.SlowCommitDelay)
	if slow {
		s.stats.SlowCommits++
	}
	s.mu.Unlock()
	if !slow || delay <= 0 {
		so, err := s.commitFromAPI(in, service)
		return so, true, err
	}
	type result struct {
		so  record
		err error
	}
	done := make(chan result, 1)
	s.pending.add()
	go func() {
		defer s.pending.done()
		// The work process neither knows nor cares that the client may be gone: it sleeps, then commits.
		time.Sleep(delay)
		so, err := s.commitFromAPI(in, service)
		if err == nil && ctx.Err() != nil {
			s.mu.Lock()
			s.stats.CommitsAfterDisconnect++
			s.mu.Unlock()
			s.log.Info("fault: sales order committed after the client left", "salesOrder", so["SalesOrder"])
		}
		done <- result{so, err}
	}()
	select {
	case r := <-done:
		return r.so, true, r.err
	case <-ctx.Done():
		return nil, false, nil
	}
}

// commitFromAPI commits an API create and, when HandEnteredSamePO hits, has a clerk enter the same customer
// reference right after it.
func (s *Server) commitFromAPI(in record, service string) (record, error) {
	so, err := s.createSalesOrder(in, nil)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	dup := s.faults.createFault(s.rng, service, &s.faults.HandEnteredSamePONext, s.faults.HandEnteredSamePORate)
	s.mu.Unlock()
	if !dup {
		return so, nil
	}
	po, _ := so["PurchaseOrderByCustomer"].(string) // absent when the create sent none
	m := ManualOrder{PurchaseOrderByCustomer: po, SoldToParty: so["SoldToParty"].(string)}
	for _, it := range so["to_Item"].([]record) {
		m.Items = append(m.Items, ManualItem{Material: it["Material"].(string), Quantity: it["RequestedQuantity"].(string),
			Unit: it["RequestedQuantityUnit"].(string)})
	}
	id, err := s.EnterOrder(m)
	if err != nil { // the API order passed the same checks, so this is a bug in the simulator
		panic("sapsim: entering the duplicate of order " + so["SalesOrder"].(string) + ": " + err.Error())
	}
	s.mu.Lock()
	s.stats.HandEnteredSamePO++
	s.mu.Unlock()
	s.log.Info("fault: the same customer reference entered by hand", "salesOrder", so["SalesOrder"], "handEntered", id)
	return so, nil
}

type answerAction int

const (
	answerNormal answerAction = iota
	answerDropped
	answerGateway
)

// answerFault decides what the client hears about a committed create, and the status of a gateway error.
func (s *Server) answerFault(service string) (answerAction, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.faults.createFault(s.rng, service, &s.faults.DropCreateNext, s.faults.DropCreateRate):
		s.stats.DroppedCreates++
		return answerDropped, 0
	case s.faults.createFault(s.rng, service, &s.faults.CommitThenGatewayNext, s.faults.CommitThenGatewayRate):
		s.stats.CommitThenGateway++
		return answerGateway, s.faults.gatewayStatus()
	}
	return answerNormal, 0
}
