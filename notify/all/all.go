// Package all lists every channel type yujing ships. Adding a channel is
// one folder under notify (with its Type function, in register.go) and one
// line here: the configuration learns the block's key and fields from the
// list, yujing check and yujing serve check a block with the same
// constructor, and serve builds the channel and its callback endpoint from
// it.
package all

import (
	"yujing/notify"
	"yujing/notify/aliyunsms"
	"yujing/notify/aliyunvoice"
	"yujing/notify/dingtalk"
	"yujing/notify/email"
	"yujing/notify/feishu"
	"yujing/notify/logchan"
	"yujing/notify/smsgateway"
	"yujing/notify/tencentsms"
	"yujing/notify/tencentvoice"
	"yujing/notify/webhook"
	"yujing/notify/wecom"
)

// Types returns a registry holding every built-in channel type, in the
// order yujing's messages list them.
func Types() (*notify.Types, error) {
	r := notify.NewTypes()
	for _, t := range []*notify.Type{
		webhook.Type(),
		logchan.Type(),
		aliyunsms.Type(),
		tencentsms.Type(),
		smsgateway.Type(),
		aliyunvoice.Type(),
		tencentvoice.Type(),
		dingtalk.Type(),
		wecom.Type(),
		feishu.Type(),
		email.Type(),
	} {
		if err := r.Register(t); err != nil {
			return nil, err
		}
	}
	return r, nil
}
