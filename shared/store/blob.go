package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// BlobOptions qualifies a blob write or delete. A nil *BlobOptions means defaults.
type BlobOptions struct {
	// ContentType is stored with the blob (writes only); empty leaves the service default.
	ContentType string
	// LeaseID must be the blob's current lease when it is leased (see [Lease.Put]).
	LeaseID string
	// IfMatch makes PutBlob and DeleteBlob conditional on the blob's ETag (ignored by CreateBlob).
	IfMatch azcore.ETag
}

// Blob is a downloaded blob.
type Blob struct {
	Data         []byte
	ETag         azcore.ETag
	ContentType  string
	LastModified time.Time
}

func blobResource(container, name string) string {
	return fmt.Sprintf("blob %s/%s", container, name)
}

func (a *Account) blockBlob(container, name string) (*blockblob.Client, error) {
	if err := checkBlobName(container, name); err != nil {
		return nil, err
	}
	return a.blobs.blockBlob(container, name)
}

func checkBlobName(container, name string) error {
	if err := checkContainerName(container); err != nil {
		return err
	}
	if name == "" || len(name) > 1024 {
		return invalid("blob name must be 1-1024 characters")
	}
	return nil
}

func checkContainerName(name string) error {
	if !validContainerName(name) {
		return invalid("container name %q must be 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}

// leaseSeconds converts a lease duration to the service's seconds (-1 for infinite).
func leaseSeconds(d time.Duration) (int32, error) {
	if d == InfiniteLease {
		return -1, nil
	}
	if d < 15*time.Second || d > 60*time.Second || d%time.Second != 0 {
		return 0, invalid("lease duration %v must be whole seconds from 15s to 60s, or InfiniteLease", d)
	}
	return int32(d / time.Second), nil
}

// EnsureContainer creates the named container (private access) unless it exists.
func (a *Account) EnsureContainer(ctx context.Context, name string) error {
	if err := checkContainerName(name); err != nil {
		return err
	}
	err := a.blobs.createContainer(ctx, name)
	if err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("creating container: %w", classify(err, "container "+name))
	}
	return nil
}

// CreateBlob writes the blob only if it does not exist yet (If-None-Match: *): a second CreateBlob of
// the same name fails with a [*ConflictError] (409 BlobAlreadyExists) matching [ErrConflict].
func (a *Account) CreateBlob(ctx context.Context, container, name string, data []byte, opts *BlobOptions) (azcore.ETag, error) {
	o := BlobOptions{}
	if opts != nil {
		o = *opts
	}
	o.IfMatch = ""
	etag, err := a.upload(ctx, container, name, data, &o, true)
	if err != nil {
		return "", fmt.Errorf("creating blob: %w", err)
	}
	return etag, nil
}

// PutBlob writes the blob, replacing any previous content. A leased blob needs opts.LeaseID
// ([ErrLeaseMissing] without it, [ErrLeaseLost] with another); opts.IfMatch makes it conditional
// ([ErrPreconditionFailed] when the ETag moved on).
func (a *Account) PutBlob(ctx context.Context, container, name string, data []byte, opts *BlobOptions) (azcore.ETag, error) {
	etag, err := a.upload(ctx, container, name, data, opts, false)
	if err != nil {
		return "", fmt.Errorf("writing blob: %w", err)
	}
	return etag, nil
}

func (a *Account) upload(ctx context.Context, container, name string, data []byte, opts *BlobOptions, createOnly bool) (azcore.ETag, error) {
	bb, err := a.blockBlob(container, name)
	if err != nil {
		return "", err
	}
	uo := &blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{},
		LeaseAccessConditions:    &blob.LeaseAccessConditions{},
	}}
	if createOnly {
		uo.AccessConditions.ModifiedAccessConditions.IfNoneMatch = new(azcore.ETagAny)
	}
	if opts != nil {
		if opts.ContentType != "" {
			uo.HTTPHeaders = &blob.HTTPHeaders{BlobContentType: new(opts.ContentType)}
		}
		if opts.LeaseID != "" {
			uo.AccessConditions.LeaseAccessConditions.LeaseID = new(opts.LeaseID)
		}
		if opts.IfMatch != "" {
			uo.AccessConditions.ModifiedAccessConditions.IfMatch = new(opts.IfMatch)
		}
	}
	resp, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), uo)
	if err != nil {
		return "", classify(err, blobResource(container, name))
	}
	if resp.ETag == nil {
		return "", nil
	}
	return *resp.ETag, nil
}

// GetBlob downloads a whole blob into memory (meant for the small records this app keeps);
// a missing blob or container fails with [ErrNotFound].
func (a *Account) GetBlob(ctx context.Context, container, name string) (Blob, error) {
	bb, err := a.blockBlob(container, name)
	if err != nil {
		return Blob{}, fmt.Errorf("reading blob: %w", err)
	}
	resp, err := bb.DownloadStream(ctx, nil)
	if err != nil {
		return Blob{}, fmt.Errorf("reading blob: %w", classify(err, blobResource(container, name)))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Blob{}, fmt.Errorf("reading blob %s/%s body: %w", container, name, err)
	}
	b := Blob{Data: data}
	if resp.ETag != nil {
		b.ETag = *resp.ETag
	}
	if resp.ContentType != nil {
		b.ContentType = *resp.ContentType
	}
	if resp.LastModified != nil {
		b.LastModified = *resp.LastModified
	}
	return b, nil
}

// DeleteBlob deletes a blob; opts.LeaseID and opts.IfMatch guard it as they guard PutBlob.
func (a *Account) DeleteBlob(ctx context.Context, container, name string, opts *BlobOptions) error {
	bb, err := a.blockBlob(container, name)
	if err != nil {
		return fmt.Errorf("deleting blob: %w", err)
	}
	do := &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{},
		LeaseAccessConditions:    &blob.LeaseAccessConditions{},
	}}
	if opts != nil && opts.LeaseID != "" {
		do.AccessConditions.LeaseAccessConditions.LeaseID = new(opts.LeaseID)
	}
	if opts != nil && opts.IfMatch != "" {
		do.AccessConditions.ModifiedAccessConditions.IfMatch = new(opts.IfMatch)
	}
	if _, err := bb.Delete(ctx, do); err != nil {
		return fmt.Errorf("deleting blob: %w", classify(err, blobResource(container, name)))
	}
	return nil
}

// Lease is a held blob lease: while it lasts only writes carrying its ID change the blob.
type Lease struct {
	id string
	// The operations differ between the Azure-backed account and the in-memory twin.
	renew   func(ctx context.Context) error
	release func(ctx context.Context) error
	put     func(ctx context.Context, data []byte, opts *BlobOptions) (azcore.ETag, error)
}

// InfiniteLease asks AcquireLease for a lease that lasts until released or broken.
const InfiniteLease time.Duration = -1

// AcquireLease takes the blob's lease for d, which must be whole seconds from 15s to 60s, or
// InfiniteLease. The blob must exist ([ErrNotFound] otherwise; create it with CreateBlob and ignore
// [ErrConflict] to use it as a lock). A lease someone else holds fails with [ErrLeaseHeld].
func (a *Account) AcquireLease(ctx context.Context, container, name string, d time.Duration) (*Lease, error) {
	seconds, err := leaseSeconds(d)
	if err != nil {
		return nil, fmt.Errorf("acquiring lease on %s: %w", blobResource(container, name), err)
	}
	if err := checkBlobName(container, name); err != nil {
		return nil, fmt.Errorf("acquiring lease: %w", err)
	}
	proposed := newLeaseID()
	id, err := a.blobs.acquireLease(ctx, container, name, seconds, proposed)
	if err != nil {
		return nil, fmt.Errorf("acquiring lease: %w", classify(err, blobResource(container, name)))
	}
	// Renew and release name the proposed ID, as the azblob lease client does; the service grants
	// exactly the proposed ID.
	l := &Lease{
		renew: func(ctx context.Context) error {
			return classify(a.blobs.renewLease(ctx, container, name, proposed), blobResource(container, name))
		},
		release: func(ctx context.Context) error {
			return classify(a.blobs.releaseLease(ctx, container, name, proposed), blobResource(container, name))
		},
	}
	if id != "" {
		l.id = id
	} else {
		l.id = proposed
	}
	l.put = func(ctx context.Context, data []byte, opts *BlobOptions) (azcore.ETag, error) {
		return a.PutBlob(ctx, container, name, data, opts)
	}
	return l, nil
}

// ID is the lease ID to pass as BlobOptions.LeaseID.
func (l *Lease) ID() string { return l.id }

// Renew restarts the lease's clock; a lease that expired and was taken by another holder fails
// with [ErrLeaseLost].
func (l *Lease) Renew(ctx context.Context) error {
	if err := l.renew(ctx); err != nil {
		return fmt.Errorf("renewing lease: %w", err)
	}
	return nil
}

// Release gives the lease up so another holder can acquire it at once.
func (l *Lease) Release(ctx context.Context) error {
	if err := l.release(ctx); err != nil {
		return fmt.Errorf("releasing lease: %w", err)
	}
	return nil
}

// Put writes the leased blob under this lease; opts.LeaseID is overridden.
func (l *Lease) Put(ctx context.Context, data []byte, opts *BlobOptions) (azcore.ETag, error) {
	o := BlobOptions{}
	if opts != nil {
		o = *opts
	}
	o.LeaseID = l.id
	return l.put(ctx, data, &o)
}

// validContainerName applies the Blob service's rule: 3-63 lowercase letters, digits and hyphens,
// starting and ending with a letter or digit, no two hyphens in a row. Queue names follow it too.
func validContainerName(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
