// Command handler is the d365sap function app: one executable serving every function. The Azure Functions host
// starts it with FUNCTIONS_CUSTOMHANDLER_PORT set; AWS Lambda starts it with AWS_LAMBDA_RUNTIME_API and _HANDLER.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/sethvargo/go-envconfig"

	"github.com/d365sap/d365sap/functions/health"
	"github.com/d365sap/d365sap/shared/awslambda"
	"github.com/d365sap/d365sap/shared/azfunc"
	"github.com/d365sap/d365sap/shared/config"
	"github.com/d365sap/d365sap/shared/store"
	"github.com/d365sap/d365sap/shared/trigger"
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

	app, err := wire(cfg, log)
	if err != nil {
		log.Error("starting", "err", err)
		return 1
	}

	if onAzure {
		if err := serveAzure(ctx, port, appRoot(env), cfg, app, log); err != nil {
			log.Error("serving", "err", err)
			return 1
		}
		return 0
	}
	handler, _ := env.Lookup("_HANDLER")
	if err := awslambda.Start(ctx, app.functions, handler, awslambda.Options{Logger: log}); err != nil {
		log.Error("starting on Lambda", "err", err)
		return 1
	}
	return 0
}

type app struct {
	functions []trigger.Function
}

// wire builds the concrete clients and hands each function the ones it needs. Nothing here does I/O: clients
// connect on first use, so a cold start costs no round trip.
func wire(cfg config.Config, log *slog.Logger) (app, error) {
	account, err := storageAccount(cfg.Storage)
	if err != nil {
		return app{}, fmt.Errorf("building storage clients: %w", err)
	}
	h, err := health.Function(&health.Handler{Version: version, Build: build, Storage: account, Logger: log})
	if err != nil {
		return app{}, fmt.Errorf("declaring health: %w", err)
	}
	return app{functions: []trigger.Function{h}}, nil
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

func serveAzure(ctx context.Context, port, root string, cfg config.Config, a app, log *slog.Logger) error {
	srv, err := azfunc.NewServer(azfunc.Options{Logger: log, RoutePrefix: routePrefix(root, log)}, a.functions...)
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
