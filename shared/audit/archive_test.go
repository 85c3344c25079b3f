package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/storetest"
	"github.com/d365sap/d365sap/shared/store"
)

// testArchive is an Archive over a fresh container, in Azurite or in memory.
func testArchive(t *testing.T, onAzurite bool) Archive {
	t.Helper()
	var blobs interface {
		Blobs
		EnsureContainer(ctx context.Context, name string) error
	}
	if onAzurite {
		blobs = storetest.Account(t)
	} else {
		blobs = store.NewMemAccount()
	}
	a := Archive{Blobs: blobs, Container: storetest.Name(t, "archive")}
	if err := blobs.EnsureContainer(t.Context(), a.Container); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestArchiveRoundTrip(t *testing.T) {
	for _, impl := range []struct {
		name      string
		onAzurite bool
	}{{"azurite", true}, {"memory", false}} {
		t.Run(impl.name, func(t *testing.T) {
			ctx := t.Context()
			a := testArchive(t, impl.onAzurite)
			// 1.5 MB that gzip cannot shrink to nothing: archives keep payloads whatever their size.
			raw := make([]byte, 3<<20/4)
			_, _ = rand.NewChaCha8([32]byte{1}).Read(raw)
			var b strings.Builder
			b.WriteString("Größe 😀 <&> ")
			b.WriteString(hex.EncodeToString(raw))
			type payload struct {
				Body   string            `json:"body"`
				Header map[string]string `json:"header"`
			}
			in := payload{Body: b.String(), Header: map[string]string{"sap-message": "ok"}}
			at := time.Date(2026, 11, 27, 5, 0, 0, 42, time.UTC)
			name, err := a.Put(ctx, "salesorder", "0f8fad5b-d9cb-469f-a165-70867728950e", "request", at, "inv-7", in)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if want := "salesorder/0f8fad5b-d9cb-469f-a165-70867728950e/20261127T050000.000000042Z-inv-7-request.json.gz"; name != want {
				t.Fatalf("name %q, want %q", name, want)
			}
			var out payload
			if err := a.Get(ctx, name, &out); err != nil {
				t.Fatalf("Get: %v", err)
			}
			if out.Body != in.Body || out.Header["sap-message"] != "ok" {
				t.Fatalf("Get returned %d bytes of body, want %d", len(out.Body), len(in.Body))
			}
			if err := a.Get(ctx, "salesorder/none.json.gz", &out); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("Get of a missing archive: err %v, want ErrNotFound", err)
			}
		})
	}
}

func TestArchiveName(t *testing.T) {
	at := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	tests := []struct {
		name, kind, key, what, invocation string
		wantKey                           string // the key segment, "" to check only its safety
	}{
		{"plain", "salesorder", "4711", "response", "inv", "4711"},
		{"a slash does not make a folder", "salesorder", "a/b", "response", "inv", ""},
		{"non-ASCII", "salesorder", "Größe", "response", "inv", ""},
		{"trailing dot", "salesorder", "v1.", "response", "inv", ""},
		{"dot segments", "salesorder", "..", "response", "inv", ""},
		{"empty parts", "", "", "", "", ""},
		{"very long parts", strings.Repeat("k", 2000), strings.Repeat("x", 2000), strings.Repeat("w", 2000), strings.Repeat("i", 2000), ""},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := ArchiveName(tt.kind, tt.key, tt.what, at, tt.invocation)
			if len(name) > 1024 || !strings.HasSuffix(name, ".json.gz") {
				t.Fatalf("name %q (%d bytes)", name, len(name))
			}
			segments := strings.Split(name, "/")
			if len(segments) != 3 {
				t.Fatalf("name %q has %d segments, want 3", name, len(segments))
			}
			for _, s := range segments {
				if s == "" || strings.HasSuffix(s, ".") || strings.ContainsFunc(s, func(r rune) bool {
					return !(r == '.' || r == '_' || r == '-' || r == '~' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z'))
				}) {
					t.Fatalf("segment %q of %q is not safe", s, name)
				}
			}
			if tt.wantKey != "" && segments[1] != tt.wantKey {
				t.Fatalf("key segment %q, want %q", segments[1], tt.wantKey)
			}
			if other, dup := seen[segments[1]]; dup && other != tt.key {
				t.Fatalf("keys %q and %q share the folder %q", other, tt.key, segments[1])
			}
			seen[segments[1]] = tt.key
		})
	}
	// Keys that sanitise alike still get folders of their own.
	if a, b := ArchiveName("k", "a/b", "w", at, "i"), ArchiveName("k", "a_b", "w", at, "i"); a == b {
		t.Fatalf("a/b and a_b share the name %q", a)
	}
}
