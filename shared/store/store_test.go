package store

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// testAccount connects to the Azurite that infra/local/with-azurite started. Without one the test
// skips, except in CI where a missing emulator is a failure.
func testAccount(t *testing.T, opts *AccountOptions) *Account {
	t.Helper()
	conn := os.Getenv("D365SAP_TEST_STORAGE")
	if conn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("D365SAP_TEST_STORAGE is not set; run the tests under infra/local/with-azurite")
		}
		t.Skip("D365SAP_TEST_STORAGE is not set; run under infra/local/with-azurite to test against Azurite")
	}
	a, err := NewAccountFromConnectionString(conn, opts)
	if err != nil {
		t.Fatalf("NewAccountFromConnectionString: %v", err)
	}
	return a
}

// uniqueName returns prefix plus random hex: valid as a table name (letters and digits) and, being
// lowercase, as a container or queue name.
func uniqueName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// countingTransport counts requests whose path contains a substring, passing all of them on.
type countingTransport struct {
	substr string
	n      atomic.Int64
}

func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, c.substr) {
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(req)
}

var _ interface {
	Do(*http.Request) (*http.Response, error)
} = (*countingTransport)(nil)

// withTransport builds AccountOptions that send everything through tr.
func withTransport(tr interface {
	Do(*http.Request) (*http.Response, error)
}) *AccountOptions {
	return &AccountOptions{ClientOptions: azcore.ClientOptions{Transport: tr}}
}
