// Package tencentvoice is the Tencent Cloud voice channel (语音消息 VMS
// SendTtsVoice, API 3.0, version 2020-09-02): each call becomes one phone
// call that reads an approved voice template, the request signed with
// TC3-HMAC-SHA256 (package notify/internal/sign). The channel sends once
// and classifies the answer; ParseReceipts turns the provider's callbacks
// — call status, key pressed ("1" is the answer "received"), failure
// reason — into yujing.Receipt values. See README.md.
package tencentvoice
