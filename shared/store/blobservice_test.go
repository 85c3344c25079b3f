package store

import (
	"context"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestBlobRESTRequests checks what the two hand-made operations put on the wire for each kind of
// credential: the same addresses, query and headers the azblob container and lease clients send.
func TestBlobRESTRequests(t *testing.T) {
	cred := &fakeCredential{GetTokenFunc: func(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
		return azcore.AccessToken{Token: "tok-9", ExpiresOn: time.Now().Add(time.Hour)}, nil
	}}
	signer, err := newSharedKeyPolicy("acct1", testKey)
	if err != nil {
		t.Fatal(err)
	}
	accounts := []struct {
		name  string
		build func(tr *recordingTransport) (*Account, error)
		auth  func(t *testing.T, req *http.Request)
	}{
		{"shared key", func(tr *recordingTransport) (*Account, error) {
			return NewAccountFromConnectionString("AccountName=acct1;AccountKey="+testKey, withTransport(tr))
		}, func(t *testing.T, req *http.Request) {
			if req.Header.Get("x-ms-date") == "" {
				t.Error("no x-ms-date")
			}
			sig, err := signer.sign(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := req.Header.Get("Authorization"); got != "SharedKey acct1:"+sig {
				t.Errorf("Authorization = %q, want the signature of the request as sent", got)
			}
		}},
		{"SAS", func(tr *recordingTransport) (*Account, error) {
			return NewAccountFromConnectionString("AccountName=acct1;SharedAccessSignature=sv=2022-11-02&sig=c2ln", withTransport(tr))
		}, func(t *testing.T, req *http.Request) {
			if req.URL.Query().Get("sig") != "c2ln" || req.Header.Get("Authorization") != "" {
				t.Errorf("sent %s with Authorization %q, want the SAS in the query", req.URL, req.Header.Get("Authorization"))
			}
		}},
		{"token", func(tr *recordingTransport) (*Account, error) {
			return NewAccountWithCredential("acct1", cred, withTransport(tr))
		}, func(t *testing.T, req *http.Request) {
			if got := req.Header.Get("Authorization"); got != "Bearer tok-9" {
				t.Errorf("Authorization = %q", got)
			}
		}},
	}
	for _, acc := range accounts {
		t.Run(acc.name, func(t *testing.T) {
			tr := &recordingTransport{status: http.StatusCreated}
			a, err := acc.build(tr)
			if err != nil {
				t.Fatal(err)
			}
			check := func(t *testing.T, path, comp string, headers map[string]string) {
				t.Helper()
				req := tr.last()
				q := req.URL.Query()
				if req.Method != http.MethodPut || req.URL.Host != "acct1.blob.core.windows.net" || req.URL.EscapedPath() != path {
					t.Errorf("sent %s %s, want PUT %s", req.Method, req.URL, path)
				}
				if k, v, _ := strings.Cut(comp, "="); q.Get(k) != v {
					t.Errorf("query %q lacks %s", req.URL.RawQuery, comp)
				}
				for k, v := range headers {
					if got := rawHeader(req, k); got != v {
						t.Errorf("%s = %q, want %q", k, got, v)
					}
				}
				if got := rawHeader(req, "x-ms-version"); got != blobAPIVersion {
					t.Errorf("x-ms-version = %q", got)
				}
				acc.auth(t, req)
			}

			if err := a.EnsureContainer(t.Context(), "locks"); err != nil {
				t.Fatal(err)
			}
			check(t, "/locks", "restype=container", nil)

			tr.header = http.Header{"X-Ms-Lease-Id": {"11111111-2222-4333-8444-555555555555"}}
			l, err := a.AcquireLease(t.Context(), "locks", "run/1", InfiniteLease)
			if err != nil {
				t.Fatal(err)
			}
			acquire := tr.last()
			proposed := rawHeader(acquire, "x-ms-proposed-lease-id")
			if !uuidV4.MatchString(proposed) {
				t.Errorf("proposed lease id %q is not a random UUID", proposed)
			}
			check(t, "/locks/run%2F1", "comp=lease", map[string]string{"x-ms-lease-action": "acquire", "x-ms-lease-duration": "-1"})
			if l.ID() != "11111111-2222-4333-8444-555555555555" {
				t.Errorf("ID = %q, want the one the service granted", l.ID())
			}

			tr.status, tr.header = http.StatusOK, nil
			if err := l.Renew(t.Context()); err != nil {
				t.Fatal(err)
			}
			check(t, "/locks/run%2F1", "comp=lease", map[string]string{"x-ms-lease-action": "renew", "x-ms-lease-id": proposed})
			if err := l.Release(t.Context()); err != nil {
				t.Fatal(err)
			}
			check(t, "/locks/run%2F1", "comp=lease", map[string]string{"x-ms-lease-action": "release", "x-ms-lease-id": proposed})

			tr.status = http.StatusCreated
			if _, err := a.AcquireLease(t.Context(), "locks", "run/1", 15*time.Second); err != nil {
				t.Fatal(err)
			}
			check(t, "/locks/run%2F1", "comp=lease", map[string]string{"x-ms-lease-duration": "15"})
			if got := rawHeader(tr.last(), "x-ms-proposed-lease-id"); got == proposed || !uuidV4.MatchString(got) {
				t.Errorf("second proposal %q: want a fresh random UUID", got)
			}
		})
	}
}

// rawHeader reads a header set under its lowercase name, as the SDK's generated code sets x-ms-*
// headers (the map key is used verbatim on the wire), or under its canonical one.
func rawHeader(req *http.Request, name string) string {
	if v := req.Header[name]; len(v) > 0 {
		return v[0]
	}
	return req.Header.Get(name)
}

// TestBlobRESTErrors feeds the service's refusals, code in the x-ms-error-code header or only in the
// XML body, to the hand-made operations and wants the typed errors azblob's clients led to.
func TestBlobRESTErrors(t *testing.T) {
	xmlBody := func(code string) string {
		return `<?xml version="1.0" encoding="utf-8"?><Error><Code>` + code + `</Code><Message>m</Message></Error>`
	}
	cases := []struct {
		name   string
		status int
		code   string
		inBody bool // code only in the body, no x-ms-error-code header
		op     func(ctx context.Context, a *Account) error
		want   []error // nil: success
		not    []error
	}{
		{"existing container is fine", 409, "ContainerAlreadyExists", false, ensure, nil, nil},
		{"existing container, code in body only", 409, "ContainerAlreadyExists", true, ensure, nil, nil},
		{"container being deleted", 409, "ContainerBeingDeleted", false, ensure, []error{ErrConflict}, []error{ErrLeaseHeld}},
		{"container refused", 403, "AuthorizationFailure", false, ensure, nil, nil},
		{"lease held", 409, "LeaseAlreadyPresent", false, acquire, []error{ErrConflict, ErrLeaseHeld}, []error{ErrLeaseMissing, ErrPreconditionFailed}},
		{"lease held, code in body only", 409, "LeaseAlreadyPresent", true, acquire, []error{ErrLeaseHeld}, nil},
		{"lease on a missing blob", 404, "BlobNotFound", false, acquire, []error{ErrNotFound}, []error{ErrConflict}},
		{"renew after release", 409, "LeaseIdMismatchWithLeaseOperation", false, renew, []error{ErrConflict, ErrLeaseLost}, []error{ErrLeaseHeld}},
		{"release of an expired lease", 409, "LeaseNotPresentWithLeaseOperation", false, release, []error{ErrLeaseLost}, nil},
		{"renew of a broken lease", 409, "LeaseIsBrokenAndCannotBeRenewed", true, renew, []error{ErrLeaseLost}, nil},
		{"412 lease id missing", 412, "LeaseIdMissing", false, renew, []error{ErrLeaseMissing, ErrPreconditionFailed}, []error{ErrLeaseLost}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			tr := &recordingTransport{status: tt.status, body: xmlBody(tt.code), header: http.Header{"Content-Type": {"application/xml"}}}
			if !tt.inBody {
				tr.header.Set("x-ms-error-code", tt.code)
			}
			a, err := NewAccountFromConnectionString("AccountName=acct1;AccountKey="+testKey, withTransport(tr))
			if err != nil {
				t.Fatal(err)
			}
			err = tt.op(t.Context(), a)
			if tt.status == 403 {
				var se *ServiceError
				if !errors.As(err, &se) || se.StatusCode != 403 || se.Code != tt.code {
					t.Fatalf("err %v, want a *ServiceError 403 %s", err, tt.code)
				}
				return
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("err %v, want none", err)
				}
				return
			}
			var re *azcore.ResponseError
			if !errors.As(err, &re) || re.StatusCode != tt.status || re.ErrorCode != tt.code {
				t.Fatalf("err %v, want the %d %s ResponseError beneath", err, tt.status, tt.code)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("err %v does not match %v", err, w)
				}
			}
			for _, n := range tt.not {
				if errors.Is(err, n) {
					t.Errorf("err %v must not match %v", err, n)
				}
			}
		})
	}
}

func ensure(ctx context.Context, a *Account) error { return a.EnsureContainer(ctx, "locks") }

func acquire(ctx context.Context, a *Account) error {
	_, err := a.AcquireLease(ctx, "locks", "run", 15*time.Second)
	return err
}

// heldLease is a Lease on "locks/run" made without a round trip, for the renew and release cases.
func heldLease(a *Account) *Lease {
	id := newLeaseID()
	return &Lease{
		id: id,
		renew: func(ctx context.Context) error {
			return classify(a.blobs.renewLease(ctx, "locks", "run", id), "blob locks/run")
		},
		release: func(ctx context.Context) error {
			return classify(a.blobs.releaseLease(ctx, "locks", "run", id), "blob locks/run")
		},
	}
}

func renew(ctx context.Context, a *Account) error   { return heldLease(a).Renew(ctx) }
func release(ctx context.Context, a *Account) error { return heldLease(a).Release(ctx) }

// TestBlobTokenSharedAndChallenged: one token serves blob writes, container and lease calls alike
// (one cache, as one azblob service client had), and a 401 challenge naming another resource makes
// later tokens ask for that resource, as azblob's storage challenge policy does.
func TestBlobTokenSharedAndChallenged(t *testing.T) {
	var mu sync.Mutex
	var scopes []string
	cred := &fakeCredential{GetTokenFunc: func(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
		mu.Lock()
		defer mu.Unlock()
		scopes = append(scopes, strings.Join(opts.Scopes, " "))
		return azcore.AccessToken{Token: "tok", ExpiresOn: time.Now().Add(time.Hour)}, nil
	}}
	tr := &recordingTransport{status: http.StatusCreated, header: http.Header{"Etag": {`"0x1"`}}}
	a, err := NewAccountWithCredential("acct1", cred, withTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.EnsureContainer(t.Context(), "audit"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateBlob(t.Context(), "audit", "a.json", []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PutBlob(t.Context(), "audit", "b.json", []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireLease(t.Context(), "audit", "a.json", InfiniteLease); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := append([]string(nil), scopes...)
	mu.Unlock()
	if len(got) != 1 || got[0] != "https://storage.azure.com/.default" {
		t.Fatalf("token requests %q, want one for https://storage.azure.com/.default", got)
	}

	challenged := &challengeTransport{}
	b, err := NewAccountWithCredential("acct1", cred, withTransport(challenged))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureContainer(t.Context(), "audit"); err != nil {
		t.Fatalf("EnsureContainer after a challenge: %v", err)
	}
	mu.Lock()
	last := scopes[len(scopes)-1]
	mu.Unlock()
	if last != "https://other.example/.default" {
		t.Fatalf("token after the challenge asked for %q, want https://other.example/.default", last)
	}
}

// challengeTransport answers the first request 401 with a storage bearer challenge, then 201.
type challengeTransport struct {
	mu   sync.Mutex
	seen int
}

func (c *challengeTransport) Do(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.seen++
	first := c.seen == 1
	c.mu.Unlock()
	tr := &recordingTransport{status: http.StatusCreated}
	if first {
		tr.status = http.StatusUnauthorized
		tr.header = http.Header{"Www-Authenticate": {`Bearer authorization_uri="https://login.microsoftonline.com/tenant1/oauth2/authorize" resource_id="https://other.example"`}}
	}
	return tr.Do(req)
}

// TestAzuriteChecksSharedKey: Azurite refuses a request signed with another key, so the contract
// tests passing against it prove the signer on container and lease calls.
func TestAzuriteChecksSharedKey(t *testing.T) {
	good := testAccount(t, nil) // skips or fails as the other Azurite tests do
	conn := os.Getenv("D365SAP_TEST_STORAGE")
	info, err := ParseConnectionString(conn)
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Replace(conn, "AccountKey="+info.accountKey, "AccountKey="+testKey, 1)
	if wrong == conn {
		t.Fatal("the test connection string has no AccountKey to replace")
	}
	a, err := NewAccountFromConnectionString(wrong, nil)
	if err != nil {
		t.Fatal(err)
	}
	container := uniqueName(t, "c-")
	var se *ServiceError
	if err := a.EnsureContainer(t.Context(), container); !errors.As(err, &se) || se.StatusCode != http.StatusForbidden {
		t.Fatalf("EnsureContainer with the wrong key: err %v, want 403", err)
	}
	if err := good.EnsureContainer(t.Context(), container); err != nil {
		t.Fatalf("EnsureContainer with the right key: %v", err)
	}
	if _, err := good.CreateBlob(t.Context(), container, "lock", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireLease(t.Context(), container, "lock", 15*time.Second); !errors.As(err, &se) || se.StatusCode != http.StatusForbidden {
		t.Fatalf("AcquireLease with the wrong key: err %v, want 403", err)
	}
}
