package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/d365sap/d365sap/infra/local/kit"
)

// kitJSONBlocks finds the fenced JSON examples of a kit contract.
var kitJSONBlocks = regexp.MustCompile("(?s)```json\n(.*?)```")

// FuzzReadHostJSON reads host.json as an operator may edit it: whatever it holds, the handler starts with a
// route prefix and a positive delivery limit (the host's defaults when the file says nothing usable). Seeds are
// the app's host.json and the contract's examples.
func FuzzReadHostJSON(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "host.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	contract, err := os.ReadFile(filepath.Join(kit.Dir(f, "contracts"), "contracts", "functions-host.md"))
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range kitJSONBlocks.FindAllSubmatch(contract, -1) {
		f.Add(m[1])
	}
	for _, s := range []string{`{}`, `null`, `[]`, `{"extensions":{"http":{"routePrefix":""},"queues":{"maxDequeueCount":0}}}`,
		`{"extensions":{"http":{"routePrefix":null},"queues":{"maxDequeueCount":-3}}}`, `{"extensions":{"queues":{"maxDequeueCount":"5"}}}`,
		`{"extensions":{"http":{"routePrefix":"v1/api"},"queues":{"maxDequeueCount":1e9}}}`, `{"extensions":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "host.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		h := readHostJSON(dir, slog.New(slog.DiscardHandler))
		if h.routePrefix == "" || h.maxDequeueCount < 1 {
			t.Fatalf("host.json %q gave %+v", b, h)
		}
	})
}
