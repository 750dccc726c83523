package ingest

import "testing"

func TestTopicMatch(t *testing.T) {
	cases := []struct {
		filter, topic string
		want          bool
	}{
		{"yujing/#", "yujing/demo-plant/GT-101", true},
		{"yujing/#", "yujing", true},
		{"yujing/+/GT-101", "yujing/demo-plant/GT-101", true},
		{"yujing/+", "yujing/demo-plant/GT-101", false},
		{"yujing/+/+", "yujing/demo-plant", false},
		{"a/b", "a/b", true},
		{"a/b", "a/b/c", false},
		{"a/b/c", "a/b", false},
		{"#", "anything/at/all", true},
		{"#", "$SYS/broker/uptime", false},
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/broker/uptime", true},
		{"$share/g/yujing/#", "yujing/s/x", true},
		{"$share/g", "yujing", false},
		{"a/+/c", "a//c", true},
	}
	for _, c := range cases {
		if got := TopicMatch(c.filter, c.topic); got != c.want {
			t.Errorf("TopicMatch(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}

func FuzzTopicMatch(f *testing.F) {
	f.Add("yujing/+/x", "yujing/a/x")
	f.Add("$share/g/#", "a")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		got := TopicMatch(filter, topic)
		if filter == topic && got != true && !containsWildcard(filter) && filter != "" && filter[0] != '$' {
			t.Fatalf("identical filter and topic %q did not match", filter)
		}
	})
}

func containsWildcard(s string) bool {
	for _, c := range s {
		if c == '+' || c == '#' {
			return true
		}
	}
	return false
}

func TestFNV32a(t *testing.T) {
	// Reference values of FNV-1a 32 (the shard of a sensor must not change
	// between versions without a reason).
	for s, want := range map[string]uint32{"": 0x811c9dc5, "a": 0xe40c292c, "foobar": 0xbf9cf968} {
		if got := fnv32a(s); got != want {
			t.Errorf("fnv32a(%q) = %#x, want %#x", s, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = fnv32a("yujing/demo-plant/GT-101") }); n != 0 {
		t.Errorf("fnv32a allocates %v times", n)
	}
}
