// Package ledger gives exactly-once effects on a remote system that is not idempotent (an SAP sales order or
// business partner create), over Azure Table Storage with ETags. It knows nothing of what the effect is: callers
// hand it the remote calls as functions.
//
// The model, after Stripe's idempotency keys:
//
//   - One entry per key (a D365 record id), created with a create-only insert; every later change is guarded
//     by the entry's ETag, so concurrent attempts agree on one owner and one result.
//   - Claim makes one attempt the owner until its lease ends. Takers wait until the lease plus the clock-skew
//     tolerance has passed; the owner stops starting remote calls the tolerance (and a margin) before it ends.
//     So two instances whose clocks differ by less than the tolerance never own a key at once.
//   - Before an effect is sent, the entry says so (the "intent": SentUntil, the latest moment the remote may have
//     received it). A fresh claim writes the intent in its insert, so the happy path costs no extra write.
//   - An effect whose outcome the remote did not state (timeout, reset, any 5xx, an answer that does not parse)
//     stays unresolved: no new effect is sent until a lookup by the caller's reference finds it, or until the
//     commit window (the remote's own longest run time plus its search lag) has passed since SentUntil and a
//     lookup after that found nothing. Only answers that prove the remote did nothing (a business rejection, a
//     refused connection) clear the intent at once. Nothing else clears it: not a give-up, not a takeover.
//   - Every outcome is recorded by one ETag-guarded write, optionally in one entity-group transaction with rows
//     of the same partition (the audit row of the attempt).
//
// Links (remote id → key) let later events that carry only the remote's number find the key in one read.
// Backoff re-enqueues queue work that met an outage, so unavailability never uses up deliveries. Stuck finds
// entries that need the queue again (the sweeper).
package ledger
