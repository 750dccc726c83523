// Package providertest is what the channels' tests share: local stand-ins
// for the providers' clouds that check each request the way the provider
// documents it (Alibaba Cloud's RPC signature, Tencent Cloud's TC3,
// recomputed here step by step, independently of notify/internal/sign),
// servers that never answer or no longer listen, running a channel under
// the real dispatcher and outbox, and the checks every channel's tests
// make (classification of failures, no secrets in errors, timeouts,
// receipts, the sample configuration).
//
// Each channel's tests keep their own calls, answers and expectations: a
// helper here runs or checks, it does not decide what a channel must do.
package providertest
