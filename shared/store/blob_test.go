package store

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func newTestContainer(t *testing.T, a *Account) string {
	t.Helper()
	name := uniqueName(t, "c-")
	if err := a.EnsureContainer(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestBlobCreateOnly(t *testing.T) {
	a := testAccount(t, nil)
	ctx := t.Context()
	c := newTestContainer(t, a)
	if err := a.EnsureContainer(ctx, c); err != nil {
		t.Fatalf("second EnsureContainer must tolerate an existing container: %v", err)
	}

	etag, err := a.CreateBlob(ctx, c, "audit/2026/one.json", []byte(`{"n":1}`), &BlobOptions{ContentType: "application/json"})
	if err != nil || etag == "" {
		t.Fatalf("CreateBlob: %q, %v", etag, err)
	}
	_, err = a.CreateBlob(ctx, c, "audit/2026/one.json", []byte(`{"n":2}`), nil)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || ce.Code != "BlobAlreadyExists" || ce.PreconditionFailed() {
		t.Fatalf("second CreateBlob: err %v, want 409 BlobAlreadyExists", err)
	}
	got, err := a.GetBlob(ctx, c, "audit/2026/one.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != `{"n":1}` || got.ETag != etag || got.ContentType != "application/json" || got.LastModified.IsZero() {
		t.Fatalf("GetBlob = %+v; the losing CreateBlob must not have overwritten it", got)
	}

	// PutBlob overwrites; with a stale IfMatch it is refused.
	etag2, err := a.PutBlob(ctx, c, "audit/2026/one.json", []byte(`{"n":3}`), &BlobOptions{IfMatch: etag})
	if err != nil {
		t.Fatalf("PutBlob with current ETag: %v", err)
	}
	if _, err := a.PutBlob(ctx, c, "audit/2026/one.json", []byte(`{"n":4}`), &BlobOptions{IfMatch: etag}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("PutBlob with stale ETag: err %v, want ErrPreconditionFailed", err)
	}
	if _, err := a.PutBlob(ctx, c, "audit/2026/one.json", []byte(`{"n":5}`), nil); err != nil {
		t.Fatalf("unconditional PutBlob: %v", err)
	}
	if got, _ := a.GetBlob(ctx, c, "audit/2026/one.json"); string(got.Data) != `{"n":5}` || got.ETag == etag2 {
		t.Fatalf("after PutBlob: %+v", got)
	}

	if err := a.DeleteBlob(ctx, c, "audit/2026/one.json", nil); err != nil {
		t.Fatalf("DeleteBlob: %v", err)
	}
	if _, err := a.GetBlob(ctx, c, "audit/2026/one.json"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetBlob after delete: err %v, want ErrNotFound", err)
	}
	if _, err := a.GetBlob(ctx, uniqueName(t, "nope-"), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetBlob in a missing container: err %v, want ErrNotFound", err)
	}
}

func TestBlobNamesRefused(t *testing.T) {
	a := testAccount(t, nil)
	for _, c := range []string{"ab", "Upper", "-lead", "trail-", "dou--ble", "under_score"} {
		if _, err := a.CreateBlob(t.Context(), c, "x", nil, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("container %q: err %v, want ErrInvalid", c, err)
		}
		if err := a.EnsureContainer(t.Context(), c); !errors.Is(err, ErrInvalid) {
			t.Errorf("EnsureContainer(%q): err %v, want ErrInvalid", c, err)
		}
	}
	if _, err := a.PutBlob(t.Context(), "fine-name", "", nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty blob name: err %v, want ErrInvalid", err)
	}
}

func TestBlobLease(t *testing.T) {
	a := testAccount(t, nil)
	ctx := t.Context()
	c := newTestContainer(t, a)
	const name = "locks/run"
	if _, err := a.CreateBlob(ctx, c, name, []byte("v0"), nil); err != nil {
		t.Fatal(err)
	}

	for _, d := range []time.Duration{14 * time.Second, 61 * time.Second, 15500 * time.Millisecond, 0} {
		if _, err := a.AcquireLease(ctx, c, name, d); !errors.Is(err, ErrInvalid) {
			t.Errorf("AcquireLease(%v): err %v, want ErrInvalid", d, err)
		}
	}
	if _, err := a.AcquireLease(ctx, c, "no-such-blob", 15*time.Second); !errors.Is(err, ErrNotFound) {
		t.Errorf("lease on a missing blob: err %v, want ErrNotFound", err)
	}

	l, err := a.AcquireLease(ctx, c, name, 15*time.Second)
	if err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	if l.ID() == "" {
		t.Fatal("lease has no ID")
	}

	_, err = a.AcquireLease(ctx, c, name, 15*time.Second)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrLeaseHeld) || ce.Code != "LeaseAlreadyPresent" {
		t.Fatalf("second AcquireLease: err %v, want ErrLeaseHeld (409 LeaseAlreadyPresent)", err)
	}
	if errors.Is(err, ErrLeaseMissing) {
		t.Fatal("a held lease must not match ErrLeaseMissing")
	}

	_, err = a.PutBlob(ctx, c, name, []byte("intruder"), nil)
	if !errors.As(err, &ce) || !errors.Is(err, ErrLeaseMissing) || !ce.PreconditionFailed() || ce.Code != "LeaseIdMissing" {
		t.Fatalf("PutBlob without the lease: err %v, want ErrLeaseMissing (412 LeaseIdMissing)", err)
	}
	if _, err := a.PutBlob(ctx, c, name, []byte("intruder"), &BlobOptions{LeaseID: "6f1c2a9e-0000-4000-8000-000000000000"}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("PutBlob with another lease ID: err %v, want ErrLeaseLost", err)
	}
	if err := a.DeleteBlob(ctx, c, name, nil); !errors.Is(err, ErrLeaseMissing) {
		t.Fatalf("DeleteBlob without the lease: err %v, want ErrLeaseMissing", err)
	}

	if _, err := l.Put(ctx, []byte("v1"), nil); err != nil {
		t.Fatalf("Put under the lease: %v", err)
	}
	if _, err := a.PutBlob(ctx, c, name, []byte("v2"), &BlobOptions{LeaseID: l.ID()}); err != nil {
		t.Fatalf("PutBlob with the lease ID: %v", err)
	}
	if got, _ := a.GetBlob(ctx, c, name); !bytes.Equal(got.Data, []byte("v2")) {
		t.Fatalf("blob = %q, want v2", got.Data)
	}
	if err := l.Renew(ctx); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := l.Renew(ctx); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Renew after Release: err %v, want ErrLeaseLost", err)
	}

	// Released: anyone may write, and another holder may take the lease.
	if _, err := a.PutBlob(ctx, c, name, []byte("v3"), nil); err != nil {
		t.Fatalf("PutBlob after Release: %v", err)
	}
	l2, err := a.AcquireLease(ctx, c, name, InfiniteLease)
	if err != nil {
		t.Fatalf("AcquireLease after Release: %v", err)
	}
	if l2.ID() == l.ID() {
		t.Fatal("the second holder got the first holder's lease ID")
	}
	if err := l2.Release(ctx); err != nil {
		t.Fatal(err)
	}
}
