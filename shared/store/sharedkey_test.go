package store

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// policyFunc adapts a function to policy.Policy.
type policyFunc func(*policy.Request) (*http.Response, error)

func (f policyFunc) Do(req *policy.Request) (*http.Response, error) { return f(req) }

// TestSharedKeyMatchesSDKSigner signs the very requests azblob's own Shared Key policy signed (taken
// off the wire by a recording transport) and wants the same Authorization header: known answers
// from the SDK, for requests with bodies, conditions, ranges, queries and awkward x-ms-* names.
func TestSharedKeyMatchesSDKSigner(t *testing.T) {
	const account = "acct1"
	sdkKey, err := blob.NewSharedKeyCredential(account, testKey)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := newSharedKeyPolicy(account, testKey)
	if err != nil {
		t.Fatal(err)
	}
	// Names that sort differently byte-wise and as the service sorts them (hyphens skipped), plus a
	// query with mixed-case names and repeated values.
	awkward := policyFunc(func(req *policy.Request) (*http.Response, error) {
		h := req.Raw().Header
		h.Set("x-ms-meta-a-c", "1")
		h.Set("x-ms-meta-ab", "2")
		h.Set("x-ms-meta-a9", "3")
		h.Add("x-ms-meta-multi", "x")
		h.Add("x-ms-meta-multi", "y")
		q := req.Raw().URL.Query()
		q.Add("Zeta", "1")
		q.Add("alpha", "b")
		q.Add("alpha", "a")
		req.Raw().URL.RawQuery = q.Encode()
		return req.Next()
	})

	cases := []struct {
		name    string
		status  int
		perCall []policy.Policy
		call    func(ctx context.Context, bb *blockblob.Client) error
	}{
		{"create-only upload with content type", http.StatusCreated, nil, func(ctx context.Context, bb *blockblob.Client) error {
			_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte(`{"n":1}`))), &blockblob.UploadOptions{
				HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: new("application/json")},
				AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: new(azcore.ETagAny)}},
			})
			return err
		}},
		{"leased upload with If-Match", http.StatusCreated, nil, func(ctx context.Context, bb *blockblob.Client) error {
			_, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte("v1"))), &blockblob.UploadOptions{
				AccessConditions: &blob.AccessConditions{
					ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: new(azcore.ETag(`"0x8D1"`))},
					LeaseAccessConditions:    &blob.LeaseAccessConditions{LeaseID: new("6f1c2a9e-0000-4000-8000-000000000000")},
				},
			})
			return err
		}},
		{"ranged download", http.StatusOK, nil, func(ctx context.Context, bb *blockblob.Client) error {
			_, err := bb.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: blob.HTTPRange{Offset: 2, Count: 10}})
			return err
		}},
		{"stage block (query with an encoded value)", http.StatusCreated, nil, func(ctx context.Context, bb *blockblob.Client) error {
			_, err := bb.StageBlock(ctx, "AAE+/w==", streaming.NopCloser(bytes.NewReader([]byte("b"))), nil)
			return err
		}},
		{"delete with awkward headers and query", http.StatusAccepted, []policy.Policy{awkward}, func(ctx context.Context, bb *blockblob.Client) error {
			_, err := bb.Delete(ctx, nil)
			return err
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tr := &recordingTransport{status: tt.status}
			bb, err := blockblob.NewClientWithSharedKeyCredential("https://acct1.blob.core.windows.net/audit/2026%2Fone.json", sdkKey,
				&blockblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: tr, PerCallPolicies: tt.perCall}})
			if err != nil {
				t.Fatal(err)
			}
			_ = tt.call(t.Context(), bb) // the canned answer may not satisfy the SDK; the request is what counts
			if len(tr.reqs) == 0 {
				t.Fatal("the SDK sent nothing")
			}
			req := tr.last()
			want := req.Header.Get("Authorization")
			if !strings.HasPrefix(want, "SharedKey acct1:") {
				t.Fatalf("the SDK did not sign: Authorization %q", want)
			}
			sig, err := ours.sign(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := "SharedKey acct1:" + sig; got != want {
				sts, _ := ours.stringToSign(req)
				t.Fatalf("Authorization = %q, the SDK's %q; our string-to-sign:\n%s", got, want, sts)
			}
		})
	}
}

// TestSharedKeyStringToSign spells out the string-to-sign of a lease request, the shape the service
// documents: verb, eleven standard headers, x-ms-* headers, resource and query.
func TestSharedKeyStringToSign(t *testing.T) {
	p, err := newSharedKeyPolicy("acct1", testKey)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, "https://acct1.blob.core.windows.net/locks/run%2F1?comp=lease&timeout=30", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header["x-ms-version"] = []string{blobAPIVersion}
	req.Header["x-ms-lease-action"] = []string{"acquire"}
	req.Header["x-ms-lease-duration"] = []string{"15"}
	req.Header.Set("x-ms-date", "Fri, 27 Nov 2026 05:00:00 GMT")
	req.Header.Set("Content-Length", "0")
	req.Header.Set("If-Match", `"0x1"`)
	got, err := p.stringToSign(req)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"PUT", "", "", "", "", "", "", "", `"0x1"`, "", "", "",
		"x-ms-date:Fri, 27 Nov 2026 05:00:00 GMT",
		"x-ms-lease-action:acquire",
		"x-ms-lease-duration:15",
		"x-ms-version:" + blobAPIVersion,
		"/acct1/locks/run%2F1",
		"comp:lease",
		"timeout:30",
	}, "\n")
	if got != want {
		t.Fatalf("string-to-sign:\n%s\nwant:\n%s", got, want)
	}
	if _, err := newSharedKeyPolicy("acct1", "not base64!"); err == nil {
		t.Fatal("a key that is not base64 was accepted")
	}
}
