// Package ingest takes readings in: it subscribes to MQTT, maps each topic to
// a registered sensor, decodes the payload with the sensor's decoder,
// validates every value, writes the readings to a durable Sink and only then
// acknowledges the message to the broker, and hands the readings on to an
// Observer (the rule engine). Bad input is counted by reason, logged in a
// rate-limited way and kept for inspection; it never stops the pipeline.
//
// The checks of a message live in one place (validate.go): the Subscriber
// runs them, and so does a Checker, which gives the verdict on each part
// of a message without a broker or a store — what yujing tail shows.
package ingest
