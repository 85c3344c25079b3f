// Package store is the function app's view of Azure Storage: create-only and ETag-guarded table
// entities, capped transactional batches, create-only blobs with leases, and base64 queue messages.
//
// Everything hangs off an [Account], built from a connection string ([NewAccountFromConnectionString],
// which also understands UseDevelopmentStorage=true) or from an account name and an
// azcore.TokenCredential ([NewAccountWithCredential], the identity-based AzureWebJobsStorage__* form).
//
// Entities are typed: a [Table] of T stores [Row] values whose PartitionKey and RowKey sit beside the
// JSON fields of T, so domain types stay plain structs with json tags. The Table service infers
// Edm.String, Edm.Boolean, Edm.Int32 and Edm.Double from JSON, so keep money, quantities and int64
// values in strings (the house rule for decimals anyway); time.Time round-trips as an RFC 3339 string.
//
// Failures the callers branch on are typed and read with errors.Is / errors.As: [ErrConflict]
// (a [*ConflictError]: create-only collisions, stale ETags, leases), [ErrNotFound],
// [*TransactionError] for a refused batch, and [ErrInvalid] for requests refused before sending.
package store
