package deadletter

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/d365sap/d365sap/shared/store"
)

type fakeBlobs struct {
	CreateBlobFn func(ctx context.Context, container, name string, data []byte, opts *store.BlobOptions) (azcore.ETag, error)
}

func (f *fakeBlobs) CreateBlob(ctx context.Context, container, name string, data []byte, opts *store.BlobOptions) (azcore.ETag, error) {
	return f.CreateBlobFn(ctx, container, name, data, opts)
}

var _ BlobCreator = (*fakeBlobs)(nil)
