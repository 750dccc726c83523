package store

import (
	"time"

	"yujing"
)

// Call statuses in the outbox: a call is recorded pending before it is
// handed to its channel, and marked sent or failed when delivery ends. A
// pending call also records when an attempt to send it last began
// (PendingCall.SendingAt): one left so by a crash may have reached its
// provider.
const (
	CallPending = "pending" // recorded, not (yet) confirmed sent: handed on again after a restart
	CallSent    = "sent"    // the provider accepted it
	CallFailed  = "failed"  // given up: permanent error or attempts used up
)

// CallUpdate is how one run of deliveries of a call ended.
type CallUpdate struct {
	ID     string
	Status string // CallSent, CallFailed, or CallPending (cut short by shutdown)
	// Attempts made in this run; added to the stored count, so that it
	// counts the attempts of every run, before and after restarts.
	Attempts   int
	LastError  string    // "" when sent
	ProviderID string    // the provider's id for the sent call, if it gave one
	At         time.Time // when the run ended: the sent time when Status is CallSent
}

// PendingCall is a call recorded and not yet marked sent or failed.
type PendingCall struct {
	Call yujing.Call
	// SendingAt is when the latest attempt to send it began, written (and
	// on disk) before the request; zero when it was never tried. A call
	// with one is in doubt after a crash: the provider may have it.
	SendingAt time.Time
}

// CallRecord is a stored call, as the API shows it. Answer fields are nil
// until the call is answered.
type CallRecord struct {
	ID            string       `json:"id"`
	AlertID       int64        `json:"alert_id"`
	Event         yujing.Event `json:"event"`
	Step          int          `json:"step"`
	Person        string       `json:"person"`
	PersonName    string       `json:"person_name"`
	Channel       string       `json:"channel"`
	Status        string       `json:"status"`
	Attempts      int          `json:"attempts"`
	LastError     string       `json:"last_error"`
	ProviderID    string       `json:"provider_id,omitempty"`
	CreatedAt     time.Time    `json:"created_at"`
	SentAt        *time.Time   `json:"sent_at"`
	Deadline      *time.Time   `json:"deadline"`
	AnsweredAt    *time.Time   `json:"answered_at"`
	AnsweredBy    *string      `json:"answered_by"`
	AnswerChannel *string      `json:"answer_channel"`
	// AnswerNote is what the person wrote when answering; OnSite that they
	// said they are on site (已到岗). Both nil until answered.
	AnswerNote *string `json:"answer_note"`
	OnSite     *bool   `json:"on_site"`
	// EscalationID is the escalation that made the call (nil for a route's
	// notification), Round its repetition of the policy.
	EscalationID *int64        `json:"escalation_id"`
	Round        int           `json:"round"`
	Receipts     []CallReceipt `json:"receipts"`
}

// CallReceipt is a provider's report about a call: delivered, failed,
// answered, a key pressed, a reply. The phone number is kept (to match a
// reply that names no call to its sender) but never shown by the API.
type CallReceipt struct {
	CallID     string    `json:"call_id,omitempty"` // "" when no call could be matched
	Channel    string    `json:"channel"`
	ProviderID string    `json:"provider_id,omitempty"`
	Phone      string    `json:"-"`
	Status     string    `json:"status"`
	Key        string    `json:"key,omitempty"`
	Text       string    `json:"text,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	At         time.Time `json:"at"`
}

// ReceiptOf is the record of a provider's receipt, its call not yet
// matched (CallID as the provider named it, if at all).
func ReceiptOf(r yujing.Receipt) CallReceipt {
	return CallReceipt{CallID: r.CallID, Channel: r.Channel, ProviderID: r.ProviderID, Phone: r.Phone,
		Status: r.Status, Key: r.Key, Text: r.Text, Detail: r.Detail, At: r.At}
}
