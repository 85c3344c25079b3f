// Command sapsim serves the SAP S/4HANA OData simulator on an address, for local runs and end-to-end tests.
//
//	sapsim -addr 127.0.0.1:8081 -user SIMUSER -password secret -products 100000
//
// Faults can be changed while it runs: curl -X PUT localhost:8081/sapsim/faults -d '{"fail503Next":2}'.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/d365sap/d365sap/infra/local/sapsim"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sapsim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout *os.File) error {
	fs := flag.NewFlagSet("sapsim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8081", "listen address (host:port; port 0 picks one)")
	var o sapsim.Options
	fs.StringVar(&o.Username, "user", "", "Basic auth user (empty: no check)")
	fs.StringVar(&o.Password, "password", "", "Basic auth password")
	fs.StringVar(&o.OAuthClientID, "oauth-client-id", "", "enables POST /oauth/token for this client id")
	fs.StringVar(&o.OAuthClientSecret, "oauth-client-secret", "", "OAuth client secret")
	fs.StringVar(&o.SAPClient, "sap-client", "", "the only sap-client accepted (empty: any)")
	fs.DurationVar(&o.CSRFTokenTTL, "csrf-ttl", 30*time.Minute, "CSRF token lifetime")
	fs.IntVar(&o.PageSize, "page-size", 1000, "server page size")
	fs.Uint64Var(&o.Seed, "seed", 1, "data seed")
	fs.IntVar(&o.Products, "products", 1000, "generated products")
	fs.IntVar(&o.Customers, "customers", 50, "generated customers")
	plants := fs.String("plants", "1010,1020", "comma-separated plants")
	fs.StringVar(&o.EDMXDir, "edmx-dir", "", "directory with SAP's <SERVICE>.edmx files for $metadata")
	extFields := fs.String("extension-fields", "", `custom A_SalesOrder fields NAME=MaxLength,... ("none": no custom fields; empty: YY1_D365OrderID_SDH=36)`)
	fs.BoolVar(&o.ExtensionUpperCase, "extension-uppercase", false, "store custom field values upper-cased")
	textIDs := fs.String("text-ids", "", "comma-separated header text IDs allowed (empty: 0001,0002,Z001)")
	fs.BoolVar(&o.StockVariety, "stock-variety", false, "quality inspection, blocked and sales order stock, and a second storage location")
	priceVariety := fs.String("price-variety", "", `awkward generated prices as JSON, e.g. {"perHundred":10,"percentage":25}`)
	fs.BoolVar(&o.ClassicPricing, "classic-pricing", false, "PR00 conditions in tables 004/005 instead of PPR0 in 304/305")
	faults := fs.String("faults", "", `initial faults as JSON, e.g. {"error503Rate":0.1,"retryAfterSeconds":2}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Plants = strings.Split(*plants, ",")
	fields, err := parseExtensionFields(*extFields)
	if err != nil {
		return fmt.Errorf("reading -extension-fields: %w", err)
	}
	o.ExtensionFields = fields
	if *textIDs != "" {
		o.TextIDs = strings.Split(*textIDs, ",")
	}
	if *priceVariety != "" {
		dec := json.NewDecoder(strings.NewReader(*priceVariety))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o.PriceVariety); err != nil {
			return fmt.Errorf("reading -price-variety: %w", err)
		}
	}
	if *faults != "" {
		dec := json.NewDecoder(strings.NewReader(*faults))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o.Faults); err != nil {
			return fmt.Errorf("reading -faults: %w", err)
		}
		if err := sapsim.ValidateFaults(o.Faults); err != nil {
			return fmt.Errorf("reading -faults: %w", err)
		}
	}
	logger := slog.New(slog.NewJSONHandler(stdout, nil))
	o.Logger = logger

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *addr, err)
	}
	sim := sapsim.New(o)
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("sapsim listening", "addr", ln.Addr().String(), "products", o.Products, "customers", o.Customers)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	sim.Quiesce() // commits a SlowCommit fault left running finish before the process exits
	logger.Info("sapsim stopped")
	return nil
}

// parseExtensionFields reads NAME=MaxLength pairs; "" keeps the simulator's default, "none" means no fields.
func parseExtensionFields(s string) (map[string]int, error) {
	switch s {
	case "":
		return nil, nil
	case "none":
		return map[string]int{}, nil
	}
	out := map[string]int{}
	for _, pair := range strings.Split(s, ",") {
		name, n, ok := strings.Cut(pair, "=")
		length, err := strconv.Atoi(n)
		if !ok || err != nil || length <= 0 || !sapsim.IsExtensionField(name) {
			return nil, fmt.Errorf("%q is not YY1_<Name>_SDH=<length>", pair)
		}
		out[name] = length
	}
	return out, nil
}
