// Package logchan is the log channel: it writes each call as one structured
// log record at Warn level instead of reaching a person. It is the channel of
// the demo and of a first installation, and a safe stand-in while real
// channels are being configured.
package logchan
