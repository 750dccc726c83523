// Package alertmanager accepts warnings from the monitoring systems sites
// already run — Prometheus, Grafana Alerting, vmalert, amtool — the way they
// send them to a Prometheus Alertmanager: the API v2's postable alerts
// (POST /api/v2/alerts) and the webhook payload of version 4 that an
// Alertmanager's webhook receiver posts.
//
// It decodes and checks both (payload.go), identifies an alert by the
// fingerprint of its label set as Alertmanager computes it
// (fingerprint.go), maps its labels to yujing's site, sensor, family and
// level by configuration (mapping.go), and hands each alert to the warning
// lifecycle through the small Warnings interface it declares
// (receiver.go): one yujing warning per firing alert, kept while the alert
// is re-sent, moved in place when its level changes, ended when its endsAt
// passes or it is sent resolved. The HTTP handlers are in package web.
package alertmanager
