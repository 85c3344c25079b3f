package sapsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// The publisher delivers as a broker with QoS 1: every event at least once, through an outage of the endpoint,
// with the duplicates (same and new ids) and the reordering it is set for.
func TestPublisherDeliversAtLeastOnceWithItsFaults(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	down := true
	p := NewPublisher(func(body []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("endpoint down")
		}
		var e map[string]any
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("delivered %s: %v", body, err)
		}
		got = append(got, e)
		return nil
	}, PublisherFaults{Duplicate: 0.2, NewID: 0.2, Reorder: 0.2, Delay: 5 * time.Millisecond, Retry: 5 * time.Millisecond}, 7)
	defer p.Close()
	const n = 200
	for i := range n {
		p.Raise(Event{Type: soEvent + "Changed.v1", Data: map[string]string{"SalesOrder": fmt.Sprint(i + 1)}, Raised: time.Now()})
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	down = false
	mu.Unlock()
	if !p.Drain(10 * time.Second) {
		t.Fatalf("%d deliveries still pending", p.Pending())
	}
	st := p.Stats()
	mu.Lock()
	defer mu.Unlock()
	seen, ids := map[string]int{}, map[string]int{}
	outOfOrder := 0
	last := 0
	for _, e := range got {
		n := 0
		fmt.Sscan(e["data"].(map[string]any)["SalesOrder"].(string), &n)
		if n < last {
			outOfOrder++
		}
		last = n
		seen[fmt.Sprint(n)]++
		ids[e["id"].(string)]++
	}
	if len(seen) != n {
		t.Fatalf("%d of %d events delivered", len(seen), n)
	}
	sameID := 0
	for _, c := range ids {
		if c > 1 {
			sameID++
		}
	}
	if st.Failed == 0 || sameID == 0 || st.NewIDs == 0 || outOfOrder == 0 || len(got) != n+st.Duplicated+st.NewIDs {
		t.Fatalf("stats %+v: %d ids delivered twice, %d out of order, %d deliveries", st, sameID, outOfOrder, len(got))
	}
}
