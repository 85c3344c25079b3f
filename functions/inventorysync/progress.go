package inventorysync

import (
	"time"
)

// progressEvery is how often a stream logs its progress.
const progressEvery = 5 * time.Second

// progress logs a stream's progress every few seconds: rows read of how many, rows per second, and when it will
// end at that rate, so an operator watching a long first load sees it move and when it will be done.
type progress struct {
	r      *run
	stream string
	st     *StreamStats
	total  func() (int64, bool)
	start  time.Time
	last   time.Time
	rows   int
}

func (r *run) progress(stream string, st *StreamStats, total func() (int64, bool)) *progress {
	now := r.Now()
	return &progress{r: r, stream: stream, st: st, total: total, start: now, last: now}
}

// tick is called per row read; it looks at the clock every 256 rows only.
func (p *progress) tick() {
	if p.rows++; p.rows%256 != 0 {
		return
	}
	now := p.r.Now()
	if now.Sub(p.last) < progressEvery {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	rate := float64(p.st.Read) / max(elapsed, 0.001)
	// Only what the reading goroutine itself counts: the writing one counts the rest at the same time.
	attrs := []any{"run", p.r.id, "stream", p.stream, "read", p.st.Read, "rowsPerSecond", int64(rate)}
	if total, ok := p.total(); ok && total > 0 {
		left := max(total-p.st.Read, 0)
		attrs = append(attrs, "of", total, "eta", time.Duration(float64(left)/max(rate, 0.001)*float64(time.Second)).Round(time.Second).String())
	}
	p.r.Log.Info("inventory sync progress", attrs...)
}
