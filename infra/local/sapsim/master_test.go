package sapsim

import (
	"testing"
	"time"
)

// TestHistoryServesTheLastCommittedVersion: reads see the last version already visible, before it the one it
// replaces, and only those two are kept.
func TestHistoryServesTheLastCommittedVersion(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var h history[string]
	h = h.then("a", t0)
	h = h.then("b", t0.Add(time.Minute))
	h = h.then("c", t0.Add(2*time.Minute))
	cases := []struct {
		name string
		at   time.Time
		want string
		ok   bool
	}{
		{"before the kept versions", t0.Add(30 * time.Second), "", false},
		{"the version being replaced", t0.Add(90 * time.Second), "b", true},
		{"the last one, once committed", t0.Add(2 * time.Minute), "c", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, ok := h.at(tc.at); got != tc.want || ok != tc.ok {
				t.Fatalf("at %v: %q %v, want %q %v", tc.at, got, ok, tc.want, tc.ok)
			}
		})
	}
	if len(h) != 2 || !h.pending(t0.Add(time.Minute)) || h.pending(t0.Add(2*time.Minute)) {
		t.Fatalf("history %v", h)
	}
}
