// Package wecom is the WeCom (企业微信) channel: it posts each call to a
// WeCom group robot webhook as a markdown message, or as a text_notice
// template card whose button opens the answer link. Robot answers are
// classified for the dispatcher: throttling (errcode 45009) is retried, an
// invalid key or a refused message is permanent. See README.md.
package wecom
