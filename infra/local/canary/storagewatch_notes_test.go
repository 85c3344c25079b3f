package canary_test

import (
	"encoding/json"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/d365sap/d365sap/infra/local/e2e"
	"github.com/d365sap/d365sap/infra/local/storetest"
)

// The watch must note a write of every kind the app makes, the entity-group transaction included (its targets
// are inside the body), or a write outside the scanned names could pass unseen; reads are not noted.
func TestStorageWatchNotesEveryWrite(t *testing.T) {
	ctx := t.Context()
	watch, conn := startStorageWatch(t, e2e.Storage(t))
	name := storetest.Name(t, "sw")

	tables, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, batched := name+"created", name+"batched"
	if _, err := tables.CreateTable(ctx, created, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tables.CreateTable(ctx, batched, nil); err != nil {
		t.Fatal(err)
	}
	if watch.count("table "+created) == 0 || watch.count("table "+batched) == 0 {
		t.Errorf("creating the tables was not noted: %s", watch)
	}
	watch.reset() // from here on, only the transaction names the second table
	entity := func(row string) []byte {
		b, _ := json.Marshal(map[string]string{"PartitionKey": "p", "RowKey": row})
		return b
	}
	if _, err := tables.NewClient(created).AddEntity(ctx, entity("0"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tables.NewClient(batched).SubmitTransaction(ctx, []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeAdd, Entity: entity("1")},
		{ActionType: aztables.TransactionTypeInsertMerge, Entity: entity("2")},
	}, nil); err != nil {
		t.Fatal(err)
	}
	blobs, err := azblob.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.CreateContainer(ctx, name+"-c", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := blobs.UploadBuffer(ctx, name+"-c", "x/y.json", []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	queues, err := azqueue.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := queues.NewQueueClient(name + "-q")
	if _, err := q.Create(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := q.EnqueueMessage(ctx, "m", nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"table " + created, "table " + batched, "container " + name + "-c", "queue " + name + "-q"}
	for _, k := range want {
		if watch.count(k) == 0 {
			t.Errorf("the watch did not note %q; it noted %s", k, watch)
		}
	}
	if got := watch.outside(name); len(got) > 0 {
		t.Errorf("noted names outside the test's: %v", got)
	}

	watch.reset()
	if _, err := q.PeekMessages(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tables.NewClient(created).GetEntity(ctx, "p", "0", nil); err != nil {
		t.Fatal(err)
	}
	if watch.seen() {
		t.Errorf("reads were noted as writes: %s", watch)
	}
	tables.NewClient(created).Delete(ctx, nil)
	tables.NewClient(batched).Delete(ctx, nil)
	blobs.DeleteContainer(ctx, name+"-c", nil)
	q.Delete(ctx, nil)
}
