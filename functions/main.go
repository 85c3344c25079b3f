// Command handler is the d365sap function app: one executable serving every function. The Azure Functions host
// starts it with FUNCTIONS_CUSTOMHANDLER_PORT set; AWS Lambda starts it with AWS_LAMBDA_RUNTIME_API and _HANDLER.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/sethvargo/go-envconfig"

	"github.com/d365sap/d365sap/functions/eventsin"
	"github.com/d365sap/d365sap/functions/health"
	"github.com/d365sap/d365sap/functions/inventorydrift"
	"github.com/d365sap/d365sap/functions/inventorydriftfix"
	"github.com/d365sap/d365sap/functions/inventoryruns"
	"github.com/d365sap/d365sap/functions/inventorysync"
	"github.com/d365sap/d365sap/functions/inventorysyncqueue"
	"github.com/d365sap/d365sap/functions/invoices"
	"github.com/d365sap/d365sap/functions/openapi"
	"github.com/d365sap/d365sap/functions/orderpush"
	"github.com/d365sap/d365sap/functions/orderpushqueue"
	"github.com/d365sap/d365sap/functions/orderpushsweep"
	"github.com/d365sap/d365sap/functions/orderstatus"
	"github.com/d365sap/d365sap/functions/statuspoll"
	"github.com/d365sap/d365sap/functions/statusupdates"
	"github.com/d365sap/d365sap/shared/audit"
	"github.com/d365sap/d365sap/shared/awslambda"
	"github.com/d365sap/d365sap/shared/azfunc"
	"github.com/d365sap/d365sap/shared/bearer"
	"github.com/d365sap/d365sap/shared/checkpoint"
	"github.com/d365sap/d365sap/shared/config"
	"github.com/d365sap/d365sap/shared/dataverse"
	"github.com/d365sap/d365sap/shared/deadletter"
	"github.com/d365sap/d365sap/shared/ledger"
	"github.com/d365sap/d365sap/shared/sap"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
	"github.com/d365sap/d365sap/shared/uom"
	"github.com/d365sap/d365sap/shared/valuemap"
)

// Set at link time by the Makefile.
var (
	version = "dev"
	build   = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], envconfig.OsLookuper(), os.Stdout, os.Stderr))
}

const usage = `handler: the d365sap function app.

It is not run by hand. It runs:
  - under the Azure Functions host (func start, Azure, or the local stand-in: make run), which sets
    FUNCTIONS_CUSTOMHANDLER_PORT and sends invocations to 127.0.0.1 on that port;
  - on AWS Lambda, which sets AWS_LAMBDA_RUNTIME_API; _HANDLER names the function to run.
Neither variable is set.

  handler version    print the version and build
`

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, env envconfig.Lookuper, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "version", "--version", "-version":
			fmt.Fprintf(stdout, "%s (%s)\n", version, build)
			return 0
		default:
			fmt.Fprint(stderr, usage)
			return 2
		}
	}
	port, onAzure := env.Lookup("FUNCTIONS_CUSTOMHANDLER_PORT")
	_, onLambda := env.Lookup("AWS_LAMBDA_RUNTIME_API")
	if !onAzure && !onLambda {
		fmt.Fprint(stderr, usage)
		return 2
	}

	cfg, err := config.Load(ctx, env)
	if err != nil {
		// Before the logger exists: the error names settings, never their values.
		fmt.Fprintf(stderr, "handler: %v\n", err)
		return 1
	}
	log := slog.New(azfunc.CollectLogs(trigger.NewLogHandler(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.Level()}))))
	log = log.With("app", "d365sap", "version", version)

	host := readHostJSON(appRoot(env), log)
	app, err := wire(ctx, cfg, host, log)
	if err != nil {
		log.Error("starting", "err", err)
		return 1
	}

	if onAzure {
		if err := serveAzure(ctx, port, host, cfg, app, log); err != nil {
			log.Error("serving", "err", err)
			return 1
		}
		return 0
	}
	handler, _ := env.Lookup("_HANDLER")
	if err := awslambda.Start(ctx, app.functions, handler, awslambda.Options{Logger: log, DeadLetters: app.deadLetters, MaxBodyBytes: maxBody(cfg)}); err != nil {
		log.Error("starting on Lambda", "err", err)
		return 1
	}
	return 0
}

type app struct {
	functions   []trigger.Function
	deadLetters trigger.DeadLetterer
}

// wire builds the concrete clients and hands each function the ones it needs. Nothing here does I/O: clients
// connect on first use, so a cold start costs no round trip.
func wire(ctx context.Context, cfg config.Config, host hostSettings, log *slog.Logger) (app, error) {
	account, err := storageAccount(cfg.Storage)
	if err != nil {
		return app{}, fmt.Errorf("building storage clients: %w", err)
	}
	sapClient, err := sap.New(sap.Options{
		BaseURL: cfg.SAP.BaseURL, SAPClient: cfg.SAP.Client, AuthMode: sap.AuthMode(cfg.SAP.AuthMode),
		Username: cfg.SAP.Username, Password: cfg.SAP.Password.Reveal(),
		OAuthTokenURL: cfg.SAP.OAuthTokenURL, OAuthClientID: cfg.SAP.OAuthClientID,
		OAuthClientSecret: cfg.SAP.OAuthClientSecret.Reveal(), OAuthScope: cfg.SAP.OAuthScope,
		Timeout: cfg.SAP.Timeout.D, MaxResponseBytes: int64(cfg.SAP.MaxResponseBytes.N), ReadRetries: cfg.SAP.ReadRetries.N,
		Logger: log,
	})
	if err != nil {
		return app{}, fmt.Errorf("building the SAP client: %w", err)
	}
	tokens, err := dataverseTokens(cfg.Dataverse)
	if err != nil {
		return app{}, fmt.Errorf("building the Dataverse credential: %w", err)
	}
	dv, err := dataverse.New(dataverse.Options{
		URL: cfg.Dataverse.URL, Tokens: tokens, Timeout: cfg.Dataverse.Timeout.D,
		MaxConcurrency: cfg.Dataverse.MaxConcurrency.N, InitialConcurrency: cfg.Dataverse.InitialConcurrency.N,
		MaxRetries: cfg.Dataverse.MaxRetries.N, PageSize: cfg.Dataverse.PageSize.N, Logger: log,
	})
	if err != nil {
		return app{}, fmt.Errorf("building the Dataverse client: %w", err)
	}
	values, err := valuemap.Load(cfg.ValueMapsFile)
	if err != nil {
		return app{}, fmt.Errorf("loading VALUE_MAPS_FILE: %w", err)
	}
	mapping, err := orderpush.LoadMapping(cfg.OrderMappingFile, values)
	if err != nil {
		return app{}, fmt.Errorf("loading ORDER_MAPPING_FILE: %w", err)
	}
	state, err := store.NewTable[json.RawMessage](account, cfg.StateTable)
	if err != nil {
		return app{}, err
	}
	sapTimeout := cfg.SAP.Timeout.D
	push := &orderpush.Service{
		SAP: sapClient, Dataverse: dv, Units: &uom.Converter{Source: sapUnits{sapClient}},
		Ledger: &ledger.Ledger{Table: state, Kind: orderpush.Kind, Lease: cfg.LedgerLease.D, CommitWindow: cfg.SAPCommitWindow.D,
			Skew: cfg.ClockSkewTolerance.D, Margin: cfg.CreateMargin()},
		Queue: account, Archive: &audit.Archive{Blobs: account, Container: cfg.ArchiveContainer}, Audit: &audit.Trail{Table: state},
		Mapping: mapping, QueueName: cfg.OrderPushQueue,
		SyncTimeout: cfg.OrderPushSyncTimeout.D, CreateTimeout: sapTimeout,
		Backoff:    ledger.Backoff{Base: cfg.QueueRetryBase.D, Max: cfg.QueueRetryMax.D},
		SweepGrace: cfg.SweepGrace.D,
		Log:        log,
		Ready:      (&provisioner{account: account, cfg: cfg}).Ensure,
	}
	if err := push.Check(); err != nil {
		return app{}, fmt.Errorf("checking the order push's times: %w", err)
	}
	inventory, err := inventorysync.LoadMapping(cfg.InventoryMappingFile)
	if err != nil {
		return app{}, fmt.Errorf("loading INVENTORY_MAPPING_FILE: %w", err)
	}
	fingerprints, err := store.NewTable[inventorysync.Fingerprint](account, cfg.StateTable)
	if err != nil {
		return app{}, err
	}
	runs, err := store.NewTable[inventorysync.RunEntity](account, cfg.StateTable)
	if err != nil {
		return app{}, err
	}
	dl := &deadletter.Store{Blobs: account, Container: cfg.DeadLetterContainer}
	sync := &inventorysync.Syncer{
		SAP: inventorysync.SAPSource{Client: sapClient}, Dataverse: dv, Fingerprints: fingerprints,
		Checkpoints: checkpoint.Store{Table: state}, Runs: inventorysync.TableRunLog{Rows: runs},
		Locks:       inventorysync.BlobLocks{Blobs: account, Container: cfg.LockContainer},
		DeadLetters: inventorysync.DeadLetters{Store: dl},
		Continue:    inventorysync.QueueContinuer{Queue: account, Name: cfg.InventorySyncQueue},
		Mapping:     inventory, Units: values.Must(valuemap.Units),
		BatchSize: cfg.InventorySyncBatchSize.N, Parallel: cfg.InventorySyncParallel.N, Overlap: cfg.InventorySyncOverlap.D, Budget: cfg.InventorySyncBudget.D,
		Log: log, Now: time.Now,
		Ready: (&provisioner{account: account, cfg: cfg}).Ensure,
	}
	statusMapping, err := statusupdates.LoadMapping(cfg.StatusMappingFile)
	if err != nil {
		return app{}, fmt.Errorf("loading STATUS_MAPPING_FILE: %w", err)
	}
	versions, err := store.NewTable[statusupdates.Version](account, cfg.StateTable)
	if err != nil {
		return app{}, err
	}
	status := &statusupdates.Service{
		SAP: sapClient, Dataverse: dv, Links: push.Ledger, Versions: versions, Audit: &audit.Trail{Table: state},
		Mapping: statusMapping, Queue: account, QueueName: cfg.StatusEventsQueue,
		Backoff: ledger.Backoff{Base: cfg.QueueRetryBase.D, Max: cfg.QueueRetryMax.D}, ClaimLease: cfg.LedgerLease.D, Log: log,
		Ready: (&provisioner{account: account, cfg: cfg}).Ensure,
	}
	if statusMapping.Invoices.Enabled {
		status.Invoices = &invoices.Service{SAP: sapClient, Dataverse: dv, Links: push.Ledger, Audit: &audit.Trail{Table: state},
			Units: values.Must(valuemap.Units), Mapping: statusMapping.Invoices, Log: log}
	}
	var billingPoll statuspoll.Billing
	if statusMapping.Invoices.Enabled {
		billingPoll = sapClient
	}
	statusBase := ""
	if cfg.WebsiteHostname != "" {
		statusBase = "https://" + cfg.WebsiteHostname + "/api/orders/"
	}

	var fns []trigger.Function
	for _, f := range []func() (trigger.Function, error){
		func() (trigger.Function, error) {
			return health.Function(&health.Handler{Version: version, Build: build, Storage: account, Logger: log})
		},
		func() (trigger.Function, error) {
			// The function's own limit is the app's, so the adapter's 413 is the only answer to a body too large.
			return orderpush.Function(&orderpush.Handler{Pusher: push, StatusBase: statusBase, MaxBody: maxBody(cfg)})
		},
		func() (trigger.Function, error) {
			return orderstatus.Function(&orderstatus.Handler{Records: push.Ledger, StatusBase: statusBase})
		},
		func() (trigger.Function, error) { return orderpushqueue.Function(push, host.maxDequeueCount) },
		func() (trigger.Function, error) { return statusupdates.Function(status) },
		func() (trigger.Function, error) {
			return statuspoll.Function(&statuspoll.Poller{SAP: sapClient, Billing: billingPoll, Links: push.Ledger, Checkpoints: checkpoint.Store{Table: state},
				Queue: account, QueueName: cfg.StatusEventsQueue,
				// The lag the inventory sync's overlap covers (SAP stamps a change before it commits it) is SAP's, not the stream's.
				Overlap: cfg.InventorySyncOverlap.D,
				Enabled: cfg.StatusPollEnabled == "true", Log: log})
		},
		func() (trigger.Function, error) {
			return eventsin.Function(&eventsin.Handler{Queue: account, QueueName: cfg.StatusEventsQueue, Auth: eventsAuth(ctx, cfg.Events, log),
				Origins: cfg.Events.Origins(), MaxBody: maxBody(cfg), Ready: (&provisioner{account: account, cfg: cfg}).Ensure, Log: log})
		},
		func() (trigger.Function, error) { return orderpushsweep.Function(push, state, log) },
		func() (trigger.Function, error) { return openapi.Function(&openapi.Handler{Host: cfg.WebsiteHostname}) },
		func() (trigger.Function, error) { return inventorysync.Function(sync) },
		func() (trigger.Function, error) { return inventorysyncqueue.Function(sync, log) },
		func() (trigger.Function, error) {
			return inventoryruns.Function(&inventoryruns.Handler{Runs: inventorysync.TableRunLog{Rows: runs}})
		},
		func() (trigger.Function, error) { return inventorydrift.Function(&inventorydrift.Handler{Drift: sync}) },
		func() (trigger.Function, error) {
			return inventorydriftfix.Function(&inventorydriftfix.Handler{Fix: sync})
		},
	} {
		fn, err := f()
		if err != nil {
			return app{}, fmt.Errorf("declaring functions: %w", err)
		}
		fns = append(fns, fn)
	}
	return app{functions: fns, deadLetters: dl}, nil
}

// eventsAuth is the sender check of EVENTS_AUTH_MODE beyond the function key; nil for the key alone. Under
// oauth2 the key set is fetched when the first token arrives and refreshed until ctx ends.
func eventsAuth(ctx context.Context, e config.Events, log *slog.Logger) eventsin.Authenticator {
	switch e.AuthMode {
	case "basic":
		return eventsin.Basic{Username: e.BasicUsername, Password: e.BasicPassword.Reveal()}
	case "oauth2":
		keys := bearer.NewRemoteKeys(ctx, bearer.KeysOptions{URL: e.OAuthKeysURL, Client: &http.Client{Timeout: 15 * time.Second},
			OnError: func(err error) { log.Warn("fetching the identity provider's key set", "err", err) }})
		return eventsin.Bearer{Verifier: &bearer.Verifier{Keys: keys, Issuers: e.Issuers(), Audiences: e.Audiences(), Clients: e.Clients()}, Log: log}
	}
	return nil
}

// maxBody is HTTP_MAX_BODY_BYTES, the one body limit of every HTTP function on either runtime.
func maxBody(cfg config.Config) int64 { return int64(cfg.HTTPMaxBodyBytes.N) }

// dataverseTokens picks the credential of DATAVERSE_AUTH_MODE.
func dataverseTokens(d config.Dataverse) (dataverse.TokenSource, error) {
	scope := dataverse.Scope(d.URL)
	switch d.AuthMode {
	case "client_certificate":
		return dataverse.NewCertificateSource(d.TenantID, d.ClientID, d.ClientCertificatePath, scope,
			&dataverse.CertificateOptions{AuthorityHost: d.AuthorityHost})
	case "managed_identity":
		return dataverse.NewManagedIdentitySource(d.ClientID, scope)
	default:
		return &dataverse.ClientSecretSource{AuthorityHost: d.AuthorityHost, TenantID: d.TenantID, ClientID: d.ClientID,
			ClientSecret: d.ClientSecret.Reveal(), Scope: scope}, nil
	}
}

func storageAccount(s config.Storage) (*store.Account, error) {
	if conn := s.ConnectionString.Reveal(); conn != "" {
		return store.NewAccountFromConnectionString(conn, nil)
	}
	var cred azcore.TokenCredential
	var err error
	if s.ClientID != "" {
		cred, err = azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(s.ClientID)})
	} else {
		cred, err = azidentity.NewDefaultAzureCredential(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("building the storage credential: %w", err)
	}
	return store.NewAccountWithCredential(s.AccountName, cred, nil)
}

func serveAzure(ctx context.Context, port string, host hostSettings, cfg config.Config, a app, log *slog.Logger) error {
	srv, err := azfunc.NewServer(azfunc.Options{Logger: log, RoutePrefix: host.routePrefix, DeadLetters: a.deadLetters,
		MaxBodyBytes: maxBody(cfg)}, a.functions...)
	if err != nil {
		return err
	}
	// Loopback only: the host is the one caller, on the same machine.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("listening on port %s: %w", port, err)
	}
	log.Info("custom handler listening", "addr", ln.Addr().String(), "functions", len(a.functions))
	if err := srv.Serve(ctx, ln, cfg.ShutdownTimeout.D); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

func appRoot(env envconfig.Lookuper) string {
	root, _ := env.Lookup("FUNCTIONS_APP_ROOT_PATH")
	return root
}
