// Package aliyunsms is the Alibaba Cloud SMS channel (短信服务, dysmsapi
// SendSms, API version 2017-05-25): each call becomes one templated SMS to
// the person's phone, signed with Alibaba Cloud's RPC signature (package
// notify/internal/sign). The channel only sends and classifies the answer —
// throttling and provider faults are retryable, rejected numbers, templates
// and signatures are permanent — and parses the provider's delivery
// reports and inbound replies into yujing.Receipt values (ParseReceipts).
// See README.md.
package aliyunsms
