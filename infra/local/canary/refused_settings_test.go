package canary_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/d365sap/d365sap/infra/local/canary"
	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/funchost"
)

// The handler refusing its settings names every bad one and prints no secret, even one that is malformed (an
// account key that is not base64) or sits where it does not belong (in a URL, in a connection string's wrong
// part). It runs the real handler as the host would start it, with every secret setting a canary of its own and
// one more canary where a credential does not belong.
func TestRefusedSettingsPrintNoSecret(t *testing.T) {
	secret := canary.New() // in a connection string's wrong part, in URLs
	canaries := map[string]string{}
	needles := [][]canary.Needle{canary.Needles("the canary out of place", secret)}
	for _, name := range canary.SecretSettings() {
		canaries[name] = canary.New()
		needles = append(needles, canary.Needles(name, canaries[name]))
	}
	exe := e2e.Handler(t)
	tests := []struct {
		name     string
		storage  string
		settings map[string]string
		names    []string // settings the refusal must name
	}{
		{"an account key that is not base64, credentials in URLs",
			"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + secret + ";EndpointSuffix=core.windows.net",
			map[string]string{"SAP_BASE_URL": "https://user:" + url.QueryEscape(secret) + "@s4.example.com",
				"SAP_AUTH_MODE": "oauth2", "SAP_OAUTH_CLIENT_ID": "c", "SAP_OAUTH_TOKEN_URL": "http://c:" + url.QueryEscape(secret) + "@token.example.com/t",
				"DATAVERSE_URL": "https://contoso.crm4.dynamics.com/?secret=" + url.QueryEscape(secret), "SAP_TIMEOUT": "soon"},
			[]string{"AzureWebJobsStorage", "SAP_BASE_URL", "SAP_OAUTH_TOKEN_URL", "SAP_TIMEOUT"}},
		{"a connection string with a SAS and a setting that is wrong",
			"BlobEndpoint=https://acct.blob.core.windows.net;QueueEndpoint=https://acct.queue.core.windows.net;" +
				"TableEndpoint=https://acct.table.core.windows.net;SharedAccessSignature=sv=2024-01-01&sig=" + url.QueryEscape(secret),
			map[string]string{"LOG_LEVEL": "loud"}, []string{"LOG_LEVEL"}},
		// The openapi function's one failure: its host, which the settings check lets through, is no host name.
		{"a WEBSITE_HOSTNAME the OpenAPI document cannot hold", e2e.Storage(t),
			map[string]string{"WEBSITE_HOSTNAME": "app_canary.azurewebsites.net"}, []string{"OpenAPI host"}},
		{"a connection string whose parts do not parse",
			"DefaultEndpointsProtocol=https;AccountName=acct;" + secret + ";AccountKey=" + secret + "=",
			nil, []string{"AzureWebJobsStorage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			overrides := map[string]string{}
			for name, c := range canaries {
				if name != funchost.SettingStorage {
					overrides[name] = c
				}
			}
			for k, v := range tt.settings {
				overrides[k] = v
			}
			env := []string{"PATH=" + os.Getenv("PATH"), "FUNCTIONS_CUSTOMHANDLER_PORT=0"}
			for k, v := range e2e.Settings(t, tt.storage, overrides) {
				env = append(env, k+"="+v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe)
			cmd.Env = env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("the handler did not refuse its settings (exit 1): %v\n%s", err, out.String())
			}
			for _, name := range tt.names {
				if !strings.Contains(out.String(), name) {
					t.Errorf("the refusal does not name %s:\n%s", name, out.String())
				}
			}
			scan := canary.NewScan(needles...)
			for i, line := range strings.Split(out.String(), "\n") {
				scan.Check("output line", fmt.Sprintf("line %d", i+1), []byte(line))
			}
			for _, f := range scan.Findings() {
				t.Errorf("LEAK: %s", f)
			}
			t.Logf("searched %s of the refusal:\n%s", scan.Summary(), out.String())
		})
	}
}
