package smsgateway

import "yujing/notify"

// TypeName is the key of this channel's block in yujing's configuration.
const TypeName = "sms_gateway"

// Type is the channel type sms_gateway, as notify/all registers it: its
// configuration is Config, its constructor New (which checks everything),
// and its provider does not report back.
func Type() *notify.Type {
	return notify.NewType(TypeName, func(name string, c Config, d notify.Deps) (*Gateway, error) {
		c.Name = name
		return New(c, d.Client)
	}, nil)
}
