package main

import (
	"yujing/notify"
	"yujing/notify/aliyunsms"
	"yujing/notify/aliyunvoice"
	"yujing/notify/tencentsms"
	"yujing/notify/tencentvoice"
	"yujing/web"
)

// receiptParser returns the callback parser of a channel whose provider
// reports back (delivery reports, voice call results, keys pressed,
// replies), or nil. This is the one list of them: when a channel package
// gains a ParseReceipts, add its case here, and its provider's callback URL
// is POST /api/v1/callbacks/{channel name}.
func receiptParser(ch notify.Channel) web.ReceiptParser {
	switch c := ch.(type) {
	case *aliyunsms.SMS:
		return web.BodyReceipts(c.ParseReceipts, aliyunsms.ReceiptAck)
	case *aliyunvoice.Voice:
		return web.BodyReceipts(c.ParseReceipts, aliyunvoice.ReceiptAck)
	case *tencentsms.SMS:
		return web.BodyReceipts(c.ParseReceipts, tencentsms.ReceiptAck)
	case *tencentvoice.Voice:
		return web.BodyReceipts(c.ParseReceipts, tencentvoice.ReceiptAck)
	}
	return nil
}

// newCalls serves the outbox's calls in the API and a callback endpoint
// for every channel with a receipt parser.
func newCalls(outbox *notify.Outbox, channels []notify.Channel) (*web.Calls, error) {
	calls := web.NewCalls(outbox)
	for _, ch := range channels {
		if p := receiptParser(ch); p != nil {
			if err := calls.HandleReceipts(ch.Name(), p); err != nil {
				return nil, err
			}
		}
	}
	return calls, nil
}
