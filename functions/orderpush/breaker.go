package orderpush

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/d365sap/d365sap/shared/problem"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
)

// The reference breaker. Every duplicate check looks for the reference as sent; if SAP keeps something else (the
// custom field is shorter in SAP than the mapping's maxLength says and the value was cut; SAP changes its case),
// no lookup can find an order whose answer is lost, and its create would be repeated once the commit window had
// passed. So the first 201 whose echo shows it trips the breaker: a row in the state table, seen by every
// instance and surviving restarts. While it is tripped no create is sent and no lookup that finds nothing
// settles an unresolved create: orders wait in the queue. An operator clears it by deleting the row
// (PartitionKey "breaker", RowKey "salesorder-reference") once SAP stores the whole reference.
const (
	breakerPartition = "breaker"
	breakerRow       = Kind + "-reference"
	// breakerRecheck is how often an instance reads the row: other instances' trips, and an operator's clearing,
	// take effect within it.
	breakerRecheck = 10 * time.Second
)

type breakerRecord struct {
	Detail    string    `json:"detail"`
	TrippedAt time.Time `json:"trippedAt"`
}

type breakerCache struct {
	mu      sync.Mutex
	checked time.Time // wall clock
	tripped *problem.Error
}

// breaker is the tripped breaker's problem, or nil. A read that fails keeps the last known state.
func (s *Service) breaker(ctx context.Context) *problem.Error {
	c := &s.refBreaker
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.checked.IsZero() && time.Since(c.checked) < breakerRecheck {
		return c.tripped
	}
	row, err := s.Ledger.Table.Get(ctx, breakerPartition, breakerRow)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.tripped = nil
	case err != nil:
		s.Log.WarnContext(ctx, "reading the reference breaker failed; keeping its last state", "err", err)
		return c.tripped
	default:
		var b breakerRecord
		_ = json.Unmarshal(row.Value, &b)
		c.tripped = breakerProblem(b.Detail)
	}
	c.checked = time.Now()
	return c.tripped
}

func breakerProblem(detail string) *problem.Error {
	return &problem.Error{Kind: problem.Internal, Detail: detail}
}

// checkReference compares the reference SAP stored, as its answer to a create echoes it, with what was sent, and
// trips the breaker when they differ.
func (s *Service) checkReference(ctx context.Context, id, ref string, answer sap.SalesOrder) {
	r := s.Mapping.Reference
	var stored string
	switch r.Mode {
	case RefExtensionField:
		v, ok := answer.Extensions[r.Field]
		if !ok || strings.EqualFold(v, ref) {
			return // an answer without the field says nothing either way
		}
		stored = v
	case RefHeaderText:
		if len(answer.Texts.Results) == 0 || slices.ContainsFunc(answer.Texts.Results, func(t sap.SalesOrderText) bool {
			return t.LongTextID == r.TextID && strings.Contains(strings.ToUpper(t.LongText), strings.ToUpper(ref))
		}) {
			return
		}
		stored = "no text " + r.TextID + " naming it"
	default:
		return
	}
	detail := fmt.Sprintf("SAP stored the reference of order %s as %q, not as sent (%q): lookups by reference cannot "+
		"find orders whose answer is lost, so no order is created and no lookup settles one until SAP stores the whole "+
		"reference (check the field's length in SAP against the mapping's maxLength) and an operator deletes the "+
		"state table's row %s/%s", id, stored, ref, breakerPartition, breakerRow)
	s.Log.ErrorContext(ctx, "SAP does not store the push's reference as sent; creates are stopped", "salesorderid", id,
		"sent", ref, "stored", stored)
	b, _ := json.Marshal(breakerRecord{Detail: detail, TrippedAt: s.now()})
	if _, err := s.Ledger.Table.Upsert(ctx, store.Row[json.RawMessage]{PartitionKey: breakerPartition, RowKey: breakerRow, Value: b}); err != nil {
		s.Log.ErrorContext(ctx, "recording the reference breaker failed; it holds in this instance only", "err", err)
	}
	c := &s.refBreaker
	c.mu.Lock()
	c.tripped, c.checked = breakerProblem(detail), time.Now()
	c.mu.Unlock()
}
