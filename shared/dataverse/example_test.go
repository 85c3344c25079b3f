package dataverse_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/d365sap/d365sap/infra/local/dvsim"
	"github.com/d365sap/d365sap/shared/dataverse"
)

// Wiring as main does it: settings map onto Options (DATAVERSE_URL → URL, DATAVERSE_TENANT_ID/CLIENT_ID/
// CLIENT_SECRET/AUTHORITY_HOST → the token source, DATAVERSE_TIMEOUT → Timeout, DATAVERSE_MAX_CONCURRENCY →
// MaxConcurrency, DATAVERSE_INITIAL_CONCURRENCY → InitialConcurrency, DATAVERSE_MAX_RETRIES → MaxRetries,
// DATAVERSE_PAGE_SIZE → PageSize). Here the simulator stands in for the org and for Entra ID.
func Example() {
	sim, err := dvsim.Start(dvsim.Options{Clients: map[string]string{"app": "secret"}})
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	orgURL := sim.URL // DATAVERSE_URL
	client, err := dataverse.New(dataverse.Options{
		URL: orgURL,
		Tokens: &dataverse.ClientSecretSource{AuthorityHost: sim.URL, TenantID: "contoso", ClientID: "app",
			ClientSecret: "secret", Scope: dataverse.Scope(orgURL)},
		Timeout:            30 * time.Second, // DATAVERSE_TIMEOUT
		MaxConcurrency:     52,               // DATAVERSE_MAX_CONCURRENCY
		InitialConcurrency: 4,                // DATAVERSE_INITIAL_CONCURRENCY
		MaxRetries:         6,                // DATAVERSE_MAX_RETRIES
		PageSize:           500,              // DATAVERSE_PAGE_SIZE
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	key := dataverse.AltKey("accountnumber", "0000100042")
	w, err := client.Upsert(ctx, "accounts", key, dataverse.Record{"name": "Contoso"}, &dataverse.UpsertOptions{Return: true})
	fmt.Println("created:", w.Created, err)
	w, err = client.Upsert(ctx, "accounts", key, dataverse.Record{"name": "Contoso AG"}, &dataverse.UpsertOptions{Return: true})
	fmt.Println("created:", w.Created, err)
	_, err = client.Upsert(ctx, "accounts", key, dataverse.Record{"name": "again"}, &dataverse.UpsertOptions{Mode: dataverse.CreateOnly})
	var de *dataverse.Error
	if errors.As(err, &de) {
		fmt.Println("create-only:", de.Status, de.Kind)
	}
	// Output:
	// created: true <nil>
	// created: false <nil>
	// create-only: 412 duplicate
}
