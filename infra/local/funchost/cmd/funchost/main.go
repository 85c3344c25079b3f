// Command funchost runs a function app folder under the local stand-in for the Azure Functions host:
//
//	funchost -dist dist -settings local.settings.json -addr 127.0.0.1:7071
//
// The host's own log is JSON on stderr; the handler's output is copied to stdout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/d365sap/d365sap/infra/local/funchost"
)

func main() {
	dist := flag.String("dist", "dist", "the app folder: host.json, the handler, <Function>/function.json")
	settingsPath := flag.String("settings", "local.settings.json", "local settings file; its Values are the app settings")
	addr := flag.String("addr", "127.0.0.1:7071", "address for HTTP triggers and the admin API")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log, *dist, *settingsPath, *addr); err != nil {
		log.Error("funchost stopped", "err", err.Error())
		os.Exit(1)
	}
}

func run(log *slog.Logger, dist, settingsPath, addr string) error {
	settings, err := funchost.ReadLocalSettings(settingsPath)
	if errors.Is(err, fs.ErrNotExist) {
		log.Warn("no local settings file; using the environment only", "path", settingsPath)
		settings, err = map[string]string{}, nil
	}
	if err != nil {
		return err
	}
	// Core Tools lets the environment override local settings; a storage account given only there counts too.
	if v, ok := os.LookupEnv(funchost.SettingStorage); ok {
		settings[funchost.SettingStorage] = v
	}
	h, err := funchost.New(funchost.Options{Dist: dist, Settings: settings, Addr: addr, Logger: log, WorkerOutput: os.Stdout})
	if err != nil {
		return fmt.Errorf("loading %s: %w", dist, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := h.Start(ctx); err != nil {
		return err
	}
	log.Info("host started", "addr", h.Addr())
	<-ctx.Done()
	stop() // a second Ctrl-C ends the process at once, even while invocations drain
	log.Info("stopping")
	return h.Close()
}
