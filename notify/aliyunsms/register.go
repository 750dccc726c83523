package aliyunsms

import "yujing/notify"

// TypeName is the key of this channel's block in yujing's configuration.
const TypeName = "aliyun_sms"

// Type is the channel type aliyun_sms, as notify/all registers it: its
// configuration is Config, its constructor New (which checks everything),
// and its provider's callbacks are parsed by ParseReceipts.
func Type() *notify.Type {
	return notify.NewType(TypeName, func(name string, c Config, d notify.Deps) (*SMS, error) {
		c.Name = name
		return New(c, d.Client)
	}, func(ch *SMS) notify.Receipts {
		return notify.Receipts{Parse: ch.ParseReceipts, Ack: ReceiptAck}
	})
}
