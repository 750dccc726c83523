// Package email is the e-mail channel: it sends each call as a plain-text
// UTF-8 message through an SMTP submission server, over STARTTLS (port
// 587) or implicit TLS (port 465) with AUTH PLAIN, to the person's address
// and any configured ones. The Message-ID is derived from the call id, so
// every attempt at one call carries the same one. SMTP 4xx replies and
// network failures are retried by the dispatcher; 5xx replies are
// permanent. See README.md.
package email
