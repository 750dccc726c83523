package main

import (
	"maps"
	"slices"

	"yujing/alerting/escalate"
	"yujing/notify"
	"yujing/web"
)

// newCalls serves call-and-answer's calls in the API and a callback
// endpoint, POST /api/v1/callbacks/{channel name}, for every channel with a
// receipt parser (receipts, by channel name, from buildChannels: each
// channel type registers its parser with the type, in its package), whose
// receipts go to call-and-answer.
func newCalls(esc *escalate.Engine, receipts map[string]notify.Receipts) (*web.Calls, error) {
	calls := web.NewCalls(esc)
	for _, name := range slices.Sorted(maps.Keys(receipts)) {
		r := receipts[name]
		if err := calls.HandleReceipts(name, web.BodyReceipts(r.Parse, r.Ack)); err != nil {
			return nil, err
		}
	}
	return calls, nil
}
