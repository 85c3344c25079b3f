package canary

import (
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/d365sap/d365sap/shared/config"
)

// SecretSettings are the names of every setting of type config.Secret in config.Config, nested structs
// included, in declaration order: a secret added to the settings is covered without a change here.
func SecretSettings() []string {
	var out []string
	for _, s := range settingsIn(reflect.TypeFor[config.Config](), nil) {
		if s.secret {
			out = append(out, s.name)
		}
	}
	return out
}

// UnmarkedSecrets are the settings of config.Config whose names say they hold a credential but whose type is
// not config.Secret. Such a setting would print in clear and escape the canary (which is set by type), so the
// canary test fails on any: a credential must be a config.Secret.
func UnmarkedSecrets() []string {
	var out []string
	for _, s := range settingsIn(reflect.TypeFor[config.Config](), nil) {
		if !s.secret && SoundsSecret(s.name) {
			out = append(out, s.name)
		}
	}
	return out
}

type setting struct {
	name   string
	secret bool
}

var secretType = reflect.TypeFor[config.Secret]()

func settingsIn(t reflect.Type, acc []setting) []setting {
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		name = strings.TrimSpace(name)
		switch {
		case f.Type == secretType:
			acc = append(acc, setting{name: name, secret: true})
		case name == "" && f.Type.Kind() == reflect.Struct:
			acc = settingsIn(f.Type, acc)
		case name != "":
			acc = append(acc, setting{name: name})
		}
	}
	return acc
}

// credentialWords are words that, in a setting's name, say it holds a credential; notCredential are last words
// that say it holds something about one instead (SAP_OAUTH_TOKEN_URL, DATAVERSE_CLIENT_CERTIFICATE_PATH).
var (
	credentialWords = []string{"password", "passwd", "pwd", "secret", "key", "apikey", "token", "credential",
		"credentials", "sas", "signature", "connectionstring", "connstr"}
	notCredential = []string{"url", "uri", "path", "file", "id", "name", "host", "mode", "scope", "type", "timeout"}
)

// SoundsSecret says whether a setting's name says it holds a credential. The host's connection settings
// (AzureWebJobs<Name>, without a "__" part) are connection strings, which hold the account key.
func SoundsSecret(name string) bool {
	if rest, ok := strings.CutPrefix(name, "AzureWebJobs"); ok && rest != "" && !strings.Contains(rest, "__") && !strings.Contains(rest, ".") {
		return true
	}
	words := nameWords(name)
	if len(words) == 0 || slices.Contains(notCredential, words[len(words)-1]) {
		return false
	}
	for i, w := range words {
		if slices.Contains(credentialWords, w) {
			return true
		}
		if i > 0 && words[i-1]+w == "connectionstring" {
			return true
		}
	}
	return false
}

// nameWords splits SNAKE_CASE and CamelCase into lower-case words: "SAP_OAUTH_CLIENT_SECRET" → sap oauth
// client secret, "ServiceBusConnectionString" → service bus connection string.
func nameWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])):
			flush()
		}
		cur = append(cur, r)
	}
	flush()
	return words
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
