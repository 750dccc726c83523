package notify

import "time"

// Receipt is what a provider reports back about a call after accepting it:
// an SMS status report, a voice call's result, a key pressed during a voice
// call, a reply. Providers' callbacks are parsed into receipts by each
// channel's package and stored against the call.
type Receipt struct {
	Channel    string    `json:"channel"`
	CallID     string    `json:"call_id,omitempty"`     // our idempotency key, when the provider echoes it back
	ProviderID string    `json:"provider_id,omitempty"` // the provider's id for the message or call (BizId, SerialNo, CallId)
	Phone      string    `json:"phone,omitempty"`
	Status     string    `json:"status"` // delivered, failed, answered, no_answer, busy, key_pressed, replied
	Detail     string    `json:"detail,omitempty"`
	Key        string    `json:"key,omitempty"`  // digit pressed in a voice call
	Text       string    `json:"text,omitempty"` // reply text of an inbound SMS
	At         time.Time `json:"at"`
}

// Receipt statuses.
const (
	ReceiptDelivered  = "delivered"
	ReceiptFailed     = "failed"
	ReceiptAnswered   = "answered"
	ReceiptNoAnswer   = "no_answer"
	ReceiptBusy       = "busy"
	ReceiptKeyPressed = "key_pressed"
	ReceiptReplied    = "replied"
)
