// Package ingest takes readings in: it subscribes to MQTT, maps each topic to
// a registered sensor, decodes the payload with the sensor's decoder,
// validates every value, writes the readings to a durable Sink and only then
// acknowledges the message to the broker, and hands the readings on to an
// Observer (the rule engine). Bad input is counted by reason, logged in a
// rate-limited way and kept for inspection; it never stops the pipeline.
package ingest
