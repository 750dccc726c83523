// Package testenv starts the real external services that integration tests
// run against: a mosquitto MQTT broker, an InfluxDB OSS 1.8 server, a
// PostgreSQL 15 server and a Prometheus server (StartPrometheus); Tool finds
// the other tools scripts/test-deps.sh installs (amtool). Each runs as a child process on free loopback ports
// with its configuration and data in the test's temporary directory, and is
// stopped by t.Cleanup.
// A port is free only until someone takes it: when a server exits saying
// its address is in use (another test's listener, or a client's outgoing
// connection, took the port after it was chosen), it is started again on
// other ports, up to three times. A broker counts as up only once mosquitto
// has said it is running, so another listener on its port is not mistaken
// for it.
//
// Each can be stopped and started again on the same port with the same data,
// so tests can simulate an outage; PostgreSQL can also be killed (SIGKILL of
// the postmaster and its backends, as a crash would) and recovers from its
// WAL when started again.
//
// PostgreSQL: StartPostgres gives a server of the test's own (Stop, Start,
// Restart, Kill) with an ordinary role owning one database, and
// NewDatabase another empty database on it. initdb takes seconds, so it runs
// once per machine and PostgreSQL build: its data directory is kept in the
// user's cache directory ($XDG_CACHE_HOME or $HOME/.cache, under
// yujing/testenv-postgres) and copied for each server; a test needing many
// empty databases and no restarts starts one server and calls NewDatabase
// per subtest (see BenchmarkStartPostgres and BenchmarkPostgresNewDatabase).
// Run as root, initdb and postgres run as the "postgres" user, which
// PostgreSQL requires. The server keeps fsync and synchronous_commit on, as
// in production.
//
// The binaries come from scripts/test-deps.sh (run by `make test`): mosquitto
// and PostgreSQL 15 from Debian's packages (PostgreSQL in
// /usr/lib/postgresql/15/bin, or $YUJING_POSTGRES_BIN), influxd built with
// `go install` into $YUJING_TOOLS (default $HOME/.cache/yujing-tools), and
// there too prometheus (from Debian's package) and amtool (`go install`). When a
// binary is missing the test is skipped, unless YUJING_REQUIRE_EXTERNAL=1,
// when it fails instead; CI sets that so a broken tool install cannot
// silently skip the integration tests.
package testenv
