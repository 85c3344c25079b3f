package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

func TestExampleSettingsLoad(t *testing.T) {
	values, err := exampleValues(repoFile(t, "local.settings.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(context.Background(), envconfig.MapLookuper(values))
	if err != nil {
		t.Fatalf("local.settings.example.json does not validate: %v", err)
	}
	if c.SAP.Timeout.D != 30*time.Second || c.Dataverse.MaxConcurrency.N != 52 || c.Storage.ConnectionString.Reveal() != "UseDevelopmentStorage=true" {
		t.Errorf("loaded %+v", c)
	}
}

func valid() map[string]string {
	return map[string]string{
		"AzureWebJobsStorage":     "DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==;EndpointSuffix=core.windows.net",
		"SAP_BASE_URL":            "https://s4.example.com",
		"SAP_USERNAME":            "INTEGRATION",
		"SAP_PASSWORD":            "s3cr3t-sap-pass",
		"DATAVERSE_URL":           "https://contoso.crm4.dynamics.com",
		"DATAVERSE_TENANT_ID":     "11111111-2222-3333-4444-555555555555",
		"DATAVERSE_CLIENT_ID":     "66666666-7777-8888-9999-000000000000",
		"DATAVERSE_CLIENT_SECRET": "s3cr3t-dv-secret",
	}
}

// oauth2 is base with the events endpoint under oauth2, every setting it needs given.
func oauth2(base map[string]string) map[string]string {
	return with(base, "EVENTS_AUTH_MODE", "oauth2",
		"EVENTS_OAUTH_JWKS_URL", "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/discovery/v2.0/keys",
		"EVENTS_OAUTH_ISSUERS", "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0",
		"EVENTS_OAUTH_AUDIENCES", "api://d365sap-events", "EVENTS_OAUTH_CLIENT_IDS", "a1b2c3d4-0000-0000-0000-000000000001")
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<unset>" {
			delete(m, kv[i])
			continue
		}
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // settings named in the error, in order
	}{
		{"valid", valid(), nil},
		{"identity-based storage", with(valid(), "AzureWebJobsStorage", "<unset>", "AzureWebJobsStorage__accountName", "prodacct", "AzureWebJobsStorage__clientId", "66666666-7777-8888-9999-000000000000"), nil},
		{"no storage at all", with(valid(), "AzureWebJobsStorage", "<unset>"), []string{"AzureWebJobsStorage"}},
		{"bad account name", with(valid(), "AzureWebJobsStorage", "<unset>", "AzureWebJobsStorage__accountName", "Prod_Acct"), []string{"AzureWebJobsStorage__accountName"}},
		{"connection string without key", with(valid(), "AzureWebJobsStorage", "AccountName=x;EndpointSuffix=core.windows.net"), []string{"AzureWebJobsStorage"}},
		{"plain http to a real host", with(valid(), "SAP_BASE_URL", "http://s4.example.com"), []string{"SAP_BASE_URL"}},
		{"credentials in the URL", with(valid(), "SAP_BASE_URL", "https://user:pw@s4.example.com"), []string{"SAP_BASE_URL"}},
		{"oauth2 needs its settings", with(valid(), "SAP_AUTH_MODE", "oauth2"), []string{"SAP_OAUTH_CLIENT_ID", "SAP_OAUTH_CLIENT_SECRET", "SAP_OAUTH_TOKEN_URL"}},
		{"unknown auth modes", with(valid(), "SAP_AUTH_MODE", "kerberos", "DATAVERSE_AUTH_MODE", "pat"), []string{"DATAVERSE_AUTH_MODE", "SAP_AUTH_MODE"}},
		{"certificate needs a path", with(valid(), "DATAVERSE_AUTH_MODE", "client_certificate"), []string{"DATAVERSE_CLIENT_CERTIFICATE_PATH"}},
		{"managed identity needs no secret", with(valid(), "DATAVERSE_AUTH_MODE", "managed_identity", "DATAVERSE_CLIENT_SECRET", "<unset>", "DATAVERSE_TENANT_ID", "<unset>"), nil},
		{"every problem at once", with(valid(),
			"SAP_TIMEOUT", "soon", "SAP_READ_RETRIES", "many", "DATAVERSE_MAX_CONCURRENCY", "100",
			"DATAVERSE_PAGE_SIZE", "0", "INVENTORY_SYNC_SCHEDULE", "*/15 * * * *", "STATUS_EVENTS_QUEUE", "SAP_Events",
			"LOG_LEVEL", "loud", "SAP_CLIENT", "1000", "DATAVERSE_TENANT_ID", "contoso", "STATE_TABLE", "state-table",
			"SHUTDOWN_TIMEOUT", "0s"),
			[]string{"DATAVERSE_MAX_CONCURRENCY", "DATAVERSE_PAGE_SIZE", "DATAVERSE_TENANT_ID", "INVENTORY_SYNC_SCHEDULE",
				"LOG_LEVEL", "SAP_CLIENT", "SAP_READ_RETRIES", "SAP_TIMEOUT", "SHUTDOWN_TIMEOUT", "STATE_TABLE", "STATUS_EVENTS_QUEUE"}},
		{"initial above max", with(valid(), "DATAVERSE_MAX_CONCURRENCY", "8", "DATAVERSE_INITIAL_CONCURRENCY", "16"), []string{"DATAVERSE_INITIAL_CONCURRENCY"}},
		{"same queue twice", with(valid(), "ORDER_PUSH_QUEUE", "sap-events"), []string{"ORDER_PUSH_QUEUE"}},
		{"bad cron values", with(valid(), "INVENTORY_SYNC_SCHEDULE", "0 61 * * * *"), []string{"INVENTORY_SYNC_SCHEDULE"}},
		{"body limit at its bounds", with(valid(), "HTTP_MAX_BODY_BYTES", "1024"), nil},
		{"body limit above the host's 100 MiB", with(valid(), "HTTP_MAX_BODY_BYTES", "104857601"), []string{"HTTP_MAX_BODY_BYTES"}},
		{"body limit not a number", with(valid(), "HTTP_MAX_BODY_BYTES", "8MiB"), []string{"HTTP_MAX_BODY_BYTES"}},
		{"events under basic need both credentials", with(valid(), "EVENTS_AUTH_MODE", "basic"), []string{"EVENTS_BASIC_PASSWORD", "EVENTS_BASIC_USERNAME"}},
		{"events under basic with both", with(valid(), "EVENTS_AUTH_MODE", "basic", "EVENTS_BASIC_USERNAME", "mesh", "EVENTS_BASIC_PASSWORD", "pw"), nil},
		{"an events user with a colon", with(valid(), "EVENTS_AUTH_MODE", "basic", "EVENTS_BASIC_USERNAME", "me:sh", "EVENTS_BASIC_PASSWORD", "pw"), []string{"EVENTS_BASIC_USERNAME"}},
		{"an unknown events auth mode", with(valid(), "EVENTS_AUTH_MODE", "jwt"), []string{"EVENTS_AUTH_MODE"}},
		{"events under oauth2 need the key set, issuers, audiences and clients", with(valid(), "EVENTS_AUTH_MODE", "oauth2"),
			[]string{"EVENTS_OAUTH_AUDIENCES", "EVENTS_OAUTH_CLIENT_IDS", "EVENTS_OAUTH_ISSUERS", "EVENTS_OAUTH_JWKS_URL"}},
		{"events under oauth2 with all four", with(oauth2(valid())), nil},
		{"events under oauth2 with only blanks between commas", with(oauth2(valid()), "EVENTS_OAUTH_CLIENT_IDS", " , ,"), []string{"EVENTS_OAUTH_CLIENT_IDS"}},
		{"a key set over http to another host", with(oauth2(valid()), "EVENTS_OAUTH_JWKS_URL", "http://login.example.com/keys"), []string{"EVENTS_OAUTH_JWKS_URL"}},
		{"a key set over http to loopback", with(oauth2(valid()), "EVENTS_OAUTH_JWKS_URL", "http://127.0.0.1:8081/t/discovery/v2.0/keys"), nil},
		{"a key set with credentials in it", with(oauth2(valid()), "EVENTS_OAUTH_JWKS_URL", "https://u:p@login.example.com/keys"), []string{"EVENTS_OAUTH_JWKS_URL"}},
		{"a key set that is a path", with(oauth2(valid()), "EVENTS_OAUTH_JWKS_URL", "/discovery/keys"), []string{"EVENTS_OAUTH_JWKS_URL"}},
		{"allowed origins", with(valid(), "EVENTS_ALLOWED_ORIGINS", "mesh.example.com, *"), nil},
		{"an allowed origin with a space", with(valid(), "EVENTS_ALLOWED_ORIGINS", "mesh.example.com,evil example"), []string{"EVENTS_ALLOWED_ORIGINS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), envconfig.MapLookuper(tt.env))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Setting)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("problems name %v, want %v\n%v", got, tt.want, err)
			}
			for _, secret := range []string{"s3cr3t-sap-pass", "s3cr3t-dv-secret", "c2VjcmV0LWtleS12YWx1ZQ==", ":pw@"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error prints a secret: %v", err)
				}
			}
		})
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	c, err := Load(context.Background(), envconfig.MapLookuper(valid()))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("settings", "sap", c.SAP, "dv_secret", c.Dataverse.ClientSecret, "cfg", c)
	out := buf.String() + fmt.Sprintf("%v %+v %#v %s", c, c, c, c.SAP.Password)
	b, _ := json.Marshal(c)
	out += string(b)
	for _, secret := range []string{"s3cr3t-sap-pass", "s3cr3t-dv-secret", "c2VjcmV0LWtleS12YWx1ZQ=="} {
		if strings.Contains(out, secret) {
			t.Fatalf("a secret was printed: %s", out)
		}
	}
	if c.SAP.Password.Reveal() != "s3cr3t-sap-pass" {
		t.Fatal("Reveal must return the value")
	}
}

func TestNCRONTAB(t *testing.T) {
	for _, ok := range []string{"0 */15 * * * *", "0 30 9 * * 1-5", "*/2 * * * * *", "0 0 0 1 Jan *", "0 0 12 * * Mon,Fri"} {
		if err := ValidateNCRONTAB(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"*/15 * * * *", "0 0 24 * * *", "0 */0 * * * *", "x * * * * *", ""} {
		if err := ValidateNCRONTAB(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The ledger's times must relate so that a create always ends inside its owner's lease; each broken relation
// is refused at start-up, naming the setting to change.
func TestLedgerTimesThatBreakExactlyOnceAreRefused(t *testing.T) {
	tests := []struct {
		name    string
		kv      []string
		setting string // "" when valid
	}{
		{"defaults", nil, ""},
		{"time-scaled for tests", []string{"SAP_TIMEOUT", "2s", "ORDER_PUSH_SYNC_TIMEOUT", "4s", "LEDGER_LEASE", "6s", "SAP_COMMIT_WINDOW", "3s",
			"CLOCK_SKEW_TOLERANCE", "200ms", "QUEUE_RETRY_BASE", "200ms", "QUEUE_RETRY_MAX", "1s", "ORDER_PUSH_SWEEP_GRACE", "8s"}, ""},
		{"a wait no create fits in", []string{"SAP_TIMEOUT", "30s", "ORDER_PUSH_SYNC_TIMEOUT", "30s"}, "ORDER_PUSH_SYNC_TIMEOUT"},
		{"a lease shorter than a request's wait", []string{"ORDER_PUSH_SYNC_TIMEOUT", "90s", "LEDGER_LEASE", "90s"}, "LEDGER_LEASE"},
		{"a lease eaten by the skew tolerance", []string{"LEDGER_LEASE", "60s", "CLOCK_SKEW_TOLERANCE", "10s"}, "LEDGER_LEASE"},
		{"a skew tolerance over a quarter of the lease", []string{"LEDGER_LEASE", "2m", "CLOCK_SKEW_TOLERANCE", "31s", "ORDER_PUSH_SYNC_TIMEOUT", "40s"}, "CLOCK_SKEW_TOLERANCE"},
		{"a commit window shorter than a create", []string{"SAP_COMMIT_WINDOW", "10s"}, "SAP_COMMIT_WINDOW"},
		{"a retry ceiling below its base", []string{"QUEUE_RETRY_BASE", "10s", "QUEUE_RETRY_MAX", "5s"}, "QUEUE_RETRY_MAX"},
		{"a sweep grace shorter than a retry and a lease", []string{"ORDER_PUSH_SWEEP_GRACE", "6m"}, "ORDER_PUSH_SWEEP_GRACE"},
		{"a bad sweep schedule", []string{"ORDER_PUSH_SWEEP_SCHEDULE", "*/5 * * * *"}, "ORDER_PUSH_SWEEP_SCHEDULE"},
		{"a lease that is not a duration", []string{"LEDGER_LEASE", "two minutes"}, "LEDGER_LEASE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), envconfig.MapLookuper(with(valid(), tt.kv...)))
			if tt.setting == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("accepted, or not a validation error: %v", err)
			}
			for _, p := range ve.Problems {
				if p.Setting == tt.setting {
					return
				}
			}
			t.Fatalf("no problem names %s: %v", tt.setting, err)
		})
	}
}
