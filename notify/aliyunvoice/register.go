package aliyunvoice

import "yujing/notify"

// TypeName is the key of this channel's block in yujing's configuration.
const TypeName = "aliyun_voice"

// Type is the channel type aliyun_voice, as notify/all registers it: its
// configuration is Config, its constructor New (which checks everything),
// and its provider's callbacks are parsed by ParseReceipts.
func Type() *notify.Type {
	return notify.NewType(TypeName, func(name string, c Config, d notify.Deps) (*Voice, error) {
		c.Name = name
		return New(c, d.Client)
	}, func(ch *Voice) notify.Receipts {
		return notify.Receipts{Parse: ch.ParseReceipts, Ack: ReceiptAck}
	})
}
