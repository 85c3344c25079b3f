package inventorysync

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/store"
)

// Summary is one run, as operators read it in the run log.
type Summary struct {
	RunID   string    `json:"runId"`
	Trigger string    `json:"trigger"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	Outcome string    `json:"outcome"`
	Error   string    `json:"error,omitempty"`
	// Products and Stock are nil for a stream the run did not reach.
	Products *StreamStats `json:"products,omitempty"`
	Stock    *StreamStats `json:"stock,omitempty"`
	Prices   *StreamStats `json:"prices,omitempty"`
}

// StreamStats counts one stream of a run.
type StreamStats struct {
	Read    int64 `json:"read"`    // SAP rows read (stock: rows; products: products)
	Changed int64 `json:"changed"` // values that differ from what was last written
	Written int64 `json:"written"` // records Dataverse took
	Skipped int64 `json:"skipped"` // values not written on purpose (unchanged are not counted here; see below)
	Failed  int64 `json:"failed"`  // records dead-lettered
	// Rounded counts stock sums with more decimals than D365 keeps, rounded down.
	Rounded int64 `json:"rounded,omitempty"`
	// Landed counts changed values Dataverse already held: written by a run that ended before it could record
	// them, found by reading them back, and not written again.
	Landed int64 `json:"landed,omitempty"`
	// Duplicates counts stock rows SAP sent twice (its paging shifted under a change) and counted once.
	Duplicates int64 `json:"duplicates,omitempty"`
	// Throttled is the 429s Dataverse answered while the stream ran.
	Throttled  int64         `json:"throttled"`
	Duration   time.Duration `json:"-"`
	DurationMS int64         `json:"durationMs"`
}

// RunLog keeps run summaries in the state table, newest first.
type RunLog interface {
	Record(ctx context.Context, s Summary) error
}

// runPartition holds the summaries; RowKeys count down from the far future so a partition read is newest first.
const runPartition = "inventory-run"

// RunEntity is a summary as the state table keeps it: Table entities hold flat properties, so the summary is one
// JSON text, beside the outcome and start an operator filters on.
type RunEntity struct {
	Outcome string    `json:"outcome"`
	Started time.Time `json:"started"`
	Summary string    `json:"summary"`
}

// RunRows is what the run log needs of the state table (a *store.Table[RunEntity]).
type RunRows interface {
	Upsert(ctx context.Context, row store.Row[RunEntity]) (azcore.ETag, error)
	Query(ctx context.Context, partitionKey string, opts *store.QueryOptions) iter.Seq2[store.Row[RunEntity], error]
}

// TableRunLog is a RunLog over the state table.
type TableRunLog struct{ Rows RunRows }

// Record writes s, keyed by its start so that the newest sorts first and a run recorded twice is one row.
func (l TableRunLog) Record(ctx context.Context, s Summary) error {
	for _, st := range []*StreamStats{s.Products, s.Stock, s.Prices} {
		if st != nil {
			st.DurationMS = st.Duration.Milliseconds()
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("recording run %s: %w", s.RunID, err)
	}
	key := fmt.Sprintf("%019d-%s", math.MaxInt64-s.Started.UnixNano(), s.RunID)
	row := store.Row[RunEntity]{PartitionKey: runPartition, RowKey: key, Value: RunEntity{Outcome: s.Outcome, Started: s.Started, Summary: string(b)}}
	if _, err := l.Rows.Upsert(ctx, row); err != nil {
		return fmt.Errorf("recording run %s: %w", s.RunID, err)
	}
	return nil
}

// Last reads the newest n summaries.
func (l TableRunLog) Last(ctx context.Context, n int) ([]Summary, error) {
	var out []Summary
	for row, err := range l.Rows.Query(ctx, runPartition, &store.QueryOptions{PageSize: int32(min(n, 1000))}) {
		if err != nil {
			return nil, fmt.Errorf("reading the run log: %w", err)
		}
		var s Summary
		if err := json.Unmarshal([]byte(row.Value.Summary), &s); err != nil {
			return nil, fmt.Errorf("reading run %s of the run log: %w", row.RowKey, err)
		}
		out = append(out, s)
		if len(out) == n {
			break
		}
	}
	return out, nil
}

// String keeps a stream's counts readable in one log line.
func (s *StreamStats) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}
