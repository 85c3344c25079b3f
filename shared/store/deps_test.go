package store

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoBlobQueryDependencies guards the cold start: the azblob root, service, container and lease
// packages import the blob-query code and Apache Arrow, whose package initialisation every start of
// the function app would pay for. This package must reach blobs without them.
func TestNoBlobQueryDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const azblob = "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	banned := map[string]bool{azblob: true, azblob + "/service": true, azblob + "/container": true, azblob + "/lease": true}
	for _, pkg := range strings.Fields(string(out)) {
		if banned[pkg] || strings.HasPrefix(pkg, "github.com/apache/arrow-go/") {
			t.Errorf("shared/store depends on %s", pkg)
		}
	}
}
