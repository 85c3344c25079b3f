package store

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fakeCredential is a TokenCredential of func fields.
type fakeCredential struct {
	GetTokenFunc func(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error)
}

func (f *fakeCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return f.GetTokenFunc(ctx, opts)
}

var _ azcore.TokenCredential = (*fakeCredential)(nil)

// recordingTransport answers every request with a canned response and remembers the requests.
type recordingTransport struct {
	mu     sync.Mutex
	reqs   []*http.Request
	status int
	body   string
	header http.Header
}

func (r *recordingTransport) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range r.header {
		h[k] = v
	}
	return &http.Response{StatusCode: r.status, Header: h, Body: io.NopCloser(strings.NewReader(r.body)), Request: req}, nil
}

func (r *recordingTransport) last() *http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reqs[len(r.reqs)-1]
}

func TestNewAccountWithCredential(t *testing.T) {
	cred := &fakeCredential{GetTokenFunc: func(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
		if len(opts.Scopes) == 0 || !strings.HasPrefix(opts.Scopes[0], "https://storage.azure.com") {
			return azcore.AccessToken{}, errors.New("unexpected scopes " + strings.Join(opts.Scopes, ","))
		}
		return azcore.AccessToken{Token: "tok-123", ExpiresOn: time.Now().Add(time.Hour)}, nil
	}}

	t.Run("default endpoints, bearer token on the wire", func(t *testing.T) {
		tr := &recordingTransport{status: http.StatusOK, body: `{"value":[]}`}
		a, err := NewAccountWithCredential("d365sapprod", cred, withTransport(tr))
		if err != nil {
			t.Fatal(err)
		}
		want := Endpoints{Table: "https://d365sapprod.table.core.windows.net", Blob: "https://d365sapprod.blob.core.windows.net", Queue: "https://d365sapprod.queue.core.windows.net"}
		if a.Endpoints() != want {
			t.Fatalf("Endpoints = %+v, want %+v", a.Endpoints(), want)
		}
		if err := a.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		req := tr.last()
		if req.URL.Host != "d365sapprod.table.core.windows.net" || req.URL.Path != "/Tables" || req.URL.Query().Get("$top") != "1" {
			t.Fatalf("Ping sent %s", req.URL)
		}
		if got := req.Header.Get("Authorization"); got != "Bearer tok-123" {
			t.Fatalf("Authorization = %q", got)
		}
	})

	t.Run("service URI overrides", func(t *testing.T) {
		tr := &recordingTransport{status: http.StatusCreated, header: http.Header{"Etag": {`"0x1"`}}}
		a, err := NewAccountWithCredential("", cred, &AccountOptions{
			ClientOptions:   azcore.ClientOptions{Transport: tr},
			TableServiceURI: "https://tables.example/",
			BlobServiceURI:  "https://blobs.example",
			QueueServiceURI: "https://queues.example",
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Endpoints(); got != (Endpoints{Table: "https://tables.example", Blob: "https://blobs.example", Queue: "https://queues.example"}) {
			t.Fatalf("Endpoints = %+v", got)
		}
		if _, err := a.CreateBlob(t.Context(), "audit", "x.json", []byte("{}"), nil); err != nil {
			t.Fatal(err)
		}
		req := tr.last()
		if req.URL.Host != "blobs.example" || req.URL.Path != "/audit/x.json" || req.Header.Get("If-None-Match") != "*" || req.Header.Get("Authorization") != "Bearer tok-123" {
			t.Fatalf("CreateBlob sent %s %v", req.URL, req.Header)
		}
	})

	refused := []struct {
		name string
		acct string
		cred azcore.TokenCredential
		opts *AccountOptions
		want string
	}{
		{"no credential", "acct1", nil, nil, "token credential"},
		{"bad account name", "Acct_1", cred, nil, "account name"},
		{"missing account name for one service", "", cred, &AccountOptions{TableServiceURI: "https://t.example", BlobServiceURI: "https://b.example"}, "queue endpoint"},
		{"plain http service URI", "acct1", cred, &AccountOptions{TableServiceURI: "http://t.example"}, "tableServiceUri must be an absolute https URL"},
		{"service URI with a query", "acct1", cred, &AccountOptions{QueueServiceURI: "https://q.example/?sig=x"}, "queueServiceUri"},
	}
	for _, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			_, err := NewAccountWithCredential(tt.acct, tt.cred, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestSASAccountSignsEveryService(t *testing.T) {
	tr := &recordingTransport{status: http.StatusCreated, body: `{"value":[]}`, header: http.Header{"Etag": {`"0x1"`}}}
	a, err := NewAccountFromConnectionString("AccountName=acct1;SharedAccessSignature=sv=2022-11-02&sig=c2ln", withTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func() error
		host string
	}{
		{"table", func() error { return a.EnsureTable(t.Context(), "audit") }, "acct1.table.core.windows.net"},
		{"blob", func() error { _, err := a.PutBlob(t.Context(), "audit", "x", nil, nil); return err }, "acct1.blob.core.windows.net"},
		{"queue", func() error { return a.EnsureQueue(t.Context(), "jobs") }, "acct1.queue.core.windows.net"},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); err != nil {
				t.Fatal(err)
			}
			req := tr.last()
			if req.URL.Host != c.host || req.URL.Query().Get("sig") != "c2ln" || req.Header.Get("Authorization") != "" {
				t.Fatalf("sent %s with Authorization %q", req.URL, req.Header.Get("Authorization"))
			}
		})
	}
}

func TestPing(t *testing.T) {
	forEachAccount(t, func(t *testing.T, a blobQueueStore, _ func(time.Duration)) {
		if err := a.Ping(t.Context()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := a.Ping(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Ping with a cancelled context: err %v, want context.Canceled", err)
		}
	})
	t.Run("refused credentials", func(t *testing.T) {
		tr := &recordingTransport{status: http.StatusForbidden, body: `{"odata.error":{"code":"AuthorizationFailure","message":{"value":"no"}}}`,
			header: http.Header{"X-Ms-Error-Code": {"AuthorizationFailure"}}}
		a, err := NewAccountFromConnectionString("AccountName=acct1;AccountKey="+testKey, withTransport(tr))
		if err != nil {
			t.Fatal(err)
		}
		err = a.Ping(t.Context())
		var re *azcore.ResponseError
		if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden || re.ErrorCode != "AuthorizationFailure" {
			t.Fatalf("Ping: %v, want the 403 ResponseError", err)
		}
		var se *ServiceError
		if !errors.As(err, &se) || se.StatusCode != http.StatusForbidden || se.Code != "AuthorizationFailure" {
			t.Fatalf("Ping: %v, want a *ServiceError 403", err)
		}
		if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), testKey[:12]) {
			t.Fatalf("Ping error should be one line without the key: %q", err)
		}
	})
	t.Run("unreachable service gives up within the context", func(t *testing.T) {
		a, err := NewAccountFromConnectionString("DefaultEndpointsProtocol=http;AccountName=acct1;AccountKey="+testKey+
			";TableEndpoint=http://127.0.0.1:1/acct1;BlobEndpoint=http://127.0.0.1:1/acct1;QueueEndpoint=http://127.0.0.1:1/acct1", nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := a.Ping(ctx); err == nil {
			t.Fatal("Ping of a closed port succeeded")
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("Ping took %v despite a 500ms context", took)
		}
	})
}
