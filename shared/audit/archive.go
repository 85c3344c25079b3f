package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/d365sap/d365sap/shared/store"
)

// Blobs is what an Archive needs of a storage account: a *store.Account or *store.MemAccount.
type Blobs interface {
	PutBlob(ctx context.Context, container, name string, data []byte, opts *store.BlobOptions) (azcore.ETag, error)
	GetBlob(ctx context.Context, container, name string) (store.Blob, error)
}

// Archive keeps whole payloads, of any size, as gzip-compressed JSON blobs in Container (which must
// exist: main ensures it). The audit row holds only the blob's name.
type Archive struct {
	Blobs     Blobs
	Container string
}

// Put writes v as gzip-compressed JSON to <kind>/<key>/<time>-<invocation>-<what>.json.gz and
// returns that name. Each part is made safe for a blob name: characters other than ASCII letters,
// digits, '.', '_' and '-' become '_', a part may not end in '.', and a part that had to change (or be
// shortened) gets a short hash of its original so that different keys never share a folder. The time
// is SortableTime(at), so a key's blobs list in time order. v is encoded with encoding/json: pass a
// json.RawMessage to archive a body that is JSON already. Putting the same name again replaces it.
func (a Archive) Put(ctx context.Context, kind, key, what string, at time.Time, invocation string, v any) (string, error) {
	name := ArchiveName(kind, key, what, at, invocation)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	// The archive is for reading by people and tools, not for embedding in HTML: keep < > & as they are.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encoding %s payload for archive %s: %w", what, name, err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compressing archive %s: %w", name, err)
	}
	if _, err := a.Blobs.PutBlob(ctx, a.Container, name, buf.Bytes(), &store.BlobOptions{ContentType: "application/gzip"}); err != nil {
		return "", fmt.Errorf("archiving %s: %w", name, err)
	}
	return name, nil
}

// Get reads the archive name back into v. A missing blob fails with store.ErrNotFound.
func (a Archive) Get(ctx context.Context, name string, v any) error {
	b, err := a.Blobs.GetBlob(ctx, a.Container, name)
	if err != nil {
		return fmt.Errorf("reading archive %s: %w", name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Data))
	if err != nil {
		return fmt.Errorf("decompressing archive %s: %w", name, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return fmt.Errorf("decompressing archive %s: %w", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding archive %s: %w", name, err)
	}
	return nil
}

// Limits on each part keep a name far inside the Blob service's 1,024 characters.
const (
	maxKindBytes       = 64
	maxKeyBytes        = 256
	maxInvocationPart  = 128
	maxWhatBytes       = 64
	archiveSuffix      = ".json.gz"
	archiveHashLetters = 8
)

// ArchiveName is the blob name Put writes for these arguments.
func ArchiveName(kind, key, what string, at time.Time, invocation string) string {
	return namePart(kind, maxKindBytes) + "/" + namePart(key, maxKeyBytes) + "/" +
		store.SortableTime(at) + "-" + namePart(invocation, maxInvocationPart) + "-" + namePart(what, maxWhatBytes) + archiveSuffix
}

// namePart makes s one safe path segment of at most limit bytes plus a hash suffix.
func namePart(s string, limit int) string {
	safe := strings.Map(func(r rune) rune {
		if r < 0x80 && (r == '.' || r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return r
		}
		return '_'
	}, s)
	// The service advises against segments ending in '.'; "." and ".." would be path steps.
	if trimmed := strings.TrimRight(safe, "."); trimmed != safe {
		safe = trimmed + strings.Repeat("_", len(safe)-len(trimmed))
	}
	if len(safe) > limit {
		safe = safe[:limit] // all ASCII by now
	}
	if safe == s && s != "" {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return safe + "~" + hex.EncodeToString(sum[:])[:archiveHashLetters]
}
