package sap

import (
	"context"
	"sync"
)

// sharedValue holds one value that is fetched on demand (a CSRF token, an OAuth token). Callers that find it
// missing or stale wait for a single fetch instead of each running their own. A published value is never mutated:
// update replaces it, so callers may keep what get returned.
type sharedValue[T any] struct {
	mu       sync.Mutex
	val      T
	have     bool
	inflight chan struct{}
	err      error
}

func (s *sharedValue[T]) get(ctx context.Context, valid func(T) bool, fetch func(context.Context) (T, error)) (T, error) {
	var zero T
	for {
		s.mu.Lock()
		if s.have && (valid == nil || valid(s.val)) {
			v := s.val
			s.mu.Unlock()
			return v, nil
		}
		if ch := s.inflight; ch != nil {
			s.mu.Unlock()
			select {
			case <-ch:
				s.mu.Lock()
				err := s.err
				s.mu.Unlock()
				if err != nil {
					return zero, err
				}
				continue
			case <-ctx.Done():
				return zero, ctx.Err()
			}
		}
		ch := make(chan struct{})
		s.inflight = ch
		s.mu.Unlock()

		v, err := fetch(ctx)
		s.mu.Lock()
		s.inflight, s.err = nil, err
		if err == nil {
			s.val, s.have = v, true
		}
		s.mu.Unlock()
		close(ch)
		if err != nil {
			return zero, err
		}
		return v, nil
	}
}

// invalidate drops the value if stale says so (e.g. it is the token that was just rejected, not a newer one).
func (s *sharedValue[T]) invalidate(stale func(T) bool) {
	s.mu.Lock()
	if s.have && stale(s.val) {
		s.have = false
	}
	s.mu.Unlock()
}

// update replaces the value with next(current), if there is one.
func (s *sharedValue[T]) update(next func(T) T) {
	s.mu.Lock()
	if s.have {
		s.val = next(s.val)
	}
	s.mu.Unlock()
}
