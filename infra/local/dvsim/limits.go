package dvsim

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// Limits are the service protection limits, evaluated per user over a sliding window.
type Limits struct {
	Window        time.Duration // 300 s in Dataverse
	Requests      int           // requests per window (6,000)
	ExecutionTime time.Duration // combined execution time per window (1,200 s)
	Concurrent    int           // concurrent requests (52); over it the answer is an immediate 429
	DOPHint       int           // value of x-ms-dop-hint on every response; 0 omits the header
	// RetryAfterUnit rounds Retry-After up to a multiple of it. Dataverse sends whole seconds; a time-scaled
	// simulator may use a finer unit and then sends decimal seconds (e.g. "0.25").
	RetryAfterUnit time.Duration
}

// RealLimits are Dataverse's defaults per user per web server.
func RealLimits() Limits {
	return Limits{Window: 300 * time.Second, Requests: 6000, ExecutionTime: 1200 * time.Second, Concurrent: 52,
		DOPHint: 8, RetryAfterUnit: time.Second}
}

// Scaled keeps the ratios of l (requests per second, execution time per second) over a shorter window.
// The concurrency limit does not depend on time and stays as it is.
func (l Limits) Scaled(window time.Duration) Limits {
	f := float64(window) / float64(l.Window)
	out := l
	out.Window = window
	out.Requests = int(math.Max(1, math.Round(float64(l.Requests)*f)))
	out.ExecutionTime = time.Duration(float64(l.ExecutionTime) * f)
	out.RetryAfterUnit = time.Duration(math.Max(float64(time.Millisecond), float64(l.RetryAfterUnit)*f))
	return out
}

type execEntry struct {
	at time.Time
	d  time.Duration
}

type userLimits struct {
	inflight     int
	reqs         []time.Time
	exec         []execEntry
	execSum      time.Duration
	blockedUntil time.Time
	stats        UserStats
}

// UserStats counts what one user did and what the limits refused.
type UserStats struct {
	Requests      int            // accepted requests
	Throttled     map[string]int // 429s by error code
	ExecutionTime time.Duration  // server execution time charged
	Operations    int            // operations (rows written or read requests), batch and bulk parts included
	// PeakWindowExecution is the most execution time one window held: above the limit by what the client
	// overshot (the limits are evaluated after the fact).
	PeakWindowExecution time.Duration
	// RequestsByServer counts accepted requests per simulated web server.
	RequestsByServer map[int]int
}

// limiterKey: the limits apply per user per web server.
type limiterKey struct {
	user   string
	server int
}

type limiter struct {
	mu    sync.Mutex
	l     Limits
	users map[limiterKey]*userLimits
	now   func() time.Time
}

func newLimiter(l Limits, now func() time.Time) *limiter {
	return &limiter{l: l, users: map[limiterKey]*userLimits{}, now: now}
}

type throttle struct {
	code       string
	message    string
	retryAfter time.Duration
}

func (u *userLimits) trim(now time.Time, window time.Duration) {
	cut := now.Add(-window)
	i := 0
	for i < len(u.reqs) && !u.reqs[i].After(cut) {
		i++
	}
	u.reqs = u.reqs[i:]
	j := 0
	for j < len(u.exec) && !u.exec[j].at.After(cut) {
		u.execSum -= u.exec[j].d
		j++
	}
	u.exec = u.exec[j:]
}

// begin admits a request or says why not. The request and time limits are evaluated after the fact: a
// request is refused only once the window already holds the limit.
func (lm *limiter) begin(user string, server int) (*throttle, rateHeaders) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	now := lm.now()
	key := limiterKey{user, server}
	u := lm.users[key]
	if u == nil {
		u = &userLimits{stats: UserStats{Throttled: map[string]int{}, RequestsByServer: map[int]int{}}}
		lm.users[key] = u
	}
	u.trim(now, lm.l.Window)
	var th *throttle
	switch {
	case lm.l.Concurrent > 0 && u.inflight >= lm.l.Concurrent:
		th = &throttle{code: codeConcurrent, retryAfter: lm.l.RetryAfterUnit,
			message: fmt.Sprintf("Number of concurrent requests exceeded the limit of %d.", lm.l.Concurrent)}
	case lm.l.Requests > 0 && len(u.reqs) >= lm.l.Requests:
		wait := u.reqs[len(u.reqs)-lm.l.Requests].Add(lm.l.Window).Sub(now)
		th = &throttle{code: codeTooManyRequests, retryAfter: wait,
			message: fmt.Sprintf("Number of requests exceeded the limit of %d over time window of %d seconds.", lm.l.Requests, int(lm.l.Window.Seconds()))}
	case lm.l.ExecutionTime > 0 && u.execSum >= lm.l.ExecutionTime:
		sum := u.execSum
		var wait time.Duration
		for _, e := range u.exec {
			sum -= e.d
			if sum < lm.l.ExecutionTime {
				wait = e.at.Add(lm.l.Window).Sub(now)
				break
			}
		}
		th = &throttle{code: codeExecutionTime, retryAfter: wait,
			message: fmt.Sprintf("Combined execution time of incoming requests exceeded limit of %d milliseconds over time window of %d seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later.", lm.l.ExecutionTime.Milliseconds(), int(lm.l.Window.Seconds()))}
	}
	if th != nil {
		if th.code != codeConcurrent {
			// A client that keeps pushing before the announced time waits longer.
			if now.Before(u.blockedUntil) {
				u.blockedUntil = u.blockedUntil.Add(lm.l.RetryAfterUnit)
			} else {
				u.blockedUntil = now.Add(th.retryAfter)
			}
			th.retryAfter = u.blockedUntil.Sub(now)
		}
		u.stats.Throttled[th.code]++
		return th, lm.headers(u)
	}
	u.inflight++
	u.reqs = append(u.reqs, now)
	u.stats.Requests++
	u.stats.RequestsByServer[server]++
	return nil, lm.headers(u)
}

// end charges the execution time of a finished request.
func (lm *limiter) end(user string, server int, cost time.Duration, ops int) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	u := lm.users[limiterKey{user, server}]
	u.inflight--
	if cost > 0 {
		u.exec = append(u.exec, execEntry{at: lm.now(), d: cost})
		u.execSum += cost
	}
	u.stats.ExecutionTime += cost
	u.trim(lm.now(), lm.l.Window)
	u.stats.PeakWindowExecution = max(u.stats.PeakWindowExecution, u.execSum)
	u.stats.Operations += ops
}

type rateHeaders map[string]string

func (lm *limiter) headers(u *userLimits) rateHeaders {
	h := rateHeaders{
		"x-ms-ratelimit-burst-remaining-xrm-requests": strconv.Itoa(max(0, lm.l.Requests-len(u.reqs))),
		"x-ms-ratelimit-time-remaining-xrm-requests":  strconv.FormatInt(max(0, (lm.l.ExecutionTime-u.execSum).Milliseconds()), 10),
	}
	if lm.l.DOPHint > 0 {
		h["x-ms-dop-hint"] = strconv.Itoa(lm.l.DOPHint)
	}
	return h
}

// stats sums each user's counters over the web servers (the peak is the highest of any one server).
func (lm *limiter) stats() map[string]UserStats {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	out := map[string]UserStats{}
	for k, u := range lm.users {
		s, ok := out[k.user]
		if !ok {
			s = UserStats{Throttled: map[string]int{}, RequestsByServer: map[int]int{}}
		}
		s.Requests += u.stats.Requests
		s.ExecutionTime += u.stats.ExecutionTime
		s.Operations += u.stats.Operations
		s.PeakWindowExecution = max(s.PeakWindowExecution, u.stats.PeakWindowExecution)
		for c, n := range u.stats.Throttled {
			s.Throttled[c] += n
		}
		for srv, n := range u.stats.RequestsByServer {
			s.RequestsByServer[srv] += n
		}
		out[k.user] = s
	}
	return out
}

// formatRetryAfter rounds d up to the unit; whole seconds when the unit is a second or more.
func formatRetryAfter(d, unit time.Duration) string {
	if unit <= 0 {
		unit = time.Second
	}
	if d < unit {
		d = unit
	}
	n := (d + unit - 1) / unit
	d = n * unit
	if unit >= time.Second {
		return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}
