package dataverse_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/shared/dataverse"
)

func writeCert(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "d365sap-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "client.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The certificate credential (azidentity) gets a token from the simulator's Entra-like endpoint with a
// signed client assertion, and the client uses it.
func TestCertificateSourceAgainstSimulator(t *testing.T) {
	sim, err := dvsim.StartTLS(dvsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	src, err := dataverse.NewCertificateSource("tenant-1", "app-cert", writeCert(t), dataverse.Scope(sim.URL),
		&dataverse.CertificateOptions{AuthorityHost: sim.URL, Transport: sim.HTTPServer().Client()})
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := src.Token(ctx(t))
	if err != nil || tok == "" || time.Until(exp) < 30*time.Minute {
		t.Fatalf("Token() = %q, %v, %v", tok, exp, err)
	}
	o := testOptions(sim.URL, src)
	o.HTTPClient = sim.HTTPServer().Client()
	c, err := dataverse.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx(t), "accounts", dataverse.Record{"name": "A"}, nil); err != nil {
		t.Fatalf("Create with a certificate token: %v", err)
	}
	if _, ok := sim.Stats()["app-cert"]; !ok {
		t.Errorf("the simulator did not see the certificate's client id: %v", sim.Stats())
	}
}

func TestCertificateSourceErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	public := &dataverse.CertificateOptions{AuthorityHost: "https://login.microsoftonline.com"}
	tests := []struct {
		name string
		path string
		o    *dataverse.CertificateOptions
		want string
	}{
		{"a missing certificate file", filepath.Join(t.TempDir(), "missing.pem"), public, "reading client certificate"},
		{"a malformed certificate", bad, public, "parsing client certificate"},
		// The public cloud is DATAVERSE_AUTHORITY_HOST's default, never the credential's own.
		{"no authority host", writeCert(t), &dataverse.CertificateOptions{}, "DATAVERSE_AUTHORITY_HOST"},
		{"no options", writeCert(t), nil, "DATAVERSE_AUTHORITY_HOST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dataverse.NewCertificateSource("t", "c", tt.path, "s", tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// The managed identity credential (azidentity, App Service flavour) gets a token from the simulator's
// identity endpoint.
func TestManagedIdentitySourceAgainstSimulator(t *testing.T) {
	sim, err := dvsim.Start(dvsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	t.Setenv("IDENTITY_ENDPOINT", sim.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "local-secret")
	src, err := dataverse.NewManagedIdentitySource("mi-client", dataverse.Scope(sim.URL))
	if err != nil {
		t.Fatal(err)
	}
	c, err := dataverse.New(testOptions(sim.URL, src))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx(t), "accounts", dataverse.Record{"name": "A"}, nil); err != nil {
		t.Fatalf("Create with a managed identity token: %v", err)
	}
	if _, ok := sim.Stats()["mi-client"]; !ok {
		t.Errorf("the simulator did not see the managed identity: %v", sim.Stats())
	}
}
