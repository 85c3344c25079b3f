package dvsim

import (
	"bytes"
	"encoding/json"
)

// WriteCounts counts the row writes made to one table: every row a create, update, upsert, bulk target, $batch
// part, close action or delete wrote, whether or not a value changed (Dataverse writes, and bumps the row version,
// on an update that repeats the stored values). Writes undone by a failed changeset or bulk call are not counted.
type WriteCounts struct {
	Creates int
	// Updates counts update writes that set a column other than statecode/statuscode, or that left the state as it
	// was; StateChanges counts writes that changed statecode or statuscode. A PATCH of both counts once in each.
	Updates      int
	StateChanges int
	Deletes      int
	// Unchanged counts, of the updates, those that set every column to the value it already held: a repeated
	// write, such as a sync's rewrite of a batch it cannot tell had landed. It is part of Updates, not beside it.
	Unchanged int
}

// Total is the number of row writes.
func (w WriteCounts) Total() int { return w.Creates + w.Updates + w.StateChanges + w.Deletes }

// Sub is w minus an earlier reading: what happened in between.
func (w WriteCounts) Sub(earlier WriteCounts) WriteCounts {
	return WriteCounts{Creates: w.Creates - earlier.Creates, Updates: w.Updates - earlier.Updates,
		StateChanges: w.StateChanges - earlier.StateChanges, Deletes: w.Deletes - earlier.Deletes,
		Unchanged: w.Unchanged - earlier.Unchanged}
}

func (w *WriteCounts) add(d WriteCounts, sign int) {
	w.Creates += sign * d.Creates
	w.Updates += sign * d.Updates
	w.StateChanges += sign * d.StateChanges
	w.Deletes += sign * d.Deletes
	w.Unchanged += sign * d.Unchanged
}

// Writes returns the writes made to an entity set so far (zero for a set the simulator does not hold), so a test
// can assert that a rerun wrote nothing: take a reading before, another after, and compare with Sub.
func (s *Server) Writes(set string) WriteCounts {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	if td, ok := s.store.tables[set]; ok {
		return td.writes
	}
	return WriteCounts{}
}

// AllWrites returns the writes by entity set, for the tables written to at least once.
func (s *Server) AllWrites() map[string]WriteCounts {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	out := map[string]WriteCounts{}
	for set, td := range s.store.tables {
		if td.writes.Total() > 0 {
			out[set] = td.writes
		}
	}
	return out
}

// count adds d to the table's counters and undoes it if x rolls back.
func (x *tx) count(t *tableData, d WriteCounts) {
	t.writes.add(d, 1)
	x.undo = append(x.undo, func() { t.writes.add(d, -1) })
}

// updateKind classifies an update of prev by values: a state change, an update of other columns, or both.
func updateKind(prev map[string]any, values map[string]any) WriteCounts {
	var d WriteCounts
	other := false
	for k, v := range values {
		if k != "statecode" && k != "statuscode" {
			other = true
			continue
		}
		if c, ok := compareValues(prev[k], v); !ok || c != 0 {
			d.StateChanges = 1
		}
	}
	if other || d.StateChanges == 0 {
		d.Updates = 1
	}
	if d.StateChanges == 0 && sameValues(prev, values) {
		d.Unchanged = 1
	}
	return d
}

// sameValues reports whether every column of values already holds that value in prev: numbers by value (1.50
// is 1.5), text exactly (a change of case is a change), anything else by its JSON.
func sameValues(prev, values map[string]any) bool {
	for k, v := range values {
		old, ok := prev[k]
		if !ok {
			if v == nil {
				continue
			}
			return false
		}
		switch nv := v.(type) {
		case json.Number:
			if c, ok := compareValues(old, nv); !ok || c != 0 {
				return false
			}
		case string:
			if s, ok := old.(string); !ok || s != nv {
				return false
			}
		default:
			a, _ := json.Marshal(old)
			b, _ := json.Marshal(v)
			if !bytes.Equal(a, b) {
				return false
			}
		}
	}
	return true
}
