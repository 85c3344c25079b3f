package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
)

// routePrefix reads extensions.http.routePrefix from host.json in the app root (FUNCTIONS_APP_ROOT_PATH or the
// working directory), so forwarded HTTP routes match what the host serves. "api" when absent.
func routePrefix(root string, log *slog.Logger) string {
	if root == "" {
		root = "."
	}
	b, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return "api"
	}
	var h struct {
		Extensions struct {
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		log.Warn("host.json does not parse; using route prefix api", "err", err)
		return "api"
	}
	if h.Extensions.HTTP.RoutePrefix == nil {
		return "api"
	}
	if *h.Extensions.HTTP.RoutePrefix == "" {
		return "-"
	}
	return *h.Extensions.HTTP.RoutePrefix
}
