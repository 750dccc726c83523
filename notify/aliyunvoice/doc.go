// Package aliyunvoice is the Alibaba Cloud voice channel (语音服务, dyvmsapi
// SingleCallByTts, API version 2017-05-25): each call becomes one phone
// call that reads an approved text-to-speech template to the person,
// signed with Alibaba Cloud's RPC signature (package notify/internal/sign).
// The channel sends once and classifies the answer; ParseReceipts turns
// the provider's call reports (answered, busy, no answer, failed) and key
// presses (DTMF — "1" is the answer "received") into yujing.Receipt
// values. See README.md.
package aliyunvoice
