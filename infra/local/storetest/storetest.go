// Package storetest connects tests to the Azurite that infra/local/with-azurite starts (make test does). Without
// one a test skips, except in CI (CI=true), where a missing emulator is a failure: storage tests never pass by
// not running.
package storetest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"github.com/d365sap/d365sap/shared/store"
)

// EnvVar holds Azurite's connection string.
const EnvVar = "D365SAP_TEST_STORAGE"

// ConnectionString returns Azurite's connection string, or skips (fails in CI) without one.
func ConnectionString(t testing.TB) string {
	t.Helper()
	conn := os.Getenv(EnvVar)
	if conn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the tests under infra/local/with-azurite (make test)", EnvVar)
		}
		t.Skipf("%s is not set; run under infra/local/with-azurite (make test) to test against Azurite", EnvVar)
	}
	return conn
}

// Account connects to Azurite.
func Account(t testing.TB) *store.Account {
	t.Helper()
	a, err := store.NewAccountFromConnectionString(ConnectionString(t), nil)
	if err != nil {
		t.Fatalf("connecting to Azurite: %v", err)
	}
	return a
}

// Name returns prefix plus random hex, lowercase: valid for a table (when prefix is letters), a queue or a
// container, and unique per test so tests never see each other's data.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}
