package alertmanager

import (
	"slices"
	"strconv"
)

// FNV-1a, 64 bits, as github.com/prometheus/common/model hashes label sets.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
	// separator ends each label name and value (model.SeparatorByte).
	separator = 255
)

// Fingerprint is the fingerprint of a label set as Alertmanager computes
// it (model.LabelSet.Fingerprint: FNV-1a over the names in order, each
// name and value followed by the byte 255), written as Alertmanager writes
// it: 16 lower-case hexadecimal digits. Alertmanager identifies an alert
// by it; so does yujing.
func Fingerprint(labels map[string]string) string {
	h := uint64(fnvOffset64)
	names := make([]string, 0, len(labels))
	for n := range labels {
		names = append(names, n)
	}
	slices.Sort(names)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= fnvPrime64
		}
		h ^= separator
		h *= fnvPrime64
	}
	for _, n := range names {
		add(n)
		add(labels[n])
	}
	s := strconv.FormatUint(h, 16)
	for len(s) < 16 {
		s = "0" + s
	}
	return s
}
