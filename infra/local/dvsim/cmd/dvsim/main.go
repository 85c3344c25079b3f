// Command dvsim runs the Dataverse Web API simulator on a loopback address.
//
//	dvsim -addr 127.0.0.1:7071 -window 300s -seed-accounts 10 -seed-products 50 -seed-orders 5
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "dvsim:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; ready, when set, receives the org URL once the listener is up.
func run(ctx context.Context, args []string, stdout io.Writer, ready func(url string)) error {
	fs := flag.NewFlagSet("dvsim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:7071", "listen address")
	window := fs.Duration("window", 300*time.Second, "service protection window; limits keep Dataverse's ratios")
	dop := fs.Int("dop-hint", 8, "x-ms-dop-hint value")
	servers := fs.Int("web-servers", 1, "web servers, each with its own limits per user (ARRAffinity picks one)")
	readCost := fs.Duration("read-cost", 0, "execution time charged per read")
	writeCost := fs.Duration("write-cost", 0, "execution time charged per row written")
	secret := fs.String("client-secret", "", "when set with -client-id, the only accepted client credentials")
	clientID := fs.String("client-id", "", "client id accepted with -client-secret")
	productsActive := fs.Bool("create-products-active", false,
		"organization setting createproductswithoutparentinactivestate: API-created products without a family start Active, not Draft")
	seed := dvsim.SeedOptions{}
	fs.IntVar(&seed.Accounts, "seed-accounts", 0, "accounts to seed")
	fs.IntVar(&seed.Products, "seed-products", 0, "products to seed")
	fs.IntVar(&seed.Orders, "seed-orders", 0, "orders to seed")
	fs.IntVar(&seed.LinesPerOrder, "seed-lines", 2, "lines per seeded order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stdout, nil))
	opts := dvsim.Options{Limits: dvsim.RealLimits().Scaled(*window), Costs: dvsim.Costs{Read: *readCost, Write: *writeCost}, Logger: log,
		WebServers: *servers, CreateProductsWithoutParentInActiveState: *productsActive}
	opts.Limits.DOPHint = *dop
	if *clientID != "" && *secret != "" {
		opts.Clients = map[string]string{*clientID: *secret}
	}
	sim, err := dvsim.New(opts)
	if err != nil {
		return fmt.Errorf("building simulator: %w", err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	sim.SetBaseURL("http://" + ln.Addr().String())
	if seed.Accounts+seed.Products+seed.Orders > 0 {
		if _, err := sim.Seed(seed); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("dvsim listening", "url", "http://"+ln.Addr().String()+"/api/data/v9.2/", "window", window.String())
	if ready != nil {
		ready("http://" + ln.Addr().String())
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving: %w", err)
		}
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
