// Package testenv starts the real external services that integration tests
// run against: a mosquitto MQTT broker and an InfluxDB OSS 1.8 server. Each
// runs as a child process on free loopback ports with its configuration and
// data in the test's temporary directory, and is stopped by t.Cleanup.
//
// Both can be stopped and started again on the same port with the same data,
// so tests can simulate an outage.
//
// The binaries come from scripts/test-deps.sh (run by `make test`): mosquitto
// from Debian's packages, influxd built with `go install` into $YUJING_TOOLS
// (default $HOME/.cache/yujing-tools). When a binary is missing the test is
// skipped, unless YUJING_REQUIRE_EXTERNAL=1, when it fails instead; CI sets
// that so a broken tool install cannot silently skip the integration tests.
package testenv
