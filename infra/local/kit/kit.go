// Package kit finds, for tests, the repository root and the reference kit (../shared beside the checkout), whose
// contracts, EDMX files, CDM column lists and samples tests check the product against. The kit is read in place,
// never copied into the project.
package kit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RepoRoot is the directory holding go.mod, found upwards from the working directory (a test's package dir).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Dir returns the reference kit's directory, checking that sub (e.g. "sap/edmx") exists in it. Without the kit
// the test skips, except in CI (CI=true), where the kit is always present and its absence is a failure.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	k := filepath.Join(root, "..", "shared")
	if _, err := os.Stat(filepath.Join(k, sub)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the reference kit is missing at %s (CI=true, so this is a failure): %v", k, err)
		}
		t.Skipf("the reference kit is missing at %s; skipping (CI=true makes this a failure)", k)
	}
	return k
}

// NodeTool returns a function that runs one of the checker scripts in infra/tools with node, giving its standard
// output (and, when it fails, its standard error too) and exit code. Without node or the pinned npm packages
// (installed by make test with npm ci --prefix infra/tools) the test skips, except in CI, where it fails.
func NodeTool(t testing.TB, script string, packages ...string) func(args ...string) (string, int) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tools := filepath.Join(root, "infra", "tools")
	missing := func(what string) {
		t.Helper()
		msg := what + " is not available; install the checkers with: npm ci --prefix infra/tools --ignore-scripts"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	for _, pkg := range packages {
		if _, err := os.Stat(filepath.Join(tools, "node_modules", pkg, "package.json")); err != nil {
			missing("infra/tools/node_modules/" + pkg)
		}
	}
	scriptPath := filepath.Join(tools, script)
	return func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, append([]string{scriptPath}, args...)...)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return out.String(), 0
		case errors.As(err, &exit):
			return out.String() + stderr.String(), exit.ExitCode()
		default:
			t.Fatalf("running %s: %v\n%s%s", script, err, out.String(), stderr.String())
			return "", -1
		}
	}
}
