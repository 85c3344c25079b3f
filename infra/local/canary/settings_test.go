package canary

import (
	"slices"
	"testing"
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
