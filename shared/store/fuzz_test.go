package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// The connection string comes from settings (an operator pastes it, with the key in it); entities and batch
// answers come from the storage service. Neither may panic the app, and the key must never show in an error
// or in any printed form of what was parsed.

// leakMark starts every secret the fuzz target plants. No message of the parser contains it, so its presence in
// any output is a leak of input text, whatever the fuzzer put around it.
const leakMark = "Zq9~"

// FuzzParseConnectionString parses connection strings with a secret planted as the account key, as the SAS or
// as a pasted segment without a name: no error and no printed form of the result shows it, and what is
// accepted has one credential and endpoints that are usable base URLs: absolute http(s), a host, no user,
// query, fragment or trailing slash (paths are appended to them).
func FuzzParseConnectionString(f *testing.F) {
	for _, s := range []string{"UseDevelopmentStorage=true", " usedevelopmentstorage = TRUE ; DevelopmentStorageProxyUri=http://azurite ;",
		"DefaultEndpointsProtocol=https;AccountName=d365sapprod;EndpointSuffix=core.windows.net",
		"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;BlobEndpoint=http://127.0.0.1:40000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:40001/devstoreaccount1;TableEndpoint=http://127.0.0.1:40002/devstoreaccount1/",
		"BlobEndpoint=https://a.blob.core.windows.net/;QueueEndpoint=https://a.queue.core.windows.net;TableEndpoint=https://a.table.core.windows.net",
		"AccountName=ACCT;AccountName=x", "UseDevelopmentStorage=false;AccountName=a", "TableEndpoint=https://a/?sv=1", ";;;", "", "=;x=", "AccountName=acct1;EndpointSuffix=./"} {
		for mode := range uint8(3) {
			f.Add(s, testKey, mode)
		}
	}
	f.Add("AccountName=acct1", "not base64!", uint8(0))
	f.Add("AccountName=acct1;SharedAccessSignature=?sv=1", "x", uint8(0))
	f.Add("UseDevelopmentStorage=true", "", uint8(1))
	f.Fuzz(func(t *testing.T, s, secret string, mode uint8) {
		secret = leakMark + secret
		switch mode % 3 {
		case 0:
			s += ";AccountKey=" + secret
		case 1:
			s += ";SharedAccessSignature=" + secret
		default:
			s += ";" + secret // a key pasted without its name
		}
		c, err := ParseConnectionString(s)
		if err != nil {
			if strings.Contains(err.Error(), leakMark) {
				t.Fatalf("the error shows the secret: %v", err)
			}
			return
		}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("parsed", "conn", c)
		for _, out := range []string{c.String(), c.GoString(), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), logged.String()} {
			if strings.Contains(out, leakMark) {
				t.Fatalf("a printed form shows the secret: %s", out)
			}
		}
		if c.HasAccountKey() == c.HasSAS() {
			t.Fatalf("accepted with key %v and SAS %v", c.HasAccountKey(), c.HasSAS())
		}
		if c.Development && c.AccountName != devAccountName {
			t.Fatalf("development storage as account %q", c.AccountName)
		}
		for _, e := range []string{c.TableEndpoint, c.BlobEndpoint, c.QueueEndpoint} {
			u, err := url.Parse(e)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" ||
				u.ForceQuery || strings.ContainsAny(e, "#?") || strings.HasSuffix(e, "/") {
				t.Fatalf("endpoint %q of %q", e, s)
			}
		}
	})
}

// FuzzParseBatchFailure reads the Table service's answer to a refused transaction: a failure it reports has a
// failing status and an operation index that is -1 (unknown) or a real position.
func FuzzParseBatchFailure(f *testing.F) {
	const ct = "multipart/mixed; boundary=batchresponse_1"
	wrap := func(inner string) []byte {
		return []byte("--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
			"--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
			inner + "\r\n--changesetresponse_2--\r\n--batchresponse_1--\r\n")
	}
	for _, inner := range []string{
		"HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n" + `{"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US","value":"7:The specified entity already exists."}}}`,
		"HTTP/1.1 412 Precondition Failed\r\nContent-ID: 4\r\nContent-Type: application/json\r\n\r\n" + `{"odata.error":{"code":"UpdateConditionNotSatisfied","message":{"value":"no index here"}}}`,
		"HTTP/1.1 400 Bad Request\r\n\r\nnot json", "HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-ID: 0\r\n\r\n" + `{"odata.error":{"message":{"value":"-3:x"}}}`,
	} {
		f.Add(ct, wrap(inner))
	}
	f.Add("application/json", []byte(`{}`))
	f.Add("multipart/mixed", []byte("--x--"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		te := parseBatchFailure(contentType, body)
		if te == nil {
			return
		}
		if te.StatusCode < 400 || te.Index < -1 {
			t.Fatalf("failure %+v", te)
		}
	})
}

// FuzzDecodeRow reads entities as the Table service returns them: a raw row's value never carries the keys,
// Timestamp or odata.* metadata (they are the Row's fields), and it decodes to the same properties as the
// entity minus those.
func FuzzDecodeRow(f *testing.F) {
	for _, s := range []string{`{"odata.etag":"W/\"datetime'2026-01-01T00%3A00%3A00Z'\"","PartitionKey":"p","RowKey":"r","Timestamp":"2026-01-01T00:00:00.1234567Z","state":"accepted","n":1}`,
		`{"PartitionKey":"p","RowKey":"r","dueAt":"2026-01-01T00:00:00Z","dueAt@odata.type":"Edm.DateTime","big":"9007199254740993","big@odata.type":"Edm.Int64"}`,
		`{"Timestamp":"yesterday","odata.metadata":"x","PartitionKey@odata.type":"Edm.String"}`, `{"PartitionKey":1}`, `[]`, `null`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, _ = decodeRow[map[string]any](raw)
		row, err := decodeRow[json.RawMessage](raw)
		if err != nil {
			return
		}
		var props, all map[string]any
		if err := json.Unmarshal(row.Value, &props); err != nil {
			t.Fatalf("raw value %s does not decode: %v", row.Value, err)
		}
		if err := json.Unmarshal(raw, &all); err != nil {
			t.Fatalf("decodeRow accepted what does not decode: %v", err)
		}
		for name := range all {
			_, kept := props[name]
			if kept == systemProperty(name) {
				t.Fatalf("property %q kept: %v (system property: %v)", name, kept, systemProperty(name))
			}
		}
		if len(props) > len(all) {
			t.Fatalf("raw value %s has properties the entity does not", row.Value)
		}
	})
}
