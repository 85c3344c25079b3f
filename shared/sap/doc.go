// Package sap is a client for SAP S/4HANA OData V2 APIs (API_SALES_ORDER_SRV and the others the integration uses).
//
// It handles what real systems demand and naive clients get wrong: CSRF tokens and their session cookies on every
// write (fetched once per service, shared by concurrent callers, refetched and retried once on
// "403 X-CSRF-Token: Required"), OData V2 JSON (the "d" envelope, "results", "__next", "__count", "/Date(ms)/"
// dates and decimals as strings), SAP's error body as a typed *Error, streaming pagination, $batch with changesets,
// and retries of reads only (a POST is never retried blindly: SAP sales orders are not idempotent).
//
// The layers are RoundTrippers stacked in New: csrf (writes) → retry (reads) → attempt timeout → auth → transport.
package sap
