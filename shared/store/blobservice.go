package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// blobService reaches the Blob service through per-blob azblob clients plus two REST calls of its own
// (create container, blob lease). The azblob root, service, container and lease packages are avoided
// on purpose: they import the blob-query code and with it Apache Arrow, whose package initialisation
// alone costs the function app about a millisecond of every cold start.
type blobService struct {
	// url is the service URL as the azblob clients take it: endpoint + "/", then "?" + SAS if any.
	url      string
	newBlock func(blobURL string) (*blockblob.Client, error)
	pipeline runtime.Pipeline
}

// blobAPIVersion is the x-ms-version azblob v1.8.3 sends, so both halves speak the same protocol.
const blobAPIVersion = "2026-12-06"

// blobScope is the token audience for Azure Storage data-plane access.
const blobScope = "https://storage.azure.com/.default"

const blobModule, blobModuleVersion = "d365sap/store", "v1.0.0"

func newSharedKeyBlobService(endpoint, account, key string, co azcore.ClientOptions) (*blobService, error) {
	bk, err := blob.NewSharedKeyCredential(account, key)
	if err != nil {
		return nil, fmt.Errorf("creating blob shared key: %w", err)
	}
	signer, err := newSharedKeyPolicy(account, key)
	if err != nil {
		return nil, fmt.Errorf("creating blob shared key: %w", err)
	}
	return &blobService{
		url: endpoint + "/",
		newBlock: func(u string) (*blockblob.Client, error) {
			return blockblob.NewClientWithSharedKeyCredential(u, bk, &blockblob.ClientOptions{ClientOptions: co})
		},
		pipeline: runtime.NewPipeline(blobModule, blobModuleVersion, runtime.PipelineOptions{PerRetry: []policy.Policy{signer}}, &co),
	}, nil
}

func newSASBlobService(endpoint, sas string, co azcore.ClientOptions) *blobService {
	return &blobService{
		url: endpoint + "/?" + sas,
		newBlock: func(u string) (*blockblob.Client, error) {
			return blockblob.NewClientWithNoCredential(u, &blockblob.ClientOptions{ClientOptions: co})
		},
		pipeline: runtime.NewPipeline(blobModule, blobModuleVersion, runtime.PipelineOptions{}, &co),
	}
}

func newTokenBlobService(endpoint string, cred azcore.TokenCredential, co azcore.ClientOptions) *blobService {
	// One bearer policy (one token cache) serves the REST calls and every per-blob client, as one
	// azblob service client's pipeline did. It goes first among the per-retry policies, where the
	// SDK puts its own.
	bearer := newStorageBearerPolicy(cred, co.InsecureAllowCredentialWithHTTP)
	bo := co
	bo.PerRetryPolicies = append([]policy.Policy{bearer}, co.PerRetryPolicies...)
	return &blobService{
		url: endpoint + "/",
		newBlock: func(u string) (*blockblob.Client, error) {
			return blockblob.NewClientWithNoCredential(u, &blockblob.ClientOptions{ClientOptions: bo})
		},
		pipeline: runtime.NewPipeline(blobModule, blobModuleVersion, runtime.PipelineOptions{PerRetry: []policy.Policy{bearer}}, &co),
	}
}

// newStorageBearerPolicy behaves as azblob's storage challenge policy: tokens for
// https://storage.azure.com/.default, and on a 401 challenge naming another resource_id, tokens
// for that resource from then on.
func newStorageBearerPolicy(cred azcore.TokenCredential, allowHTTP bool) policy.Policy {
	a := &storageAuthorizer{scopes: []string{blobScope}}
	return runtime.NewBearerTokenPolicy(cred, []string{blobScope}, &policy.BearerTokenOptions{
		AuthorizationHandler: policy.AuthorizationHandler{
			OnRequest: func(_ *policy.Request, authorize func(policy.TokenRequestOptions) error) error {
				return authorize(policy.TokenRequestOptions{Scopes: a.current()})
			},
			OnChallenge: func(_ *policy.Request, resp *http.Response, authorize func(policy.TokenRequestOptions) error) error {
				if err := a.challenged(resp); err != nil {
					return err
				}
				return authorize(policy.TokenRequestOptions{Scopes: a.current()})
			},
		},
		InsecureAllowCredentialWithHTTP: allowHTTP,
	})
}

type storageAuthorizer struct {
	mu     sync.Mutex
	scopes []string
}

func (a *storageAuthorizer) current() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.scopes
}

// challenged reads the resource_id of a `Bearer authorization_uri="..." resource_id="..."` challenge.
func (a *storageAuthorizer) challenged(resp *http.Response) error {
	header := resp.Header.Get("WWW-Authenticate")
	if header == "" {
		return errChallenge{errors.New("response has no WWW-Authenticate header for challenge authentication")}
	}
	var resource string
	for _, part := range strings.Split(strings.ReplaceAll(header, "Bearer ", ""), " ") {
		if k, v, ok := strings.Cut(part, "="); ok && k == "resource_id" && !strings.Contains(v, "=") {
			resource = strings.TrimSuffix(strings.ReplaceAll(v, `"`, ""), ",")
		}
	}
	if resource == "" {
		return errChallenge{errors.New("could not find a valid resource in the WWW-Authenticate header")}
	}
	if !strings.HasSuffix(resource, "/.default") {
		resource += "/.default"
	}
	a.mu.Lock()
	a.scopes = []string{resource}
	a.mu.Unlock()
	return nil
}

// errChallenge is not retried: a challenge that cannot be answered will not be answered next time.
type errChallenge struct{ err error }

func (e errChallenge) Error() string { return e.err.Error() }
func (e errChallenge) Unwrap() error { return e.err }
func (errChallenge) NonRetriable()   {}

// containerURL and blobURL build addresses exactly as the azblob service and container clients do:
// the blob name is path-escaped whole, so its slashes travel as %2F.
func (s *blobService) containerURL(container string) string {
	return runtime.JoinPaths(s.url, container)
}

func (s *blobService) blobURL(container, name string) string {
	return runtime.JoinPaths(s.containerURL(container), url.PathEscape(name))
}

func (s *blobService) blockBlob(container, name string) (*blockblob.Client, error) {
	bb, err := s.newBlock(s.blobURL(container, name))
	if err != nil {
		return nil, fmt.Errorf("creating blob client for %s: %w", blobResource(container, name), err)
	}
	return bb, nil
}

// createContainer is Create Container (PUT ?restype=container), private access; 201 on success.
func (s *blobService) createContainer(ctx context.Context, container string) error {
	_, err := s.put(ctx, s.containerURL(container), "?restype=container", nil, http.StatusCreated)
	return err
}

// lease is Lease Blob (PUT ?comp=lease) with the given x-ms-lease-* headers; it answers the lease ID
// the service returned.
func (s *blobService) lease(ctx context.Context, container, name string, headers map[string]string, want int) (string, error) {
	resp, err := s.put(ctx, s.blobURL(container, name), "?comp=lease", headers, want)
	if err != nil {
		return "", err
	}
	return resp.Header.Get("x-ms-lease-id"), nil
}

func (s *blobService) acquireLease(ctx context.Context, container, name string, seconds int32, proposedID string) (string, error) {
	return s.lease(ctx, container, name, map[string]string{
		"x-ms-lease-action":      "acquire",
		"x-ms-lease-duration":    strconv.FormatInt(int64(seconds), 10),
		"x-ms-proposed-lease-id": proposedID,
	}, http.StatusCreated)
}

func (s *blobService) renewLease(ctx context.Context, container, name, id string) error {
	_, err := s.lease(ctx, container, name, map[string]string{"x-ms-lease-action": "renew", "x-ms-lease-id": id}, http.StatusOK)
	return err
}

func (s *blobService) releaseLease(ctx context.Context, container, name, id string) error {
	_, err := s.lease(ctx, container, name, map[string]string{"x-ms-lease-action": "release", "x-ms-lease-id": id}, http.StatusOK)
	return err
}

// put sends a body-less PUT the way the SDK's generated code does (the operation's query joined to
// the address, any SAS kept, the query re-encoded) and turns any other status than want into an
// *azcore.ResponseError carrying the service's error code.
func (s *blobService) put(ctx context.Context, address, query string, headers map[string]string, want int) (*http.Response, error) {
	req, err := runtime.NewRequest(ctx, http.MethodPut, runtime.JoinPaths(address, query))
	if err != nil {
		return nil, err
	}
	raw := req.Raw()
	raw.URL.RawQuery = strings.ReplaceAll(raw.URL.Query().Encode(), "+", "%20")
	for k, v := range headers {
		raw.Header[k] = []string{v}
	}
	raw.Header["x-ms-version"] = []string{blobAPIVersion}
	resp, err := s.pipeline.Do(req)
	if err != nil {
		return nil, err
	}
	if !runtime.HasStatusCode(resp, want) {
		return nil, runtime.NewResponseError(resp)
	}
	runtime.Drain(resp)
	return resp, nil
}

// newLeaseID proposes a random (version 4) UUID as the lease ID, as the azblob lease client does.
func newLeaseID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
