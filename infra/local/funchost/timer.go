package funchost

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
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

	mu     sync.Mutex
	status *scheduleStatus
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
	pastDue := false
	if tm.useMonitor {
		st, err := h.readTimerStatus(ctx, tm)
		if err != nil {
			h.log.Warn("reading the timer's schedule status", "function", tm.fn.name, "err", err.Error())
		}
		if st == nil {
			st = &scheduleStatus{Next: next, LastUpdated: now}
		} else {
			// An occurrence passed while no host ran: the host runs it at once, flagged past due.
			pastDue = st.Next.Before(now)
		}
		tm.mu.Lock()
		tm.status = st
		tm.mu.Unlock()
	}
	if pastDue {
		h.log.Info("timer is past due", "function", tm.fn.name)
		h.fireTimer(ctx, tm, true)
	} else if tm.fn.trigger.RunOnStart {
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
	var st *scheduleStatus
	if tm.useMonitor {
		st = &scheduleStatus{Last: now, Next: tm.sched.Next(time.Now().In(tm.loc)), LastUpdated: time.Now().In(tm.loc)}
		tm.status = st
	}
	tm.mu.Unlock()
	if st != nil {
		if err := h.writeTimerStatus(context.WithoutCancel(ctx), tm, st); err != nil {
			h.log.Warn("recording the timer's schedule status", "function", tm.fn.name, "err", err.Error())
		}
	}
}

// Where the host keeps monitored timers' status: one small JSON blob per function in the app's storage account.
const (
	hostsContainer = "azure-webjobs-hosts"
	SettingHostID  = "AzureFunctionsWebHost__hostid"
)

func (h *Host) timerStatusBlob(tm *timer) string {
	return "timers/" + h.hostID() + "/Host.Functions." + tm.fn.name + "/status"
}

// hostID names this app in the storage account: the host's setting, else the machine's name as Core Tools does.
func (h *Host) hostID() string {
	if id := h.settings[SettingHostID]; id != "" {
		return id
	}
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "funchost"
	}
	name = strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9-]`).ReplaceAllString(name, "-"))
	if len(name) > 32 {
		name = name[:32]
	}
	return strings.Trim(name, "-")
}

type statusDoc struct {
	Last        string `json:"Last"`
	Next        string `json:"Next"`
	LastUpdated string `json:"LastUpdated"`
}

// readTimerStatus loads the recorded status; nil without storage or without a record.
func (h *Host) readTimerStatus(ctx context.Context, tm *timer) (*scheduleStatus, error) {
	if _, err := storageConnection(h.settings, ""); err != nil {
		return nil, nil
	}
	c, err := h.storage.blobService("")
	if err != nil {
		return nil, err
	}
	resp, err := c.DownloadStream(ctx, hostsContainer, h.timerStatusBlob(tm), nil)
	if isCode(err, string(bloberror.BlobNotFound)) || isCode(err, string(bloberror.ContainerNotFound)) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("downloading the status: %w", err)
	}
	defer resp.Body.Close()
	var doc statusDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("decoding the status: %w", err)
	}
	st := &scheduleStatus{}
	for _, f := range []struct {
		s  string
		to *time.Time
	}{{doc.Last, &st.Last}, {doc.Next, &st.Next}, {doc.LastUpdated, &st.LastUpdated}} {
		if f.s == "" || strings.HasPrefix(f.s, "0001-01-01") {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.s)
		if err != nil {
			return nil, fmt.Errorf("decoding the status time %q: %w", f.s, err)
		}
		*f.to = t.In(tm.loc)
	}
	return st, nil
}

func (h *Host) writeTimerStatus(ctx context.Context, tm *timer, st *scheduleStatus) error {
	if _, err := storageConnection(h.settings, ""); err != nil {
		return nil
	}
	c, err := h.storage.blobService("")
	if err != nil {
		return err
	}
	b, err := json.Marshal(statusDoc{Last: formatScheduleTime(st.Last), Next: formatScheduleTime(st.Next),
		LastUpdated: formatScheduleTime(st.LastUpdated)})
	if err != nil {
		return fmt.Errorf("encoding the status: %w", err)
	}
	if err := h.ensureContainer(ctx, c, hostsContainer); err != nil {
		return err
	}
	if _, err := c.UploadBuffer(ctx, hostsContainer, h.timerStatusBlob(tm), b, nil); err != nil {
		return fmt.Errorf("uploading the status: %w", err)
	}
	return nil
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
