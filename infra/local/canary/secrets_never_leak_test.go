package canary_test

import (
	"testing"

	"github.com/d365sap/d365sap/infra/local/canary"
)

// No secret setting ever leaves the app except towards the system it is for: with a fresh canary of its own as
// every config.Secret (and Azurite's account key in the storage connection string), every function is driven through
// its successes and failures, in both SAP sign-in modes and with each system refusing the credential, and the
// canary in any spelling must appear in no log line, no answer, no table entity, no blob and no queue message.
func TestSecretsNeverLeak(t *testing.T) {
	t.Logf("a canary each for %v; the storage account key and the host's keys are searched for as well", canary.SecretSettings())
	worlds := []spec{
		{name: "basic", sapAuth: "basic"},
		{name: "oauth2", sapAuth: "oauth2"},
		{name: "SAP refuses the password", sapAuth: "basic", sapRefuses: true},
		{name: "SAP refuses the client secret and Dataverse the secret", sapAuth: "oauth2", sapRefuses: true, dvRefuses: true},
		{name: "storage refuses the account key", sapAuth: "basic", storageRefuses: true},
	}
	var cov coverage
	// The worlds run in parallel inside this group, which returns once all have ended.
	t.Run("worlds", func(t *testing.T) {
		for _, sp := range worlds {
			t.Run(sp.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, sp)
				switch {
				case sp.storageRefuses:
					driveStorageRefused(t, w)
				case sp.sapRefuses || sp.dvRefuses:
					driveRefused(t, w)
				default:
					driveEveryPath(t, w)
				}
				w.searchEverything(t)
				cov.add(sp.name, runsIn(w.app.Log.String()))
				blobs := w.scan.Groups("blob")
				switch {
				case sp.storageRefuses: // the app could write nothing
				case blobs[w.prefix+"-archive"] == 0:
					t.Errorf("the archive held nothing to search: %v", blobs)
				case !sp.sapRefuses && !sp.dvRefuses && blobs[w.prefix+"-dead"] == 0:
					t.Errorf("the dead letters held nothing to search: %v", blobs)
				}
			})
		}
	})
	t.Run("every function ran clean and met a failure", func(t *testing.T) { cov.check(t, len(worlds)) })
}
