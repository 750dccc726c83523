// Package testenv starts the real external services that integration tests
// run against: a mosquitto MQTT broker and an InfluxDB OSS 1.8 server. Each
// runs as a child process on free loopback ports with its configuration and
// data in the test's temporary directory, and is stopped by t.Cleanup.
// A port is free only until someone takes it: when a server exits saying
// its address is in use (another test's listener, or a client's outgoing
// connection, took the port after it was chosen), it is started again on
// other ports, up to three times. A broker counts as up only once mosquitto
// has said it is running, so another listener on its port is not mistaken
// for it.
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
