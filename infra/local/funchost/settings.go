package funchost

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Settings names the stand-in reads from the app settings. The two key settings are the stand-in's own: the real host
// keeps its keys in storage (or, under Core Tools, does not check them at all), so they are never passed on to the
// handler as app settings.
const (
	SettingStorage     = "AzureWebJobsStorage"
	SettingMasterKey   = "FUNCHOST_MASTER_KEY"
	SettingFunctionKey = "FUNCHOST_FUNCTION_KEY"
	SettingWorkerRT    = "FUNCTIONS_WORKER_RUNTIME"
)

// Default keys for local runs when the settings name none. They guard nothing but mistakes: the stand-in is meant to
// listen on loopback only.
const (
	DefaultMasterKey   = "local-master-key"
	DefaultFunctionKey = "local-function-key"
)

// DevelopmentStorage is the connection string of the storage emulator's well-known development account on its
// default ports; the Go SDKs do not understand "UseDevelopmentStorage=true", which the Functions tools accept.
const DevelopmentStorage = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
	"TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;"

// ReadLocalSettings reads the "Values" of a local.settings.json file. As Core Tools does, a value that is also set
// in the process environment is taken from the environment.
func ReadLocalSettings(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading local settings: %w", err)
	}
	var doc struct {
		Values map[string]json.RawMessage `json:"Values"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	out := make(map[string]string, len(doc.Values))
	for k, raw := range doc.Values {
		if v, ok := os.LookupEnv(k); ok {
			out[k] = v
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			out[k] = s
			continue
		}
		var n json.Number
		var bl bool
		switch {
		case json.Unmarshal(raw, &n) == nil:
			out[k] = n.String()
		case json.Unmarshal(raw, &bl) == nil:
			out[k] = strconv.FormatBool(bl)
		default:
			return nil, fmt.Errorf("parsing %s: Values.%s is not a string", path, k)
		}
	}
	return out, nil
}

// storageConnection finds the connection string a binding names: the setting itself, else AzureWebJobs<name>,
// and AzureWebJobsStorage when the binding names none.
func storageConnection(settings map[string]string, name string) (string, error) {
	if name == "" {
		name = SettingStorage
	}
	v, ok := settings[name]
	if !ok {
		v, ok = settings["AzureWebJobs"+name]
	}
	if !ok || strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("finding the storage connection: app setting %s not set", name)
	}
	if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(v, " ", "")), "usedevelopmentstorage=true") {
		return DevelopmentStorage, nil
	}
	return v, nil
}

// isHostSecret says whether a setting is one of the stand-in's keys, which are not app settings of the handler.
func isHostSecret(name string) bool {
	return name == SettingMasterKey || name == SettingFunctionKey
}
