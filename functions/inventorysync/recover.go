package inventorysync

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/d365sap/d365sap/shared/checkpoint"
)

// A stream's checkpoint moves only after a group of values has landed and been fingerprinted, so a run killed
// while writing a group leaves values in Dataverse that its fingerprints do not know. Rewriting them is safe but
// spends the service protection limit on writes that change nothing: up to BatchSize × Parallel per kill. So
// each stream keeps a second row, its writing mark: the run that is writing and how far its current group
// reaches. A run that finds another run's mark knows that run ended without finishing its group, and until it
// has passed the mark's position it reads Dataverse's values before writing and writes only what differs.
//
// The mark costs one storage write per group; the reads happen only after a run that died.

// writingMark is a stream's mark.
type writingMark struct {
	r      *run
	cp     checkpoint.Checkpoint
	etag   azcore.ETag
	upTo   string // the dead run's position, "" when no run died; compare is the stream's order
	end    bool   // the dead run was writing its pass's last group: everything from where it resumed is uncertain
	before func(pos, upTo string) bool
}

// markPosition is a mark's Extra: how far the group being written reaches, in the stream's order, or that it
// is the pass's last group and reaches to the end.
type markPosition struct {
	UpTo string `json:"upTo,omitempty"`
	End  bool   `json:"end,omitempty"`
}

// markName is the row of a stream's mark.
func markName(stream string) string { return stream + "-writing" }

// readMark reads a stream's mark. before(pos, upTo) says whether a group starting at pos (the stream's
// position before it, as its checkpoint holds it) still reaches into what the dead run was writing.
func (r *run) readMark(ctx context.Context, stream string, before func(pos, upTo string) bool) (*writingMark, error) {
	cp, etag, _, err := r.Checkpoints.Get(ctx, markName(stream))
	if err != nil {
		return nil, fmt.Errorf("reading the %s writing mark: %w", stream, err)
	}
	m := &writingMark{r: r, cp: cp, etag: etag, before: before}
	if cp.Value != "" && cp.Value != r.id {
		var p markPosition
		if err := json.Unmarshal([]byte(cp.Extra), &p); err != nil {
			p.End = true // unreadable: read back everything up to the pass's end rather than rewrite it
		}
		m.upTo, m.end = p.UpTo, p.End
		r.Log.InfoContext(ctx, "inventory sync: a run ended while writing; reading Dataverse before writing up to where it was",
			"stream", stream, "dead_run", cp.Value, "up_to", cp.Extra, "to_end", m.end)
	}
	return m, nil
}

// verify reports whether the group starting after pos must be read back from Dataverse before it is written.
func (m *writingMark) verify(pos string) bool {
	if m.upTo == "" && !m.end {
		return false
	}
	return m.end || m.before(pos, m.upTo)
}

// writing records that this run is about to write the group reaching to upTo ("" and last: its pass's end).
// Until the run has passed a dead run's position, the mark keeps that position: should this run end too, the
// next one must still read back everything the dead run may have written.
func (m *writingMark) writing(ctx context.Context, upTo string, last bool) error {
	if m.upTo != "" || m.end {
		if m.end {
			last = true
		} else if !last && m.before(upTo, m.upTo) {
			upTo = m.upTo
		}
	}
	b, _ := json.Marshal(markPosition{UpTo: upTo, End: last})
	m.cp.Value, m.cp.Extra = m.r.id, string(b)
	return m.save(ctx)
}

// done clears the mark: the stream stopped at a group boundary with every group fingerprinted. A run that
// stops (at its budget) before it has passed a dead run's position leaves the mark, at that position, for
// its continuation; pos is where the stream stopped ("" with complete: its pass's end).
func (m *writingMark) done(ctx context.Context, pos string, complete bool) error {
	if !complete && (m.end || m.upTo != "" && m.before(pos, m.upTo)) {
		return nil // the mark already says how far to read back
	}
	if m.cp.Value == "" {
		return nil
	}
	m.cp.Value, m.cp.Extra = "", ""
	return m.save(ctx)
}

func (m *writingMark) save(ctx context.Context) error {
	m.cp.RunID = m.r.id
	etag, err := m.r.Checkpoints.Save(ctx, m.cp, m.etag)
	if err != nil {
		return fmt.Errorf("saving the %s writing mark: %w", m.cp.Stream, err)
	}
	m.etag = etag
	return nil
}
