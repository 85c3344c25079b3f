// Package kit finds, for tests, the repository root and the reference kit (../shared beside the checkout), whose
// contracts, EDMX files, CDM column lists and samples tests check the product against. The kit is read in place,
// never copied into the project.
package kit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
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
