package hostile

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/d365sap/d365sap/infra/local/funchost"
	"github.com/d365sap/d365sap/shared/deadletter"
)

// qcase is one hostile message for the order-push queue function.
// qtarget is a queue-triggered function and the queue it reads.
type qtarget struct{ queue, function string }

type qcase struct {
	name string
	body []byte // the message's content
	// raw puts the text on the queue as it is, not base64 as the host's messageEncoding expects.
	raw bool
	// admin runs the function through the host's admin call instead: no queue, no message id.
	admin bool
	want  qend
	kind  string // the dead letter's problem kind
}

// qend is how a message must end.
type qend int

const (
	deadLettered qend = iota // written to DEADLETTER_CONTAINER and acknowledged
	acknowledged             // deleted, nothing written
	poisoned                 // moved to <queue>-poison by the host; the handler never saw it
)

// runQueue puts every message on the queue at once (they are independent), waits for each to end, then checks
// each end and that the whole batch wrote nothing but its dead letters and poison messages.
func runQueue(t *testing.T, w *world, tl *tally, to qtarget, cases []qcase) {
	t.Helper()
	ctx := t.Context()
	q := w.st.queues.NewQueueClient(to.queue)
	want := allowance{}
	for _, c := range cases {
		switch c.want {
		case deadLettered:
			want.deadLetters++
		case poisoned:
			want.poison++
		}
	}
	logFrom := len(w.app.Log.String())
	before := w.st.snapshot(t)
	ids := make([]string, len(cases))
	for i, c := range cases {
		if c.admin {
			w.app.Invoke(t, to.function, string(c.body))
			continue
		}
		text := base64.StdEncoding.EncodeToString(c.body)
		if c.raw {
			text = string(c.body)
		}
		resp, err := q.EnqueueMessage(ctx, text, nil)
		if err != nil || len(resp.Messages) != 1 {
			t.Fatalf("enqueueing %q: %v", c.name, err)
		}
		ids[i] = *resp.Messages[0].MessageID
	}
	after := w.st.waitQueue(t, before, want, to.queue)
	delta := w.app.Log.String()[logFrom:]
	for _, d := range want.diff(w, before, after) {
		t.Errorf("the queue messages: not allowed: %s", d)
	}
	// Every message the host could decode reached the function (the poisoned one never does).
	reached := 0
	for _, c := range cases {
		if c.want != poisoned {
			reached++
			tl.ran([]string{to.function})
		}
	}
	if n := strings.Count(strings.Join(executed(delta), " "), to.function); n < reached {
		t.Errorf("the queue function ran %d times for %d messages it should have read", n, reached)
	}
	letters := w.st.letters(t, before, after)
	poison := w.st.peekAll(t, to.queue+funchost.PoisonSuffix)
	for i, c := range cases {
		checked := false
		ok := t.Run("queue/"+to.function+"/"+c.name, func(t *testing.T) {
			checked = true
			if strings.Contains(delta, "handler process exited") {
				t.Fatal("the handler process exited while the queue messages ran")
			}
			l, found := findLetter(letters, ids[i], c)
			switch c.want {
			case deadLettered:
				if !found {
					t.Fatalf("no dead letter (of %d written)", len(letters))
				}
				if l.Kind != c.kind || l.Function != to.function || !c.admin && l.DequeueCount != 1 {
					t.Errorf("dead letter: kind %q function %q dequeue count %d, want %s", l.Kind, l.Function, l.DequeueCount, c.kind)
				}
			case acknowledged, poisoned:
				if found {
					t.Errorf("dead-lettered (%s: %s); want %s", l.Kind, l.Reason, map[qend]string{acknowledged: "acknowledged", poisoned: "poisoned"}[c.want])
				}
			}
			if got := slices.Contains(poison, string(c.body)); got != (c.want == poisoned) {
				t.Errorf("on the poison queue: %v", got)
			}
		})
		if checked { // not left out by -run
			tl.add(queue, ok, 0, false)
		}
	}
}

// waitQueue waits until the push queue is back to where it was (every message deleted or moved) and either the
// dead letters and poison messages the batch may write are all there, or nothing has changed for a while (some
// message ended otherwise: the cases say which).
func (s *storage) waitQueue(t *testing.T, before snapshot, a allowance, queue string) snapshot {
	t.Helper()
	const quiet = 2 * time.Second
	deadline := time.Now().Add(60 * time.Second)
	poison := queue + funchost.PoisonSuffix
	var last snapshot
	var since time.Time
	for {
		after := s.snapshot(t)
		back := after.queues[queue] <= before.queues[queue]
		if back && len(after.dead) >= len(before.dead)+a.deadLetters && after.queues[poison] >= before.queues[poison]+a.poison {
			// A moment more, so a message handled twice or a late write shows in the snapshot.
			time.Sleep(300 * time.Millisecond)
			return s.snapshot(t)
		}
		if !back || len(after.dead) != len(last.dead) || after.queues[poison] != last.queues[poison] {
			last, since = after, time.Now()
		} else if time.Since(since) > quiet {
			return after
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not settle: push queue %d (was %d), dead letters %d (was %d, %d expected), poison %d",
				after.queues[queue], before.queues[queue], len(after.dead), len(before.dead), a.deadLetters, after.queues[poison])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// letters reads the dead letters written between two snapshots.
func (s *storage) letters(t *testing.T, before, after snapshot) []deadletter.Letter {
	t.Helper()
	var out []deadletter.Letter
	for name := range after.dead {
		if _, old := before.dead[name]; old {
			continue
		}
		var l deadletter.Letter
		if err := json.Unmarshal(s.blob(t, s.w.dead, name), &l); err != nil {
			t.Fatalf("dead letter %s: %v", name, err)
		}
		out = append(out, l)
	}
	return out
}

// findLetter finds a message's dead letter: by message id, or for an admin call (which has none) by its body.
func findLetter(letters []deadletter.Letter, id string, c qcase) (deadletter.Letter, bool) {
	for _, l := range letters {
		switch {
		case !c.admin && id != "" && l.MessageID == id:
			return l, true
		case c.admin && l.MessageID == "" && l.Body != nil && *l.Body == string(c.body):
			return l, true
		}
	}
	return deadletter.Letter{}, false
}

// peekAll reads a queue's visible messages (at most 32) without taking them, decoded as the host would.
func (s *storage) peekAll(t *testing.T, queue string) []string {
	t.Helper()
	resp, err := s.queues.NewQueueClient(queue).PeekMessages(t.Context(), &azqueue.PeekMessagesOptions{NumberOfMessages: to.Ptr(int32(32))})
	if missing(err, "QueueNotFound") {
		return nil
	}
	if err != nil {
		t.Fatalf("peeking %s: %v", queue, err)
	}
	var out []string
	for _, m := range resp.Messages {
		text := *m.MessageText
		if b, err := base64.StdEncoding.DecodeString(text); err == nil {
			text = string(b)
		}
		out = append(out, text)
	}
	return out
}
