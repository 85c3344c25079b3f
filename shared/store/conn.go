package store

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// The well-known development account the storage emulators accept (public, documented by Microsoft).
const (
	devAccountName = "devstoreaccount1"
	devAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// ConnInfo is a parsed storage connection string. The secret (account key or SAS token) is kept
// unexported and is never printed: String, GoString and LogValue redact it.
type ConnInfo struct {
	AccountName string
	// Development is set when the string was UseDevelopmentStorage=true.
	Development bool
	// Service endpoints without a trailing slash, e.g. https://acct.table.core.windows.net or
	// http://127.0.0.1:10002/devstoreaccount1.
	TableEndpoint string
	BlobEndpoint  string
	QueueEndpoint string

	accountKey string
	sas        string
}

// HasAccountKey reports whether the string carries an account key (shared-key authorisation).
func (c ConnInfo) HasAccountKey() bool { return c.accountKey != "" }

// HasSAS reports whether the string carries a shared access signature instead of a key.
func (c ConnInfo) HasSAS() bool { return c.sas != "" }

func (c ConnInfo) String() string {
	auth := "none"
	switch {
	case c.accountKey != "":
		auth = "account key (redacted)"
	case c.sas != "":
		auth = "SAS (redacted)"
	}
	return fmt.Sprintf("storage account %q table=%s blob=%s queue=%s auth=%s",
		c.AccountName, c.TableEndpoint, c.BlobEndpoint, c.QueueEndpoint, auth)
}

// GoString keeps %#v from printing the unexported secret.
func (c ConnInfo) GoString() string { return "store.ConnInfo{" + c.String() + "}" }

// LogValue keeps slog from printing the unexported secret.
func (c ConnInfo) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account", c.AccountName),
		slog.String("table", c.TableEndpoint),
		slog.String("blob", c.BlobEndpoint),
		slog.String("queue", c.QueueEndpoint),
		slog.Bool("key", c.accountKey != ""),
		slog.Bool("sas", c.sas != ""),
	)
}

// ParseConnectionString parses an Azure Storage connection string, translating
// UseDevelopmentStorage=true into the emulator's well-known account on 127.0.0.1 ports 10000
// (blob), 10001 (queue) and 10002 (table), or on the host of DevelopmentStorageProxyUri.
// Every problem is reported (joined); no message ever contains the account key or the SAS,
// only setting names and positions. Unknown settings (FileEndpoint...) are ignored.
func ParseConnectionString(s string) (ConnInfo, error) {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf(format, args...))
	}
	kv := map[string]string{}
	seg := 0
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		seg++
		name, value, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			// The segment itself is not echoed: it might be a key pasted without its name.
			bad("segment %d is not name=value", seg)
			continue
		}
		lname := strings.ToLower(name)
		if _, dup := kv[lname]; dup {
			if knownSettings[lname] {
				bad("setting %s appears twice", name)
			} else {
				bad("segment %d repeats an earlier setting", seg)
			}
		}
		kv[lname] = strings.TrimSpace(value)
	}
	if seg == 0 {
		return ConnInfo{}, errors.New("parsing storage connection string: it is empty")
	}

	var c ConnInfo
	if v, ok := kv["usedevelopmentstorage"]; ok {
		if !strings.EqualFold(v, "true") {
			bad("UseDevelopmentStorage must be true when present")
		}
		host := "http://127.0.0.1"
		if p := kv["developmentstorageproxyuri"]; p != "" {
			u, err := url.Parse(p)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				bad("DevelopmentStorageProxyUri is not an absolute http(s) URL")
			} else {
				host = u.Scheme + "://" + u.Hostname()
			}
		}
		for name := range kv {
			if name != "usedevelopmentstorage" && name != "developmentstorageproxyuri" {
				bad("UseDevelopmentStorage cannot be combined with other settings")
				break
			}
		}
		c = ConnInfo{
			AccountName:   devAccountName,
			Development:   true,
			BlobEndpoint:  host + ":10000/" + devAccountName,
			QueueEndpoint: host + ":10001/" + devAccountName,
			TableEndpoint: host + ":10002/" + devAccountName,
			accountKey:    devAccountKey,
		}
		if len(problems) > 0 {
			return ConnInfo{}, fmt.Errorf("parsing storage connection string: %w", errors.Join(problems...))
		}
		return c, nil
	}

	c.AccountName = kv["accountname"]
	c.accountKey = kv["accountkey"]
	c.sas = strings.TrimPrefix(kv["sharedaccesssignature"], "?")
	switch {
	case c.accountKey != "" && c.sas != "":
		bad("AccountKey and SharedAccessSignature are both set; use one")
	case c.accountKey == "" && c.sas == "":
		bad("neither AccountKey nor SharedAccessSignature is set (identity-based connections use AzureWebJobsStorage__accountName instead)")
	}
	if c.accountKey != "" {
		if _, err := base64.StdEncoding.DecodeString(c.accountKey); err != nil {
			bad("AccountKey is not valid base64")
		}
		if c.AccountName == "" {
			bad("AccountName is required with AccountKey")
		}
	}
	if c.AccountName != "" && !validAccountName(c.AccountName) {
		bad("AccountName must be 3-24 lowercase letters and digits")
	}

	protocol := strings.ToLower(kv["defaultendpointsprotocol"])
	if protocol == "" {
		protocol = "https"
	}
	if protocol != "http" && protocol != "https" {
		bad("DefaultEndpointsProtocol must be http or https")
	}
	suffix := strings.Trim(kv["endpointsuffix"], "./")
	if suffix == "" {
		suffix = "core.windows.net"
	}
	if !validDNSSuffix(suffix) {
		// Checked here: it becomes part of every derived endpoint, which is otherwise used unparsed.
		bad("EndpointSuffix must be a DNS suffix such as core.windows.net")
	}
	endpoint := func(setting, service string) string {
		if v, ok := kv[strings.ToLower(setting)]; ok {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("%s is not an absolute http(s) URL", setting)
				return ""
			}
			if u.RawQuery != "" || u.ForceQuery {
				bad("%s must not carry a query; put a SAS in SharedAccessSignature", setting)
				return ""
			}
			// A user part would go out as credentials (and String prints endpoints); a fragment would swallow
			// the request paths appended to the endpoint.
			if u.User != nil || strings.Contains(v, "#") {
				bad("%s must not carry a user or a fragment", setting)
				return ""
			}
			return strings.TrimRight(v, "/")
		}
		if c.AccountName == "" {
			bad("%s is required when AccountName is not set", setting)
			return ""
		}
		return fmt.Sprintf("%s://%s.%s.%s", protocol, c.AccountName, service, suffix)
	}
	c.TableEndpoint = endpoint("TableEndpoint", "table")
	c.BlobEndpoint = endpoint("BlobEndpoint", "blob")
	c.QueueEndpoint = endpoint("QueueEndpoint", "queue")

	if len(problems) > 0 {
		return ConnInfo{}, fmt.Errorf("parsing storage connection string: %w", errors.Join(problems...))
	}
	return c, nil
}

// knownSettings are the names an error may echo; anything else might be a misplaced secret.
var knownSettings = map[string]bool{
	"defaultendpointsprotocol": true, "accountname": true, "accountkey": true, "endpointsuffix": true,
	"sharedaccesssignature": true, "tableendpoint": true, "blobendpoint": true, "queueendpoint": true,
	"fileendpoint": true, "usedevelopmentstorage": true, "developmentstorageproxyuri": true,
}

// validDNSSuffix accepts dot-separated labels of ASCII letters, digits and inner hyphens.
func validDNSSuffix(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

// validAccountName applies Azure's rule: 3-24 characters, lowercase letters and digits.
func validAccountName(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
