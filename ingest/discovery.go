package ingest

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Discovered is a topic nobody registered, seen while discovery is on.
type Discovered struct {
	Topic     string    `json:"topic"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Count     int64     `json:"count"`
	Sample    string    `json:"sample"` // the newest payload, clipped
	// Site and Sensor are guesses from the default topic layout
	// yujing/{site}/{sensor}, to start the registration from.
	Site   string `json:"site,omitempty"`
	Sensor string `json:"sensor,omitempty"`
}

// Discovery lists unknown topics for an integrator to adopt. It keeps at
// most max topics; further new ones are counted as dropped.
type Discovery struct {
	mu      sync.Mutex
	topics  map[string]*Discovered
	max     int
	dropped int64
}

// NewDiscovery keeps up to max topics (default 1000).
func NewDiscovery(max int) *Discovery {
	if max <= 0 {
		max = 1000
	}
	return &Discovery{topics: map[string]*Discovered{}, max: max}
}

func (d *Discovery) note(topic string, payload []byte, now time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	x, ok := d.topics[topic]
	if !ok {
		if len(d.topics) >= d.max {
			d.dropped++
			return
		}
		x = &Discovered{Topic: topic, FirstSeen: now}
		if parts := strings.Split(topic, "/"); len(parts) == 3 && parts[0] == "yujing" {
			x.Site, x.Sensor = parts[1], parts[2]
		}
		d.topics[topic] = x
	}
	x.LastSeen = now
	x.Count++
	x.Sample = clipPayload(payload)
}

// List returns the discovered topics, most recently seen first, and how
// many new topics were not kept because the list was full.
func (d *Discovery) List() ([]Discovered, int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Discovered, 0, len(d.topics))
	for _, x := range d.topics {
		out = append(out, *x)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastSeen.Equal(out[j].LastSeen) {
			return out[i].LastSeen.After(out[j].LastSeen)
		}
		return out[i].Topic < out[j].Topic
	})
	return out, d.dropped
}
