package sapsim

import (
	"errors"
	"sync"
	"time"
)

// Master data changes. Tests change products, stock and price conditions through Server methods
// (ChangeProduct, SetStock, RemoveStock, AddCondition, ChangeCondition, DeleteCondition); the simulator keeps only
// the changed rows, as an overlay over the generated data, so a million unchanged products still cost nothing.
// Every change is stamped with the clock (Options.Now) and served by every read: key reads, filters, $orderby,
// paging, $inlinecount and $expand. Each page is read from the data as it is then: a change that commits between
// two pages of one read shifts the rows after it, so that read may see a row twice or miss one.

// ChangeOptions are the optional parts of a master data change; nil means defaults.
type ChangeOptions struct {
	// CommitDelay makes the change visible only this long after it is stamped. SAP stamps LastChangeDateTime when
	// the change is made and commits it at the end of the LUW, so a delta read that runs in between misses it and
	// the next one finds a stamp older than the high-water mark it kept: only an overlap catches it. Until it is
	// visible the changed object is locked, as SAP's enqueue lock keeps a second change out (ErrLocked).
	CommitDelay time.Duration
}

func (o *ChangeOptions) delay() time.Duration {
	if o == nil || o.CommitDelay < 0 {
		return 0
	}
	return o.CommitDelay
}

var (
	// ErrNoSuchObject is a change to a product, stock row or condition record the simulator does not have.
	ErrNoSuchObject = errors.New("sapsim: no such master data object")
	// ErrLocked is a change to an object whose previous change has not committed yet (ChangeOptions.CommitDelay).
	ErrLocked = errors.New("sapsim: object is locked by a change not yet committed")
)

// version is one state of a changed object and the moment it becomes visible.
type version[T any] struct {
	val     T
	visible time.Time
}

// history is an object's versions, oldest first. A change waits for the previous one to commit (ErrLocked), so
// visibility times never go backwards and the visible state is the last version already visible.
type history[T any] []version[T]

func (h history[T]) at(now time.Time) (T, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if !now.Before(h[i].visible) {
			return h[i].val, true
		}
	}
	var zero T
	return zero, false
}

func (h history[T]) latest() (T, bool) {
	if len(h) == 0 {
		var zero T
		return zero, false
	}
	return h[len(h)-1].val, true
}

// then is h with v, visible from visible, after it. Only the last version before it is kept: a change waits for
// the previous one to commit, so no read can need an older one (unless the clock is set back).
func (h history[T]) then(v T, visible time.Time) history[T] {
	if len(h) > 1 {
		h = h[len(h)-1:]
	}
	return append(h[:len(h):len(h)], version[T]{val: v, visible: visible})
}

func (h history[T]) pending(now time.Time) bool {
	return len(h) > 0 && now.Before(h[len(h)-1].visible)
}

// master holds the changed master data: product index → versions, and so on.
type master struct {
	mu       sync.Mutex
	products map[int]history[productState]
	stock    map[int]history[stockOverlay] // product index → its changed stock rows
	conds    map[int]history[*condState]   // condition record index → state; nil while an added record is invisible
	added    int                           // condition records added (their indexes follow the generated ones)
}

func newMaster() *master {
	return &master{products: map[int]history[productState]{}, stock: map[int]history[stockOverlay]{},
		conds: map[int]history[*condState]{}}
}

// stamp is the change time SAP writes: the clock, to the millisecond the wire carries.
func (s *Server) stamp() time.Time { return s.opts.Now().UTC().Truncate(time.Millisecond) }
