package canary

import (
	"reflect"
	"slices"
	"testing"

	"github.com/d365sap/d365sap/shared/config"
)

// The secrets the README names must be among those found by reflection; a new config.Secret is found too
// (and then set to the canary by the end-to-end test) without this list changing.
func TestSecretSettingsFindsEverySecret(t *testing.T) {
	got := SecretSettings()
	for _, want := range []string{"AzureWebJobsStorage", "SAP_PASSWORD", "SAP_OAUTH_CLIENT_SECRET", "DATAVERSE_CLIENT_SECRET"} {
		if !slices.Contains(got, want) {
			t.Errorf("SecretSettings() = %v, missing %s", got, want)
		}
	}
	for _, notSecret := range []string{"SAP_USERNAME", "DATAVERSE_CLIENT_ID", "AzureWebJobsStorage__accountName"} {
		if slices.Contains(got, notSecret) {
			t.Errorf("SecretSettings() = %v holds %s, which is not a config.Secret", got, notSecret)
		}
	}
	if slices.Contains(got, "") {
		t.Errorf("SecretSettings() = %q: a config.Secret without an env name cannot be set to the canary", got)
	}
}

// The canary is set by type, so a credential typed string would escape it: every setting whose name says it
// is a credential must be a config.Secret.
func TestEveryCredentialSettingIsASecret(t *testing.T) {
	var names []string
	for _, s := range settingsIn(reflect.TypeFor[config.Config](), nil) {
		names = append(names, s.name)
	}
	// The walk must see the plain settings too, or finding no unmarked credential would prove nothing.
	for _, want := range []string{"LOG_LEVEL", "SAP_USERNAME", "SAP_OAUTH_TOKEN_URL", "DATAVERSE_PAGE_SIZE", "AzureWebJobsStorage__clientId"} {
		if !slices.Contains(names, want) {
			t.Errorf("the settings walked (%v) miss %s", names, want)
		}
	}
	if got := UnmarkedSecrets(); len(got) > 0 {
		t.Fatalf("settings named as credentials but not of type config.Secret: %v", got)
	}
}

func TestSoundsSecret(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"SAP_PASSWORD", true},
		{"SAP_OAUTH_CLIENT_SECRET", true},
		{"DATAVERSE_CLIENT_SECRET", true},
		{"AzureWebJobsStorage", true},
		{"AzureWebJobsDashboard", true},
		{"WEBHOOK_SIGNING_KEY", true},
		{"SAP_API_KEY", true},
		{"SAS_TOKEN", true},
		{"ServiceBusConnectionString", true},
		{"EVENTS_CONNECTION_STRING", true},
		{"SapOAuthClientSecret", true},
		{"SAP_OAUTH_TOKEN_URL", false},
		{"DATAVERSE_CLIENT_ID", false},
		{"DATAVERSE_CLIENT_CERTIFICATE_PATH", false},
		{"AzureWebJobsStorage__accountName", false},
		{"AzureWebJobs.orderpush.Disabled", false},
		{"SAP_USERNAME", false},
		{"STATE_TABLE", false},
		{"KEYVAULT_NAME", false},
		{"MONKEY_BUSINESS", false}, // "key" inside a word is no word
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SoundsSecret(tt.name); got != tt.want {
				t.Errorf("SoundsSecret(%q) = %v, want %v (words %q)", tt.name, got, tt.want, nameWords(tt.name))
			}
		})
	}
}

func TestStorageCredentials(t *testing.T) {
	got := StorageCredentials("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5PQ==;" +
		"BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;SharedAccessSignature=sv=2024&sig=abc%3D;")
	if !slices.Equal(got, []string{"a2V5PQ==", "sv=2024&sig=abc%3D"}) {
		t.Fatalf("StorageCredentials = %q", got)
	}
	if got := StorageCredentials("UseDevelopmentStorage=true"); len(got) != 0 {
		t.Fatalf("development storage: %q", got)
	}
}
