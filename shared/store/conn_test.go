package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// A made-up key in the real format (64 random bytes, base64): any sign of it in an error is a leak.
const testKey = "c2VjcmV0LWtleS1tdXN0LW5ldmVyLWJlLXByaW50ZWQtYW55d2hlcmUtaW4tbG9ncy0wMTIzNDU2Nzg5QUJD"

func TestParseConnectionString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ConnInfo
		key  bool
		sas  bool
	}{
		{
			name: "development storage",
			in:   "UseDevelopmentStorage=true",
			want: ConnInfo{AccountName: "devstoreaccount1", Development: true,
				BlobEndpoint:  "http://127.0.0.1:10000/devstoreaccount1",
				QueueEndpoint: "http://127.0.0.1:10001/devstoreaccount1",
				TableEndpoint: "http://127.0.0.1:10002/devstoreaccount1"},
			key: true,
		},
		{
			name: "development storage behind a proxy host, any case",
			in:   " usedevelopmentstorage = TRUE ; DevelopmentStorageProxyUri=http://azurite ;",
			want: ConnInfo{AccountName: "devstoreaccount1", Development: true,
				BlobEndpoint:  "http://azurite:10000/devstoreaccount1",
				QueueEndpoint: "http://azurite:10001/devstoreaccount1",
				TableEndpoint: "http://azurite:10002/devstoreaccount1"},
			key: true,
		},
		{
			name: "account key, endpoints derived",
			in:   "DefaultEndpointsProtocol=https;AccountName=d365sapprod;AccountKey=" + testKey + ";EndpointSuffix=core.windows.net",
			want: ConnInfo{AccountName: "d365sapprod",
				TableEndpoint: "https://d365sapprod.table.core.windows.net",
				BlobEndpoint:  "https://d365sapprod.blob.core.windows.net",
				QueueEndpoint: "https://d365sapprod.queue.core.windows.net"},
			key: true,
		},
		{
			name: "sovereign cloud suffix and default protocol",
			in:   "AccountName=acct1;AccountKey=" + testKey + ";EndpointSuffix=core.chinacloudapi.cn",
			want: ConnInfo{AccountName: "acct1",
				TableEndpoint: "https://acct1.table.core.chinacloudapi.cn",
				BlobEndpoint:  "https://acct1.blob.core.chinacloudapi.cn",
				QueueEndpoint: "https://acct1.queue.core.chinacloudapi.cn"},
			key: true,
		},
		{
			name: "explicit endpoints as with-azurite writes them",
			in: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + testKey +
				";BlobEndpoint=http://127.0.0.1:40000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:40001/devstoreaccount1;TableEndpoint=http://127.0.0.1:40002/devstoreaccount1/;",
			want: ConnInfo{AccountName: "devstoreaccount1",
				BlobEndpoint:  "http://127.0.0.1:40000/devstoreaccount1",
				QueueEndpoint: "http://127.0.0.1:40001/devstoreaccount1",
				TableEndpoint: "http://127.0.0.1:40002/devstoreaccount1"},
			key: true,
		},
		{
			name: "SAS with explicit endpoints and no account name",
			in:   "BlobEndpoint=https://a.blob.core.windows.net/;QueueEndpoint=https://a.queue.core.windows.net;TableEndpoint=https://a.table.core.windows.net;SharedAccessSignature=?sv=2022-11-02&sig=abc%3D",
			want: ConnInfo{
				BlobEndpoint:  "https://a.blob.core.windows.net",
				QueueEndpoint: "https://a.queue.core.windows.net",
				TableEndpoint: "https://a.table.core.windows.net"},
			sas: true,
		},
		{
			name: "unknown settings are ignored",
			in:   "AccountName=acct1;AccountKey=" + testKey + ";FileEndpoint=https://x.file.core.windows.net;Whatever=1",
			want: ConnInfo{AccountName: "acct1",
				TableEndpoint: "https://acct1.table.core.windows.net",
				BlobEndpoint:  "https://acct1.blob.core.windows.net",
				QueueEndpoint: "https://acct1.queue.core.windows.net"},
			key: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseConnectionString(tt.in)
			if err != nil {
				t.Fatalf("ParseConnectionString: %v", err)
			}
			if got.HasAccountKey() != tt.key || got.HasSAS() != tt.sas {
				t.Fatalf("key %v sas %v, want %v %v", got.HasAccountKey(), got.HasSAS(), tt.key, tt.sas)
			}
			got.accountKey, got.sas = "", ""
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseConnectionStringErrorsNeverLeakTheKey(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // fragments every error must name
	}{
		{"empty", " ; ", []string{"empty"}},
		{"key not base64", "AccountName=acct1;AccountKey=" + testKey + "!!", []string{"AccountKey is not valid base64"}},
		{"key and SAS", "AccountName=acct1;AccountKey=" + testKey + ";SharedAccessSignature=sv=1&sig=" + testKey, []string{"both set"}},
		{"no credential", "AccountName=acct1", []string{"neither AccountKey nor SharedAccessSignature"}},
		{"misspelt key name", "AccountName=acct1;AcountKey=" + testKey, []string{"neither AccountKey"}},
		{"key without account", "AccountKey=" + testKey, []string{"AccountName is required", "TableEndpoint is required"}},
		{"bad account name", "AccountName=Bad_Name;AccountKey=" + testKey, []string{"AccountName must be"}},
		{"bad protocol", "DefaultEndpointsProtocol=ftp;AccountName=acct1;AccountKey=" + testKey, []string{"DefaultEndpointsProtocol"}},
		{"relative endpoint", "AccountName=acct1;AccountKey=" + testKey + ";BlobEndpoint=acct1.blob", []string{"BlobEndpoint is not an absolute"}},
		{"endpoint with query", "AccountName=acct1;AccountKey=" + testKey + ";QueueEndpoint=https://q.example/?sig=" + testKey, []string{"QueueEndpoint must not carry a query"}},
		{"bare key pasted as a segment", "AccountName=acct1;" + strings.TrimRight(testKey, "=") + ";AccountKey=" + testKey, []string{"segment 2 is not name=value"}},
		{"key pasted twice", "AccountName=acct1;AccountKey=" + testKey + ";AccountKey=" + testKey, []string{"AccountKey appears twice"}},
		{"dev storage false", "UseDevelopmentStorage=false", []string{"must be true"}},
		{"dev storage with a key", "UseDevelopmentStorage=true;AccountKey=" + testKey, []string{"cannot be combined"}},
		{"every problem at once", "DefaultEndpointsProtocol=gopher;AccountKey=" + testKey + "#;TableEndpoint=nope",
			[]string{"DefaultEndpointsProtocol", "AccountKey is not valid base64", "AccountName is required", "TableEndpoint is not an absolute", "BlobEndpoint is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConnectionString(tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
			assertNoKey(t, msg)
		})
	}
}

func TestConnInfoRedactsSecrets(t *testing.T) {
	for _, in := range []string{
		"AccountName=acct1;AccountKey=" + testKey,
		"AccountName=acct1;SharedAccessSignature=sv=1&sig=" + testKey,
	} {
		c, err := ParseConnectionString(in)
		if err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("settings", "storage", c)
		for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%v", &c), logged.String()} {
			assertNoKey(t, out)
			if !strings.Contains(out, "acct1") {
				t.Errorf("%q does not even name the account", out)
			}
		}
	}
}

// assertNoKey fails if s holds the test key or any 12-character run of it.
func assertNoKey(t *testing.T, s string) {
	t.Helper()
	for i := 0; i+12 <= len(testKey); i++ {
		if strings.Contains(s, testKey[i:i+12]) {
			t.Fatalf("output leaks the key: %q", s)
		}
	}
}

func TestConnectionStringErrorIsNotAConflict(t *testing.T) {
	_, err := NewAccountFromConnectionString("AccountName=acct1", nil)
	if err == nil || errors.Is(err, ErrConflict) {
		t.Fatalf("err %v", err)
	}
}
