// Package tail watches live MQTT messages and shows what yujing makes of
// each: it is `yujing tail`, the integrator's view while wiring sensors.
//
// Run subscribes, as a client of its own (clean session, QoS 0), to a
// sensor's topics — its own, its Sparkplug BIRTH and DEATH topics, and
// those the configuration's topic templates map to it — or to any topic
// filter, and writes one line per reading, refusal, announcement or edge
// node metric set aside. Every message is judged by ingest's own
// validation (ingest.Checker), so tail refuses what serve refuses, for
// the same reasons; the readings it accepts go through the
// configuration's rules in an offline alerting.Engine, which calls no
// one, to show the warning level each reaches.
package tail
