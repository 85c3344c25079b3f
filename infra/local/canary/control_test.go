package canary_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/d365sap/d365sap/infra/local/canary"
)

// controlMark is in every planted control and in nothing the app writes.
const controlMark = "canary control"

// plantControls puts the canary where the scan must find it: a log line (JSON-escaped, as slog writes it), a
// table entity (base64 of gzip in a property), a gzip blob and a queue message (base64 of JSON), each under a
// name only the test uses. A scan that finds all of them and nothing else has shown it can find a leak.
func (w *world) plantControls(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	line, _ := json.Marshal(map[string]string{"msg": controlMark, "value": w.canary})
	fmt.Fprintf(w.app.Log, "%s\n", line)

	tables, err := aztables.NewServiceClientFromConnectionString(w.app.Storage, nil)
	if err != nil {
		t.Fatal(err)
	}
	table := w.prefix + "control"
	if _, err := tables.CreateTable(ctx, table, nil); err != nil {
		t.Fatal(err)
	}
	entity, _ := json.Marshal(map[string]string{"PartitionKey": "control", "RowKey": "1",
		"Payload": base64.StdEncoding.EncodeToString(gz(controlMark + ": " + w.canary))})
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
	if _, err := blobs.UploadBuffer(ctx, w.prefix+"-control", "control.json.gz", gz(`{"note":"`+controlMark+`","value":"`+w.canary+`"}`), nil); err != nil {
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
	msg := base64.StdEncoding.EncodeToString([]byte(`{"note":"` + controlMark + `","value":"` + w.canary + `"}`))
	if _, err := q.EnqueueMessage(ctx, msg, nil); err != nil {
		t.Fatal(err)
	}
}

// isControl says whether a finding is one of the planted controls.
func (w *world) isControl(f canary.Finding) bool {
	if f.Kind == "log line" {
		return strings.Contains(f.Context, controlMark)
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
