// Package sign computes the request signatures of the two Chinese clouds
// whose SMS and voice APIs notify's channels call:
//
//   - Alibaba Cloud's RPC signature, version 1.0 (HMAC-SHA1 over the
//     canonicalized query), used by dysmsapi (SMS, package aliyunsms) and
//     dyvmsapi (voice, package aliyunvoice);
//   - Tencent Cloud's TC3-HMAC-SHA256 (signature method v3), used by sms
//     (package tencentsms) and vms (package tencentvoice).
//
// Both are pinned to the providers' published worked examples in the tests.
// The package holds no secrets and keeps no state.
package sign
