// Package smsgateway is a generic HTTP SMS channel for the platforms local
// carriers and integrators run (移动云MAS, 电信/联通 短信平台, in-house SMS
// gateways): the request — URL, method, headers and body — is described in
// the configuration with text/template, the Chinese SMS text is rendered
// from the call, and success is recognised by the HTTP status and,
// optionally, a field of a JSON answer (e.g. code == "0"). See README.md.
package smsgateway
