package canary_test

import (
	"maps"
	"net/url"
	"slices"
	"testing"

	"github.com/d365sap/d365sap/infra/local/canary"
)

// secret is the canary of a secret setting the world needs by name; it fails when config.Config has no such
// secret any more (renamed: the world must follow).
func (w *world) secret(t *testing.T, setting string) string {
	t.Helper()
	c, ok := w.canaries[setting]
	if !ok {
		t.Fatalf("config.Config has no secret setting %s (it has %v)", setting, canary.SecretSettings())
	}
	return c
}

// identities are the user parts the app's Basic headers could pair a secret with: SAP's user, SAP's OAuth client
// and the Dataverse client.
var identities = []string{sapUser, sapClientID, dvClient}

// needles are, per secret (a setting's name, the host's keys, the storage account key), every spelling of it:
// each canary also in the Basic headers it makes with each identity (as sent, and form-encoded as RFC 6749 has
// an OAuth client's), and the credentials of the storage connection strings.
func (w *world) needles(t *testing.T, functionKey, masterKey, storage string) map[string][]canary.Needle {
	t.Helper()
	out := map[string][]canary.Needle{
		"the function key": canary.Needles("the function key", functionKey),
		"the master key":   canary.Needles("the master key", masterKey),
	}
	for _, name := range slices.Sorted(maps.Keys(w.canaries)) {
		c := w.canaries[name]
		var basic []string
		for _, id := range identities {
			basic = append(basic, id+":"+c, url.QueryEscape(id)+":"+url.QueryEscape(c))
		}
		out[name] = canary.Needles(name, c, basic...)
	}
	creds := canary.StorageCredentials(storage)
	if len(creds) == 0 {
		t.Fatalf("the storage connection string holds no account key or SAS to search for")
	}
	for _, c := range creds {
		out["the storage account key"] = append(out["the storage account key"], canary.Needles("the storage account key", c)...)
	}
	for _, c := range canary.StorageCredentials(w.workerStorage) {
		out["the handler's storage account key"] = append(out["the handler's storage account key"], canary.Needles("the handler's storage account key", c)...)
	}
	return out
}

// own are the secrets a system may receive: the one credential it checks in this world's sign-in mode.
func (w *world) own(system string) []string {
	switch {
	case system == "SAP" && w.sapAuth == "oauth2":
		return []string{"SAP_OAUTH_CLIENT_SECRET"}
	case system == "SAP":
		return []string{"SAP_PASSWORD"}
	case system == "Dataverse":
		return []string{"DATAVERSE_CLIENT_SECRET"}
	}
	return nil
}

// foreign searches for every secret but a system's own. A new secret setting is foreign to both systems until
// it is named in own: sent to one, it fails the test until the world says it belongs there.
func (w *world) foreign(needles map[string][]canary.Needle, system string) *canary.Scan {
	var out [][]canary.Needle
	for _, name := range slices.Sorted(maps.Keys(needles)) {
		if !slices.Contains(w.own(system), name) {
			out = append(out, needles[name])
		}
	}
	return canary.NewScan(out...)
}
