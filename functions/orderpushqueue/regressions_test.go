package orderpushqueue_test

import (
	"testing"

	"github.com/d365sap/d365sap/shared/problem"
)

// TestMessagesWithoutAGUIDAreDeadLettered: an id that is not a GUID can never name a push; retrying it only
// burns the dequeue count (and an id with '/' makes the table read fail as "unavailable", which is retryable).
func TestMessagesWithoutAGUIDAreDeadLettered(t *testing.T) {
	for _, body := range []string{`{"salesorderid":"ORD-01001","action":"push"}`, `{"salesorderid":"a/b","action":"push"}`} {
		t.Run(body, func(t *testing.T) {
			r := &fakeResumer{}
			err := handle(t, r, body)
			if problem.KindOf(err) != problem.Invalid || problem.Retryable(err) {
				t.Errorf("err = %v, want a permanent invalid", err)
			}
			if len(r.got) != 0 {
				t.Errorf("resumed %+v", r.got)
			}
		})
	}
}
