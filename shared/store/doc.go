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
// The service refuses nested objects and arrays and the SDK rounds integers beyond ±2^53; such
// values, and property names that are not identifiers, are refused before sending ([ErrInvalid]).
// Rows of several types share a table (and a transaction) as a Table[json.RawMessage]; [Raw] and
// [Decode] convert between typed and raw rows.
//
// [Table.Query] reads one partition in RowKey order; [Table.Find] reads across partitions with a
// [Filter] built from [Eq], [Lt], [And] and the rest, never from text. [Table.Transact] applies up to
// 100 operations in one partition atomically, and [Table.TransactETags] also returns the rows' new
// ETags, read from the service's answer.
//
// Failures the callers branch on are typed and read with errors.Is / errors.As: [ErrConflict]
// (a [*ConflictError]: create-only collisions, stale ETags, leases, stale pop receipts),
// [ErrPreconditionFailed], [ErrLeaseHeld] / [ErrLeaseMissing] / [ErrLeaseLost], [ErrNotFound],
// [*TransactionError] for a refused batch, [*ServiceError] for any other refusal (its StatusCode
// lets the caller decide what to retry), and [ErrInvalid] for requests refused before sending.
// The *azcore.ResponseError stays reachable beneath each of them.
//
// The SDK retries throttling, server errors and lost connections. A create-only Insert or
// CreateBlob whose first attempt landed but whose answer was lost therefore reports a conflict on
// the retry: callers using Insert as an idempotency guard should read the row when in doubt.
//
// [MemTable] and [MemAccount] are in-memory twins of [Table] and [Account] for unit tests of the
// features built on this package; the package's contract tests run every case against both the twin
// and Azurite.
package store
