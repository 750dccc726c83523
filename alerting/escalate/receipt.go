package escalate

import (
	"context"
	"fmt"

	"yujing"
	"yujing/store"
)

// Receipt takes a provider's receipt (a delivery report, a voice call's
// result, a reply, a key press), as the web stage's callback endpoint
// hands it on: it is stored against its call, found by r.CallID or else
// by the provider's id — a receipt that matches no call is stored all the
// same, and counted — and then an SMS reply with an answer keyword or a
// key press of an answer key answers its call (Inbound). An error means
// the receipt is not stored: the provider should push it again.
func (e *Engine) Receipt(ctx context.Context, r yujing.Receipt) error {
	id, err := e.st.SaveReceipt(ctx, store.ReceiptOf(r))
	if err != nil {
		e.m.storeErrors.Inc()
		return fmt.Errorf("escalate: store receipt: %w", err)
	}
	e.m.receipts.WithLabelValues(fmt.Sprint(id != "")).Inc()
	if id == "" {
		e.log.Info("receipt matches no call", "channel", r.Channel, "status", r.Status, "provider_id", r.ProviderID, "call_id", r.CallID)
	}
	if _, err := e.Inbound(ctx, Inbound{CallID: id, Channel: r.Channel, Phone: r.Phone, Status: r.Status,
		Key: r.Key, Text: r.Text, At: r.At}); err != nil {
		// Stored: the answer is lost, not the receipt; the person can
		// still answer by the link or be answered for on the console.
		e.log.Error("answer from a provider callback not recorded", "channel", r.Channel, "call_id", id, "err", err)
	}
	return nil
}

// CallsFor returns the calls made about an alert, oldest first, with
// their receipts and answers.
func (e *Engine) CallsFor(ctx context.Context, alertID int64) ([]store.CallRecord, error) {
	return e.st.CallsFor(ctx, alertID)
}
