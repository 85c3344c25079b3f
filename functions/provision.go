package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/d365sap/d365sap/shared/config"
	"github.com/d365sap/d365sap/shared/store"
)

// provisioner creates the app's table, queues and containers before the first invocation that writes to storage
// (in Azure the Bicep templates have made them already, and creating what exists is a cheap no-op). It runs on
// first use, not at start-up, so a cold start makes no storage round trip; a failure is retried by the next call.
type provisioner struct {
	account *store.Account
	cfg     config.Config
	mu      sync.Mutex
	done    bool
}

func (p *provisioner) Ensure(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return nil
	}
	if err := p.account.EnsureTable(ctx, p.cfg.StateTable); err != nil {
		return fmt.Errorf("creating table %s: %w", p.cfg.StateTable, err)
	}
	for _, q := range []string{p.cfg.OrderPushQueue, p.cfg.OrderPushQueue + "-poison", p.cfg.StatusEventsQueue, p.cfg.StatusEventsQueue + "-poison",
		p.cfg.InventorySyncQueue, p.cfg.InventorySyncQueue + "-poison"} {
		if err := p.account.EnsureQueue(ctx, q); err != nil {
			return fmt.Errorf("creating queue %s: %w", q, err)
		}
	}
	for _, c := range []string{p.cfg.ArchiveContainer, p.cfg.DeadLetterContainer, p.cfg.LockContainer} {
		if err := p.account.EnsureContainer(ctx, c); err != nil {
			return fmt.Errorf("creating container %s: %w", c, err)
		}
	}
	p.done = true
	return nil
}
