package ingest

import (
	"time"

	"yujing"
)

// DefaultSnapshotHold is Config.SnapshotHold when it is not set.
const DefaultSnapshotHold = time.Second

// snapshots holds, for one shard worker, the BIRTH values (decode.Point
// Snapshot) that are stored but not yet given to the observer. A BIRTH
// states each metric's current value, and encoders such as Eclipse Tahu's
// declare a placeholder (lel = 0.0) there, then send the real value in a
// DATA of the same millisecond right after. The DATA is stored over the
// snapshot; held back, the snapshot never reaches the rule engine, where a
// placeholder 0 would resolve an open red warning just before the DATA's
// 60 raised a new one.
//
// A held snapshot goes to the observer, in order with its sensor's other
// readings, when
//   - a reading of its sensor with a later time is observed (just before
//     it), or
//   - the shard has dealt with every message received within the hold
//     after the snapshot's BIRTH (a message received later was observed,
//     or the shard waited idle until then);
//
// and is dropped when a reading of its sensor, metric and instant is
// observed: the DATA that superseded it (the subscriber refuses any other
// reading of that instant as a duplicate).
type snapshots struct {
	hold time.Duration
	by   map[string][]heldReading // by sensor
	n    int
	next time.Time // the earliest until of those held; zero when none
}

type heldReading struct {
	rd    yujing.Reading
	until time.Time // its BIRTH's receipt time plus the hold
}

func newSnapshots(hold time.Duration) *snapshots {
	return &snapshots{hold: hold, by: map[string][]heldReading{}}
}

// pass appends to out what the observer gets of a stored batch: rs, but
// for the snapshots among them (held), and before each reading the held
// snapshots of its sensor that it does not supersede and that are older.
func (h *snapshots) pass(out, rs []yujing.Reading, info []readingInfo) []yujing.Reading {
	for i := range rs {
		rd := &rs[i]
		if held := h.by[rd.Sensor]; len(held) > 0 {
			keep := held[:0]
			for _, x := range held {
				switch {
				case x.rd.Metric == rd.Metric && x.rd.Time.Equal(rd.Time):
					h.n-- // superseded
				case rd.Time.After(x.rd.Time):
					out = append(out, x.rd)
					h.n--
				default:
					keep = append(keep, x)
				}
			}
			h.set(rd.Sensor, keep)
		}
		if info[i].snapshot {
			x := heldReading{rd: *rd, until: info[i].at.Add(h.hold)}
			h.by[rd.Sensor] = append(h.by[rd.Sensor], x)
			h.n++
			if h.next.IsZero() || x.until.Before(h.next) {
				h.next = x.until
			}
			continue
		}
		out = append(out, *rd)
	}
	return out
}

// expire appends to out the snapshots held until now or earlier.
func (h *snapshots) expire(out []yujing.Reading, now time.Time) []yujing.Reading {
	if h.n == 0 || now.Before(h.next) {
		return out
	}
	h.next = time.Time{}
	for sensor, held := range h.by {
		keep := held[:0]
		for _, x := range held {
			if !now.Before(x.until) {
				out = append(out, x.rd)
				h.n--
				continue
			}
			keep = append(keep, x)
			if h.next.IsZero() || x.until.Before(h.next) {
				h.next = x.until
			}
		}
		h.set(sensor, keep)
	}
	return out
}

// all appends to out every snapshot held and forgets them.
func (h *snapshots) all(out []yujing.Reading) []yujing.Reading {
	for sensor, held := range h.by {
		for _, x := range held {
			out = append(out, x.rd)
		}
		delete(h.by, sensor)
	}
	h.n, h.next = 0, time.Time{}
	return out
}

func (h *snapshots) set(sensor string, held []heldReading) {
	if len(held) == 0 {
		delete(h.by, sensor)
		return
	}
	h.by[sensor] = held
}
