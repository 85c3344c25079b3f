package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestReadHostJSON(t *testing.T) {
	tests := []struct {
		name   string
		json   string
		prefix string
		max    int
	}{
		{"absent", "", "api", 5},
		{"repository host.json", "repo", "api", 5},
		{"custom", `{"extensions":{"http":{"routePrefix":"v1"},"queues":{"maxDequeueCount":3}}}`, "v1", 3},
		{"empty prefix", `{"extensions":{"http":{"routePrefix":""}}}`, "-", 5},
		{"garbage", `{`, "api", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			switch tt.json {
			case "":
			case "repo":
				b, err := os.ReadFile(filepath.Join("..", "host.json"))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "host.json"), b, 0o644); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(tt.json), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got := readHostJSON(dir, slog.New(slog.DiscardHandler))
			if got.routePrefix != tt.prefix || got.maxDequeueCount != tt.max {
				t.Errorf("got %+v, want prefix %q max %d", got, tt.prefix, tt.max)
			}
		})
	}
}
