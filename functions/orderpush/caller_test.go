package orderpush_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tally counts what callers saw, safely from many goroutines.
type tally struct {
	mu       sync.Mutex
	statuses map[int]int // HTTP status of every POST and status poll
	requests map[string]int
	transErr int // transport errors (no HTTP answer)
	final    map[string]int
}

func newTally() *tally {
	return &tally{statuses: map[int]int{}, requests: map[string]int{}, final: map[string]int{}}
}

func (t *tally) status(method string, code int) {
	t.mu.Lock()
	t.statuses[code]++
	t.requests[method]++
	t.mu.Unlock()
}

func (t *tally) transport() {
	t.mu.Lock()
	t.transErr++
	t.mu.Unlock()
}

func (t *tally) outcome(state string) {
	t.mu.Lock()
	t.final[state]++
	t.mu.Unlock()
}

func (t *tally) classes() (c2, c4, c5 int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for code, n := range t.statuses {
		switch code / 100 {
		case 2:
			c2 += n
		case 4:
			c4 += n
		case 5:
			c5 += n
		}
	}
	return c2, c4, c5
}

// pushAnswer is what a caller keeps of an answer.
type pushAnswer struct {
	status     int
	state      string
	sapNumber  string
	location   string
	retryAfter time.Duration
	body       string
}

// caller pushes like Power Automate's HTTP action with its default retry policy and the asynchronous pattern:
// it retries 408/409/429/5xx and transport errors with a short backoff (honouring Retry-After up to maxWait) and,
// on 202, polls the Location until the push is final.
type caller struct {
	w       *loadWorld
	tally   *tally
	maxWait time.Duration // longest wait between tries, whatever Retry-After says (the soak compresses time)
	// repushAfter: a push still 202 after this long is pushed again (the flow's own timeout and retry).
	repushAfter time.Duration
	deadline    time.Duration // give up on an order after this long
}

var errGaveUp = errors.New("gave up")

func (c *caller) do(ctx context.Context, method, url string, body []byte) (pushAnswer, error) {
	var r io.Reader
	if body != nil {
		r = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return pushAnswer{}, err
	}
	req.Header.Set("x-functions-key", c.w.app.FunctionKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.w.client.Do(req)
	if err != nil {
		c.tally.transport()
		return pushAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tally.transport()
		return pushAnswer{}, err
	}
	c.tally.status(method, resp.StatusCode)
	a := pushAnswer{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
		a.retryAfter = time.Duration(s) * time.Second
	}
	var v struct {
		State         string `json:"state"`
		SAPSalesOrder string `json:"sapSalesOrder"`
	}
	_ = json.Unmarshal(b, &v)
	a.state, a.sapNumber = v.State, v.SAPSalesOrder
	return a, nil
}

func (c *caller) pause(ctx context.Context, try int, retryAfter time.Duration) {
	d := min(50*time.Millisecond<<min(try, 5), c.maxWait)
	if retryAfter > 0 {
		d = min(retryAfter, c.maxWait)
	}
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// push sends one logical push of an order and follows it to a final answer: the SAP number and state.
func (c *caller) push(ctx context.Context, id string) (pushAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.deadline)
	defer cancel()
	body := []byte(`{"salesorderid":"` + id + `"}`)
	for try := 0; ; try++ {
		if ctx.Err() != nil {
			return pushAnswer{}, fmt.Errorf("pushing order %s: %w after %d tries", id, errGaveUp, try)
		}
		a, err := c.do(ctx, http.MethodPost, c.w.app.URL("/api/orders"), body)
		if err != nil {
			c.pause(ctx, try, 0)
			continue
		}
		switch {
		case a.status == http.StatusOK || a.status == http.StatusCreated:
			return a, nil
		case a.status == http.StatusAccepted:
			final, again, err := c.poll(ctx, a)
			if err != nil || !again {
				return final, err
			}
		case a.status == 408 || a.status == 409 || a.status == 429 || a.status >= 500:
			c.pause(ctx, try, a.retryAfter)
		default:
			return a, fmt.Errorf("pushing order %s: %d %s", id, a.status, a.body)
		}
	}
}

// poll follows a 202's Location until the push is final; again asks the caller to push once more (the push failed,
// or stayed accepted longer than repushAfter).
func (c *caller) poll(ctx context.Context, a pushAnswer) (final pushAnswer, again bool, err error) {
	loc := a.location
	if !strings.HasPrefix(loc, "http") {
		loc = c.w.app.URL(loc)
	}
	start := time.Now()
	for try := 0; ; try++ {
		c.pause(ctx, 0, a.retryAfter)
		if ctx.Err() != nil {
			return pushAnswer{}, false, fmt.Errorf("polling %s: %w", loc, errGaveUp)
		}
		if time.Since(start) > c.repushAfter {
			return pushAnswer{}, true, nil
		}
		a, err = c.do(ctx, http.MethodGet, loc, nil)
		if err != nil {
			continue
		}
		switch {
		case a.status == http.StatusOK && (a.state == "created" || a.state == "written-back"):
			return a, false, nil
		case a.status == http.StatusOK:
			return a, false, fmt.Errorf("polling %s: final state %q: %s", loc, a.state, a.body)
		case a.status == http.StatusAccepted || a.status == 429 || a.status >= 500:
		default:
			return a, false, fmt.Errorf("polling %s: %d %s", loc, a.status, a.body)
		}
	}
}
