package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
)

// hostSettings are the parts of host.json the handler must agree with the host on.
type hostSettings struct {
	// routePrefix is extensions.http.routePrefix ("api" when absent, "-" for none), so forwarded HTTP routes match
	// what the host serves.
	routePrefix string
	// maxDequeueCount is extensions.queues.maxDequeueCount (5 when absent): the delivery after which the host
	// moves a failing message to the poison queue.
	maxDequeueCount int
}

// readHostJSON reads host.json in the app root (FUNCTIONS_APP_ROOT_PATH, or the working directory).
func readHostJSON(root string, log *slog.Logger) hostSettings {
	out := hostSettings{routePrefix: "api", maxDequeueCount: 5}
	if root == "" {
		root = "."
	}
	b, err := os.ReadFile(filepath.Join(root, "host.json"))
	if err != nil {
		return out
	}
	var h struct {
		Extensions struct {
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
			Queues struct {
				MaxDequeueCount *int `json:"maxDequeueCount"`
			} `json:"queues"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		log.Warn("host.json does not parse; using the host's defaults", "err", err)
		return out
	}
	if p := h.Extensions.HTTP.RoutePrefix; p != nil {
		out.routePrefix = *p
		if *p == "" {
			out.routePrefix = "-"
		}
	}
	if n := h.Extensions.Queues.MaxDequeueCount; n != nil && *n > 0 {
		out.maxDequeueCount = *n
	}
	return out
}
