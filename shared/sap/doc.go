// Package sap is a client for SAP S/4HANA OData V2 APIs (API_SALES_ORDER_SRV and the others the integration uses).
//
// It handles what real systems demand and naive clients get wrong: CSRF tokens and their session cookies on every
// write (fetched once per service, shared by concurrent callers, refetched and retried once on
// "403 X-CSRF-Token: Required"), OData V2 JSON (the "d" envelope, "results", "__next", "__count", "/Date(ms)/"
// dates and decimals as strings), SAP's error body as a typed *Error, streaming pagination, $batch with changesets,
// and retries of reads only (a POST is never retried blindly: SAP sales orders are not idempotent). A write whose
// answer was lost carries ErrOutcomeUnknown, the cue to look the document up before sending it again; one that
// provably never reached SAP (no connection, no CSRF token) carries ErrNotSent and may simply be sent again.
//
// An order can carry the caller's reference in custom header fields (SalesOrderCreate.Extensions, YY1_*_SDH)
// and header texts (Texts), and be found again by it (FindSalesOrdersByField, FindSalesOrders by customer
// reference); NormalizeDocumentNumber gives document numbers from OData and events one form; ProductUnits gives a
// material's units in SAP's numerator/denominator convention.
//
// Settings map onto Options one to one in main: SAP_BASE_URL → BaseURL, SAP_CLIENT → SAPClient, SAP_AUTH_MODE →
// AuthMode, SAP_USERNAME/SAP_PASSWORD → Username/Password, SAP_OAUTH_TOKEN_URL/_CLIENT_ID/_CLIENT_SECRET/_SCOPE →
// OAuth*, SAP_TIMEOUT → Timeout, SAP_MAX_RESPONSE_BYTES → MaxResponseBytes, SAP_READ_RETRIES → ReadRetries.
// The defaults are shared/config's alone: New refuses a missing value instead of supplying its own.
//
// The layers are RoundTrippers stacked in New: csrf (writes) → retry (reads) → attempt timeout → auth → send
// probe → transport.
package sap
