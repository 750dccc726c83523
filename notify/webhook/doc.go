// Package webhook is the webhook channel: it POSTs each call as one JSON
// document (Payload) to a configured URL, signed with HMAC-SHA256 when a
// secret is set. The payload fields and headers are a contract other systems
// rely on; see README.md. Receivers can check a signature with Verify.
package webhook
