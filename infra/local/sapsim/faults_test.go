package sapsim

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestFaultPick(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	t.Run("latency stays within its distribution", func(t *testing.T) {
		f := Faults{LatencyMin: Duration(10 * time.Millisecond), LatencyMax: Duration(20 * time.Millisecond),
			SlowRate: 0.1, SlowLatency: Duration(time.Second)}
		slow := 0
		for range 2000 {
			_, d := f.pick(rng, "S", false)
			base := d
			if d >= time.Second {
				slow++
				base -= time.Second
			}
			if base < 10*time.Millisecond || base >= 20*time.Millisecond {
				t.Fatalf("latency %s outside [10ms,20ms)", base)
			}
		}
		if slow < 140 || slow > 260 {
			t.Fatalf("%d slow requests of 2000 at a 10%% rate", slow)
		}
	})
	t.Run("rates", func(t *testing.T) {
		f := Faults{Error500Rate: 0.2, Error503Rate: 0.2, Error429Rate: 0.2, ResetRate: 0.2}
		counts := map[faultAction]int{}
		for range 5000 {
			a, _ := f.pick(rng, "S", false)
			counts[a]++
		}
		for _, a := range []faultAction{faultNone, fault500, fault503, fault429, faultReset} {
			if counts[a] < 850 || counts[a] > 1150 {
				t.Fatalf("action %d: %d of 5000, want about 1000", a, counts[a])
			}
		}
	})
	t.Run("scoping", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			f       Faults
			service string
			write   bool
			want    faultAction
		}{
			{"other service", Faults{Fail500Next: 1, Services: []string{"A"}}, "B", false, faultNone},
			{"listed service", Faults{Fail500Next: 1, Services: []string{"A"}}, "A", false, fault500},
			{"writes only skips a read", Faults{Fail503Next: 1, WritesOnly: true}, "A", false, faultNone},
			{"reads only skips a write", Faults{Fail503Next: 1, ReadsOnly: true}, "A", true, faultNone},
			{"down beats scoping", Faults{Down: true, Services: []string{"X"}}, "A", true, fault503},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got, _ := tc.f.pick(rng, tc.service, tc.write); got != tc.want {
					t.Fatalf("got %d, want %d", got, tc.want)
				}
			})
		}
	})
}
