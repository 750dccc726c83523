// Package notify delivers calls (yujing.Call) to people through channels:
// SMS, voice, IM, e-mail, webhooks, or a log line in the demo.
//
// The stage has two halves, in the manner of Alertmanager's notifier:
//
//   - A Channel is one delivery integration. It sends one call, once, and
//     only classifies a failure: an error wrapped with Permanent must not be
//     retried (a rejected request, a bad payload); any other error is worth
//     another try. HTTP integrations get this classification from
//     CheckResponse. Integrations live one per folder, notify/<channel>/,
//     each registering its Type (configuration, constructor, receipt
//     parser), and are listed in one explicit list, notify/all.
//
//   - The Dispatcher owns everything shared: a bounded queue per channel
//     with back-pressure, workers, a circuit breaker and a rate limit per
//     channel, the per-send timeout, retries with exponential backoff and
//     full jitter, metrics labelled with a failure reason (FailureReason),
//     structured logs, and a graceful Stop that sends what is queued once
//     within a limit, waits out no backoff, and leaves the rest pending for
//     the next start (one summary line, not one per call). With Options.GroupWait it also holds the calls of a
//     burst of warnings from one site and sends them to each person as one
//     Group, through channels that can show one (GroupSender).
//
// In front of the Dispatcher, the Outbox records every call durably (in its
// Journal) before it is sent; the Journal marks it as being sent before
// each request (the Dispatcher's OnSend) and sent or failed (OnResult), so that a call is not lost in a
// crash and not sent twice after a restart (Resume) — except one that was
// inside its request when the process died: that one is in doubt, and is
// sent again only after its provider, when it can be asked (StatusQuerier),
// says it has no record of it; otherwise again with the same key
// (Deduplicator), or again and counted. It also stores what providers
// report back (Receipt). The Outbox's Call method is
// what the alerting stage needs from notify (its Caller interface);
// cmd/yujing plugs one into the other, so neither package imports the
// other.
//
// Files: deliver.go is a call's way through notify, in order (Outbox.Call,
// Dispatcher.Call, the lane's worker, deliver, attempt, Journal.Sending,
// finish, Journal.Result); outbox.go and dispatcher.go build, resume and
// stop the two halves; group.go, breaker.go, ratelimit.go and indoubt.go are the
// Dispatcher's grouping, breakers, rate limits and calls in doubt.
package notify
