package funchost

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// schedule gives the next occurrence after a time.
type schedule interface{ Next(time.Time) time.Time }

// ncrontab is six-field NCRONTAB (seconds first) as the timer trigger reads it. Unlike Vixie cron, NCRONTAB requires
// both day-of-month and day-of-week to match when both are restricted, so that case takes two schedules.
type ncrontab struct {
	both        bool
	dom, dow    cron.Schedule // dom: day-of-week widened to *; dow: day-of-month widened to *
	plain       cron.Schedule
	description string
}

var ncrontabParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

func parseSchedule(expr string) (schedule, error) {
	fields := strings.Fields(expr)
	if len(fields) == 1 {
		// App Service plans also accept a TimeSpan: run every hh:mm:ss.
		d, err := parseTimeSpan(fields[0])
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("parsing schedule %q: neither NCRONTAB nor a positive TimeSpan", expr)
		}
		return interval(d), nil
	}
	if len(fields) == 5 {
		fields = append([]string{"0"}, fields...)
	}
	if len(fields) != 6 {
		return nil, fmt.Errorf("parsing schedule %q: want six fields (second minute hour day month day-of-week)", expr)
	}
	n := &ncrontab{description: expr}
	var err error
	if n.plain, err = ncrontabParser.Parse(strings.Join(fields, " ")); err != nil {
		return nil, fmt.Errorf("parsing schedule %q: %w", expr, err)
	}
	if isStar(fields[3]) || isStar(fields[5]) {
		return n, nil
	}
	n.both = true
	domOnly := append(append([]string{}, fields[:5]...), "*")
	dowOnly := append(append(append([]string{}, fields[:3]...), "*", fields[4]), fields[5])
	if n.dom, err = ncrontabParser.Parse(strings.Join(domOnly, " ")); err != nil {
		return nil, fmt.Errorf("parsing schedule %q: %w", expr, err)
	}
	if n.dow, err = ncrontabParser.Parse(strings.Join(dowOnly, " ")); err != nil {
		return nil, fmt.Errorf("parsing schedule %q: %w", expr, err)
	}
	return n, nil
}

func isStar(f string) bool { return f == "*" || f == "?" }

func (n *ncrontab) Next(t time.Time) time.Time {
	if !n.both {
		return n.plain.Next(t)
	}
	// Walk the day-of-month occurrences until one also falls on an allowed weekday (bounded: about 28 years).
	for i := 0; i < 10000; i++ {
		t = n.dom.Next(t)
		if t.IsZero() {
			return t
		}
		if n.dow.Next(t.Add(-time.Second)).Equal(t) {
			return t
		}
	}
	return time.Time{}
}

type interval time.Duration

func (d interval) Next(t time.Time) time.Time { return t.Add(time.Duration(d)).Truncate(time.Second) }

// timer is one timer-triggered function's state.
type timer struct {
	fn         *function
	sched      schedule
	loc        *time.Location
	useMonitor bool

	run sync.Mutex // held while an invocation runs: never two at once

	mu         sync.Mutex
	status     *scheduleStatus
	runs       int
	lastFailed bool
}

type scheduleStatus struct {
	Last        time.Time
	Next        time.Time
	LastUpdated time.Time
}

func newTimer(fn *function, expr string, settings map[string]string) (*timer, error) {
	s, err := parseSchedule(expr)
	if err != nil {
		return nil, err
	}
	loc := time.UTC
	if tz := settings["WEBSITE_TIME_ZONE"]; tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("loading WEBSITE_TIME_ZONE %q (an IANA name on Linux): %w", tz, err)
		}
		loc = l
	}
	tm := &timer{fn: fn, sched: s, loc: loc}
	if fn.trigger.UseMonitor != nil {
		tm.useMonitor = *fn.trigger.UseMonitor
	} else {
		// The host monitors schedules that recur every minute or less often.
		a := s.Next(time.Now().In(loc))
		tm.useMonitor = s.Next(a).Sub(a) >= time.Minute
	}
	return tm, nil
}

func (h *Host) runTimer(ctx context.Context, tm *timer) {
	now := time.Now().In(tm.loc)
	next := tm.sched.Next(now)
	if tm.useMonitor {
		tm.mu.Lock()
		tm.status = &scheduleStatus{Next: next, LastUpdated: now}
		tm.mu.Unlock()
	}
	if tm.fn.trigger.RunOnStart {
		h.fireTimer(ctx, tm, false)
	}
	for {
		next = tm.sched.Next(time.Now().In(tm.loc))
		if next.IsZero() {
			h.log.Warn("schedule has no next occurrence", "function", tm.fn.name)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		h.fireTimer(ctx, tm, false)
	}
}

// fireTimer runs the function once, waiting for a running one to finish first, and retries a failure as the
// function's retry policy says.
func (h *Host) fireTimer(ctx context.Context, tm *timer, pastDue bool) {
	tm.run.Lock()
	defer tm.run.Unlock()
	now := time.Now().In(tm.loc)
	info := map[string]any{"Schedule": map[string]any{"AdjustForDST": true}, "ScheduleStatus": nil, "IsPastDue": pastDue}
	tm.mu.Lock()
	if st := tm.status; st != nil {
		info["ScheduleStatus"] = map[string]any{"Last": formatScheduleTime(st.Last), "Next": formatScheduleTime(st.Next),
			"LastUpdated": formatScheduleTime(st.LastUpdated)}
	}
	tm.mu.Unlock()
	var err error
retry:
	for attempt := 0; ; attempt++ {
		inv := newInvocation(tm.fn)
		inv.data[tm.fn.trigger.Name] = info
		if p := tm.fn.retry; p != nil {
			inv.metadata["RetryContext"] = retryContext(attempt, p.maxRetryCount, err)
		}
		_, err = h.invoke(context.WithoutCancel(ctx), inv)
		p := tm.fn.retry
		if err == nil || p == nil || p.exhausted(attempt+1) {
			break
		}
		wait := p.delay(attempt + 1)
		h.log.Warn("retrying", "function", tm.fn.name, "retry", attempt+1, "max_retry_count", p.maxRetryCount,
			"after", wait.String())
		select {
		case <-ctx.Done(): // the host is closing
			break retry
		case <-time.After(wait):
		}
	}
	tm.mu.Lock()
	tm.runs++
	tm.lastFailed = err != nil
	if tm.useMonitor {
		tm.status = &scheduleStatus{Last: now, Next: tm.sched.Next(time.Now().In(tm.loc)), LastUpdated: time.Now().In(tm.loc)}
	}
	tm.mu.Unlock()
}

// retryContext is Metadata.RetryContext: the retry number (0 on the first attempt) and the last failure.
func retryContext(retry, max int, last error) map[string]any {
	rc := map[string]any{"RetryCount": retry, "MaxRetryCount": max, "Exception": nil}
	if last != nil {
		rc["Exception"] = map[string]any{"ClassName": "System.Exception", "Message": last.Error()}
	}
	return rc
}

// formatScheduleTime writes a DateTime as Json.NET does; the zero time is .NET's DateTime.MinValue.
func formatScheduleTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00"
	}
	return t.Format(dotnetTime)
}
