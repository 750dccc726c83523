// Package tencentsms is the Tencent Cloud SMS channel (短信 SendSms, API
// 3.0, version 2021-01-11): each call becomes one templated SMS, the
// request signed with TC3-HMAC-SHA256 (package notify/internal/sign). The
// channel sends once and classifies the answer — the request's Error and
// the per-number SendStatusSet code — and parses the provider's status and
// reply callbacks into yujing.Receipt values (ParseReceipts). See
// README.md.
package tencentsms
