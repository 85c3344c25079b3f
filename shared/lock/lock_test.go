package lock_test

import (
	"errors"
	"testing"

	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/lock"
)

// Of two runs that take one lock, the second is told another run holds it; once released, it can be taken
// again at once, without waiting for the lease to lapse.
func TestALockHasOneHolderAndIsFreeOnceReleased(t *testing.T) {
	acct := storetest.Account(t)
	container := storetest.Name(t, "locks")
	first, err := lock.Take(t.Context(), acct, container, "inventorysync")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Take(t.Context(), acct, container, "inventorysync"); !errors.Is(err, lock.ErrHeld) {
		t.Fatalf("second take: %v, want ErrHeld", err)
	}
	other, err := lock.Take(t.Context(), acct, container, "another-stream")
	if err != nil {
		t.Fatalf("a lock of another name: %v", err)
	}
	if err := other.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if first.Err() != nil {
		t.Fatalf("held lock reports %v", first.Err())
	}
	if err := first.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	again, err := lock.Take(t.Context(), acct, container, "inventorysync")
	if err != nil {
		t.Fatalf("take after release: %v", err)
	}
	if err := again.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
}
