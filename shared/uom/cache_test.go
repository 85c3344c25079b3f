package uom

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestConcurrentMissesShareOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		src := &fakeSource{MaterialFn: func(context.Context, string) (Material, error) {
			<-release
			return boxes, nil
		}}
		c := &Converter{Source: src}
		const callers = 20
		results := make([]Result, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { results[i], errs[i] = c.ToBase(context.Background(), "M-100", "BOX", "1") })
		}
		synctest.Wait() // every caller is now waiting on the one call in flight
		close(release)
		wg.Wait()
		if n := src.calls.Load(); n != 1 {
			t.Errorf("%d concurrent misses made %d Source calls, want 1", callers, n)
		}
		for i := range callers {
			if errs[i] != nil || results[i].Quantity != "12" {
				t.Errorf("caller %d: %+v, %v", i, results[i], errs[i])
			}
		}
	})
}

func TestACallerGivingUpDoesNotFailTheOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var sawCancel bool
		src := &fakeSource{MaterialFn: func(ctx context.Context, _ string) (Material, error) {
			<-release
			sawCancel = ctx.Err() != nil
			return boxes, nil
		}}
		c := &Converter{Source: src}
		impatient, cancel := context.WithCancel(context.Background())
		var first, second error
		var wg sync.WaitGroup
		wg.Go(func() { _, first = c.ToBase(impatient, "M-100", "BOX", "1") })
		synctest.Wait()
		wg.Go(func() { _, second = c.ToBase(context.Background(), "M-100", "BOX", "1") })
		synctest.Wait()
		cancel()
		synctest.Wait() // the impatient caller returns; the call goes on
		close(release)
		wg.Wait()
		if !errors.Is(first, context.Canceled) {
			t.Errorf("the cancelled caller got %v, want context.Canceled", first)
		}
		if second != nil {
			t.Errorf("the patient caller got %v", second)
		}
		if sawCancel {
			t.Error("the shared call saw the first caller's cancellation")
		}
	})
}

func TestCacheExpiresAfterTTL(t *testing.T) {
	clk := newClock()
	src := catalog(boxes)
	c := &Converter{Source: src, Now: clk.Now}
	convert := func() {
		t.Helper()
		if _, err := c.ToBase(context.Background(), "M-100", "BOX", "1"); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		advance time.Duration
		calls   int32
	}{
		{0, 1},                            // first use reads SAP
		{time.Minute, 1},                  // fresh
		{DefaultTTL - time.Minute - 1, 1}, // a nanosecond before expiry
		{1, 2},                            // expired at exactly TTL: read again
		{DefaultTTL / 2, 2},               // the new entry is fresh
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		convert()
		if n := src.calls.Load(); n != s.calls {
			t.Fatalf("step %d: %d Source calls, want %d", i, n, s.calls)
		}
	}
}

func TestCacheHonoursTTLSetting(t *testing.T) {
	clk := newClock()
	for _, tt := range []struct {
		name  string
		ttl   time.Duration
		calls int32 // after three uses, a minute apart
	}{
		{"default ten minutes", 0, 1},
		{"thirty seconds", 30 * time.Second, 3},
		{"negative never caches", -1, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := catalog(boxes)
			c := &Converter{Source: src, Now: clk.Now, TTL: tt.ttl}
			for range 3 {
				if _, err := c.ToBase(context.Background(), "M-100", "BOX", "1"); err != nil {
					t.Fatal(err)
				}
				clk.Advance(time.Minute)
			}
			if n := src.calls.Load(); n != tt.calls {
				t.Errorf("%d Source calls, want %d", n, tt.calls)
			}
		})
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	fail := true
	src := &fakeSource{MaterialFn: func(context.Context, string) (Material, error) {
		if fail {
			return Material{}, errors.New("SAP: 503")
		}
		return boxes, nil
	}}
	c := &Converter{Source: src}
	if _, err := c.ToBase(context.Background(), "M-100", "BOX", "1"); err == nil {
		t.Fatal("the first call should fail")
	}
	fail = false
	got, err := c.ToBase(context.Background(), "M-100", "BOX", "1")
	if err != nil || got.Quantity != "12" {
		t.Fatalf("after SAP recovered: %+v, %v", got, err)
	}
	if n := src.calls.Load(); n != 2 {
		t.Errorf("%d Source calls, want 2: the failure must not be remembered", n)
	}
}

func TestCacheKeepsItsOwnCopyOfTheUnits(t *testing.T) {
	units := []Unit{{Unit: "BOX", Numerator: "12", Denominator: "1"}}
	src := &fakeSource{MaterialFn: func(context.Context, string) (Material, error) {
		return Material{Product: "M-1", BaseUnit: "EA", Units: units}, nil
	}}
	c := &Converter{Source: src}
	if _, err := c.ToBase(context.Background(), "M-1", "BOX", "1"); err != nil {
		t.Fatal(err)
	}
	units[0].Numerator = "6" // the Source reuses its buffer
	got, err := c.ToBase(context.Background(), "M-1", "BOX", "1")
	if err != nil || got.Quantity != "12" {
		t.Errorf("after the Source changed its slice: %+v, %v; want 12", got, err)
	}
}

func TestCacheDropsExpiredProducts(t *testing.T) {
	clk := newClock()
	src := &fakeSource{MaterialFn: func(_ context.Context, p string) (Material, error) {
		return Material{Product: p, BaseUnit: "EA"}, nil
	}}
	c := &Converter{Source: src, Now: clk.Now}
	for round := range 5 {
		for i := range 100 {
			if _, err := c.ToBase(context.Background(), fmt.Sprintf("R%d-%d", round, i), "EA", "1"); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(DefaultTTL)
	}
	c.mu.Lock()
	n := len(c.cache)
	c.mu.Unlock()
	if n > 300 {
		t.Errorf("the cache holds %d products after 5 rounds of 100 that each expired; expired ones are not dropped", n)
	}
}
