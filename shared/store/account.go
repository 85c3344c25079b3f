package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
)

// Account holds clients for the three storage services of one account. It is safe for concurrent use.
type Account struct {
	endpoints Endpoints
	tables    *aztables.ServiceClient
	blobs     *blobService
	queues    *azqueue.ServiceClient
}

// Endpoints are the service URLs an Account talks to, without trailing slashes.
type Endpoints struct {
	Table string
	Blob  string
	Queue string
}

// AccountOptions tunes an Account. A nil *AccountOptions means defaults.
type AccountOptions struct {
	// ClientOptions apply to all three SDK clients (transport, retry, logging, telemetry).
	ClientOptions azcore.ClientOptions
	// Service URIs overriding https://{account}.{table|blob|queue}.core.windows.net for identity-based
	// accounts: the AzureWebJobsStorage__tableServiceUri, __blobServiceUri and __queueServiceUri
	// settings. Ignored by NewAccountFromConnectionString, whose string names its own endpoints.
	TableServiceURI string
	BlobServiceURI  string
	QueueServiceURI string
}

func (o *AccountOptions) clientOptions() azcore.ClientOptions {
	if o == nil {
		return azcore.ClientOptions{}
	}
	return o.ClientOptions
}

// NewAccountFromConnectionString builds an Account from a storage connection string (account key or
// SAS), including UseDevelopmentStorage=true. See [ParseConnectionString] for what is accepted.
func NewAccountFromConnectionString(connectionString string, opts *AccountOptions) (*Account, error) {
	info, err := ParseConnectionString(connectionString)
	if err != nil {
		return nil, err
	}
	return NewAccountFromConnInfo(info, opts)
}

// NewAccountFromConnInfo builds an Account from an already parsed connection string.
func NewAccountFromConnInfo(info ConnInfo, opts *AccountOptions) (*Account, error) {
	co := opts.clientOptions()
	a := &Account{endpoints: Endpoints{Table: info.TableEndpoint, Blob: info.BlobEndpoint, Queue: info.QueueEndpoint}}
	var err error
	switch {
	case info.accountKey != "":
		tk, kerr := aztables.NewSharedKeyCredential(info.AccountName, info.accountKey)
		if kerr != nil {
			return nil, fmt.Errorf("creating table shared key: %w", kerr)
		}
		a.blobs, kerr = newSharedKeyBlobService(a.endpoints.Blob, info.AccountName, info.accountKey, co)
		if kerr != nil {
			return nil, kerr
		}
		qk, kerr := azqueue.NewSharedKeyCredential(info.AccountName, info.accountKey)
		if kerr != nil {
			return nil, fmt.Errorf("creating queue shared key: %w", kerr)
		}
		a.tables, err = aztables.NewServiceClientWithSharedKey(a.endpoints.Table, tk, &aztables.ClientOptions{ClientOptions: co})
		if err == nil {
			a.queues, err = azqueue.NewServiceClientWithSharedKeyCredential(a.endpoints.Queue+"/", qk, &azqueue.ClientOptions{ClientOptions: co})
		}
	case info.sas != "":
		q := "?" + info.sas
		a.tables, err = aztables.NewServiceClientWithNoCredential(a.endpoints.Table+q, &aztables.ClientOptions{ClientOptions: co})
		a.blobs = newSASBlobService(a.endpoints.Blob, info.sas, co)
		if err == nil {
			a.queues, err = azqueue.NewServiceClientWithNoCredential(a.endpoints.Queue+"/"+q, &azqueue.ClientOptions{ClientOptions: co})
		}
	default:
		return nil, errors.New("creating storage account: connection info has neither account key nor SAS")
	}
	if err != nil {
		return nil, fmt.Errorf("creating storage clients: %w", err)
	}
	return a, nil
}

// NewAccountWithCredential builds an identity-based Account (AzureWebJobsStorage__accountName with a
// managed identity or other azcore.TokenCredential). Endpoints default to
// https://{accountName}.{table|blob|queue}.core.windows.net; the service URIs in opts override them,
// and with all three given accountName may be empty.
func NewAccountWithCredential(accountName string, cred azcore.TokenCredential, opts *AccountOptions) (*Account, error) {
	if cred == nil {
		return nil, errors.New("creating storage account: a token credential is required")
	}
	if opts == nil {
		opts = &AccountOptions{}
	}
	var problems []error
	endpoint := func(setting, override, service string) string {
		if override != "" {
			u, err := url.Parse(override)
			if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
				// Bearer tokens are only ever sent over TLS.
				problems = append(problems, fmt.Errorf("%s must be an absolute https URL without a query", setting))
				return ""
			}
			return strings.TrimRight(override, "/")
		}
		if !validAccountName(accountName) {
			problems = append(problems, fmt.Errorf("account name must be 3-24 lowercase letters and digits (needed for the %s endpoint)", service))
			return ""
		}
		return fmt.Sprintf("https://%s.%s.core.windows.net", accountName, service)
	}
	a := &Account{endpoints: Endpoints{
		Table: endpoint("tableServiceUri", opts.TableServiceURI, "table"),
		Blob:  endpoint("blobServiceUri", opts.BlobServiceURI, "blob"),
		Queue: endpoint("queueServiceUri", opts.QueueServiceURI, "queue"),
	}}
	if len(problems) > 0 {
		return nil, fmt.Errorf("creating storage account: %w", errors.Join(problems...))
	}
	co := opts.ClientOptions
	var err error
	a.tables, err = aztables.NewServiceClient(a.endpoints.Table, cred, &aztables.ClientOptions{ClientOptions: co})
	a.blobs = newTokenBlobService(a.endpoints.Blob, cred, co)
	if err == nil {
		a.queues, err = azqueue.NewServiceClient(a.endpoints.Queue+"/", cred, &azqueue.ClientOptions{ClientOptions: co})
	}
	if err != nil {
		return nil, fmt.Errorf("creating storage clients: %w", err)
	}
	return a, nil
}

// Endpoints returns the service URLs the account talks to.
func (a *Account) Endpoints() Endpoints { return a.endpoints }

// DefaultPingTimeout bounds Ping when ctx carries no earlier deadline.
const DefaultPingTimeout = 5 * time.Second

// Ping checks that the Table service answers and accepts our credentials, by listing at most one
// table: one cheap round trip that needs only data-plane read rights. It gives up after
// DefaultPingTimeout unless ctx ends sooner.
func (a *Account) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, DefaultPingTimeout)
	defer cancel()
	pager := a.tables.NewListTablesPager(&aztables.ListTablesOptions{Top: to.Ptr[int32](1)})
	if _, err := pager.NextPage(ctx); err != nil {
		return fmt.Errorf("pinging table service: %w", classify(err, "table service"))
	}
	return nil
}
