package canary_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/d365sap/d365sap/infra/local/canary"
	"github.com/d365sap/d365sap/infra/local/e2e"
)

// controlMark is in every planted control and in nothing the app writes.
const controlMark = "canary control"

// plantControls puts every canary where the scan must find it: a log line (JSON-escaped, as slog writes it), an
// answer (URL-encoded in a problem's detail, and SAP's password in the Basic auth header SAP's user makes of
// it), a request to each system, a table entity (base64 of gzip in a property), a gzip blob and a queue message
// (base64 of JSON), each under a name only the test uses. A scan that finds each canary in all of them, and nothing else, has shown
// it can find a leak of any secret in any medium.
func (w *world) plantControls(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	var all, encoded []string
	for _, name := range slices.Sorted(maps.Keys(w.canaries)) {
		all, encoded = append(all, w.canaries[name]), append(encoded, url.QueryEscape(w.canaries[name]))
	}
	value := strings.Join(all, " ")
	line, _ := json.Marshal(map[string]string{"msg": controlMark, "value": value})
	fmt.Fprintf(w.app.Log, "%s\n", line)

	problem, _ := json.Marshal(map[string]string{"title": controlMark, "detail": "POST /token?client_secret=" + strings.Join(encoded, "&s=")})
	basic := base64.StdEncoding.EncodeToString([]byte(sapUser + ":" + w.secret(t, "SAP_PASSWORD")))
	w.mu.Lock()
	w.calls = append(w.calls, call{method: http.MethodGet, path: "/" + controlMark, resp: e2e.Response{Status: http.StatusUnauthorized,
		Header: http.Header{"Content-Type": {"application/problem+json"}, "X-Echo": {"Basic " + basic}}, Body: problem}})
	w.mu.Unlock()

	// What SAP and Dataverse receive: every canary in one request to each, of which all but its own are foreign.
	for _, base := range []string{w.sapURL, w.dvURL} {
		resp, err := http.Post(base+"/"+url.PathEscape(controlMark), "text/plain", strings.NewReader(value))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	tables, err := aztables.NewServiceClientFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	table := w.prefix + "control"
	if _, err := tables.CreateTable(ctx, table, nil); err != nil {
		t.Fatal(err)
	}
	entity, _ := json.Marshal(map[string]string{"PartitionKey": "control", "RowKey": "1",
		"Payload": base64.StdEncoding.EncodeToString(gz(controlMark + ": " + value))})
	if _, err := tables.NewClient(table).AddEntity(ctx, entity, nil); err != nil {
		t.Fatal(err)
	}

	blobs, err := azblob.NewClientFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.CreateContainer(ctx, w.prefix+"-control", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.UploadBuffer(ctx, w.prefix+"-control", "control.json.gz", gz(`{"note":"`+controlMark+`","value":"`+value+`"}`), nil); err != nil {
		t.Fatal(err)
	}

	queues, err := azqueue.NewServiceClientFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := queues.NewQueueClient(w.prefix + "-control")
	if _, err := q.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	msg := base64.StdEncoding.EncodeToString([]byte(`{"note":"` + controlMark + `","value":"` + value + `"}`))
	if _, err := q.EnqueueMessage(ctx, msg, nil); err != nil {
		t.Fatal(err)
	}
}

// isControl says whether a finding is one of the planted controls.
func (w *world) isControl(f canary.Finding) bool {
	if f.Kind == "log line" || f.Kind == "answer" {
		return strings.Contains(f.Where, controlMark)
	}
	return strings.HasPrefix(f.Where, w.prefix+"control/") || strings.HasPrefix(f.Where, w.prefix+"-control/")
}

func gz(s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.Bytes()
}
