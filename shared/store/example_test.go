package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/d365sap/d365sap/shared/store"
)

// An idempotency record: the first invocation to insert it owns the work; a redelivered message
// finds it and stops.
type processed struct {
	SalesOrder string    `json:"salesOrder"`
	At         time.Time `json:"at"`
}

func Example_idempotency() {
	ctx := context.Background()
	acct, err := store.NewAccountFromConnectionString(os.Getenv("AzureWebJobsStorage"), nil)
	if err != nil {
		fmt.Println(err) // never contains the account key
		return
	}
	records, err := store.NewTable[processed](acct, "processed")
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = records.Insert(ctx, store.Row[processed]{PartitionKey: "orders", RowKey: "msg-4711",
		Value: processed{SalesOrder: "4711", At: time.Now()}})
	switch {
	case errors.Is(err, store.ErrConflict):
		fmt.Println("already processed")
	case err != nil:
		fmt.Println("retry later:", err)
	default:
		fmt.Println("processing")
	}
}

func Example_checkpoint() {
	ctx := context.Background()
	acct, _ := store.NewAccountFromConnectionString("UseDevelopmentStorage=true", nil)
	checkpoints, _ := store.NewTable[struct {
		Cursor string `json:"cursor"`
	}](acct, "checkpoints")
	row, err := checkpoints.Get(ctx, "sap", "salesorders")
	if err != nil {
		fmt.Println(err)
		return
	}
	row.Value.Cursor = "2026-11-27T05:00:00Z"
	if _, err := checkpoints.Update(ctx, row); err != nil {
		var ce *store.ConflictError
		if errors.As(err, &ce) && ce.PreconditionFailed() {
			fmt.Println("another run moved the checkpoint first")
		}
	}
}

func Example_lease() {
	ctx := context.Background()
	acct, _ := store.NewAccountFromConnectionString("UseDevelopmentStorage=true", nil)
	// The lock blob must exist; CreateBlob losing the race is fine.
	if _, err := acct.CreateBlob(ctx, "locks", "sync-run", nil, nil); err != nil && !errors.Is(err, store.ErrConflict) {
		fmt.Println(err)
		return
	}
	lease, err := acct.AcquireLease(ctx, "locks", "sync-run", 30*time.Second)
	if errors.Is(err, store.ErrLeaseHeld) {
		fmt.Println("another run is active")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer lease.Release(ctx)
	// ... work, calling lease.Renew(ctx) within every 30 s ...
}
