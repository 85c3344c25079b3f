package canary

import (
	"reflect"
	"strings"

	"github.com/d365sap/d365sap/shared/config"
)

// SecretSettings are the names of every setting of type config.Secret in config.Config, nested structs
// included, in declaration order: a secret added to the settings is covered without a change here.
func SecretSettings() []string {
	return secretsIn(reflect.TypeFor[config.Config](), nil)
}

var secretType = reflect.TypeFor[config.Secret]()

func secretsIn(t reflect.Type, acc []string) []string {
	for f := range t.Fields() {
		switch {
		case f.Type == secretType:
			name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
			acc = append(acc, strings.TrimSpace(name))
		case f.Type.Kind() == reflect.Struct:
			acc = secretsIn(f.Type, acc)
		}
	}
	return acc
}

// StorageCredentials are the credential parts of a storage connection string (AccountKey, SharedAccessSignature):
// what must not leak from AzureWebJobsStorage, whose other parts (endpoints, account name) are not secret.
func StorageCredentials(conn string) []string {
	var out []string
	for part := range strings.SplitSeq(conn, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || v == "" {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "accountkey", "sharedaccesssignature":
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out
}
