package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"yujing"
)

// A record's payload is one batch of readings in a compact binary form:
//
//	uvarint  number of readings n
//	uvarint  number of distinct strings k
//	k ×      uvarint length, bytes           (the batch's string table)
//	n ×      uvarint sensor, site, family, metric, unit, region, industry (indexes into the table)
//	         varint  seconds since the previous reading's (the first: since the epoch)
//	         uvarint nanoseconds within the second
//	         8 bytes IEEE 754 value, little endian
//
// A batch from one sensor gateway repeats a handful of strings, so the
// table keeps a reading to about 20 bytes.

// errBadPayload marks a payload that does not decode; the record's CRC
// matched, so it was written by a different build or the disk lies.
var errBadPayload = errors.New("spool: undecodable record payload")

// encodeBatch appends the payload for rs to dst.
func encodeBatch(dst []byte, rs []yujing.Reading) []byte {
	index := make(map[string]uint64, 8)
	var table []string
	intern := func(s string) {
		if _, ok := index[s]; !ok {
			index[s] = uint64(len(table))
			table = append(table, s)
		}
	}
	for i := range rs {
		r := &rs[i]
		intern(r.Sensor)
		intern(r.Site)
		intern(string(r.Family))
		intern(r.Metric)
		intern(r.Unit)
		intern(r.Region)
		intern(r.Industry)
	}
	dst = binary.AppendUvarint(dst, uint64(len(rs)))
	dst = binary.AppendUvarint(dst, uint64(len(table)))
	for _, s := range table {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	var prev int64
	for i := range rs {
		r := &rs[i]
		dst = binary.AppendUvarint(dst, index[r.Sensor])
		dst = binary.AppendUvarint(dst, index[r.Site])
		dst = binary.AppendUvarint(dst, index[string(r.Family)])
		dst = binary.AppendUvarint(dst, index[r.Metric])
		dst = binary.AppendUvarint(dst, index[r.Unit])
		dst = binary.AppendUvarint(dst, index[r.Region])
		dst = binary.AppendUvarint(dst, index[r.Industry])
		sec := r.Time.Unix()
		dst = binary.AppendVarint(dst, sec-prev)
		dst = binary.AppendUvarint(dst, uint64(r.Time.Nanosecond()))
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.Value))
		prev = sec
	}
	return dst
}

// payloadCount returns the number of readings in a payload without
// decoding it.
func payloadCount(p []byte) int {
	n, k := binary.Uvarint(p)
	if k <= 0 {
		return 0
	}
	return int(n)
}

// decodeBatch appends the readings of payload p to dst. Times are in UTC.
func decodeBatch(dst []yujing.Reading, p []byte) ([]yujing.Reading, error) {
	d := decoder{p: p}
	n := d.uvarint()
	k := d.uvarint()
	// Each reading takes at least 17 bytes and each string at least one:
	// refuse counts the payload cannot hold before allocating for them.
	if d.err != nil || n > uint64(len(p))/17 || k > uint64(len(p)) {
		return dst, fmt.Errorf("%w: %d readings, %d strings in %d bytes", errBadPayload, n, k, len(p))
	}
	table := make([]string, k)
	for i := range table {
		l := d.uvarint()
		table[i] = string(d.bytes(l))
	}
	str := func() string {
		i := d.uvarint()
		if i >= uint64(len(table)) {
			d.fail()
			return ""
		}
		return table[i]
	}
	var sec int64
	for range n {
		r := yujing.Reading{Sensor: str(), Site: str(), Family: yujing.Family(str()), Metric: str(), Unit: str(), Region: str(), Industry: str()}
		sec += d.varint()
		nsec := d.uvarint()
		if nsec >= 1e9 {
			d.fail()
		}
		r.Time = time.Unix(sec, int64(nsec)).UTC()
		r.Value = math.Float64frombits(binary.LittleEndian.Uint64(d.bytes(8)))
		if d.err != nil {
			break
		}
		dst = append(dst, r)
	}
	if d.err == nil && len(d.p) != 0 {
		d.fail()
	}
	if d.err != nil {
		return dst, d.err
	}
	return dst, nil
}

// decoder reads a payload, remembering the first error.
type decoder struct {
	p   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errBadPayload
	}
	d.p = nil
}

func (d *decoder) uvarint() uint64 {
	v, k := binary.Uvarint(d.p)
	if k <= 0 {
		d.fail()
		return 0
	}
	d.p = d.p[k:]
	return v
}

func (d *decoder) varint() int64 {
	v, k := binary.Varint(d.p)
	if k <= 0 {
		d.fail()
		return 0
	}
	d.p = d.p[k:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.p)) {
		d.fail()
		return make([]byte, 8) // enough for a value; unused once failed
	}
	b := d.p[:n]
	d.p = d.p[n:]
	return b
}

// A dead letter's payload is the refusal, then its readings:
//
//	uvarint  number of readings n (first, as in a batch: payloadCount reads it)
//	varint   when the store first refused them, Unix nanoseconds
//	uvarint  replays it refused since
//	uvarint  length, bytes   the reason (a short label)
//	uvarint  length, bytes   the store's answer (at most maxRefusalText bytes)
//	         the batch payload of the n readings

// maxRefusalText bounds the store's answer kept with a dead letter.
const maxRefusalText = 1024

// encodeDeadLetter appends the payload for d to dst.
func encodeDeadLetter(dst []byte, d DeadLetter) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(d.Readings)))
	dst = binary.AppendVarint(dst, d.At.UnixNano())
	dst = binary.AppendUvarint(dst, uint64(max(d.Attempts, 0)))
	dst = binary.AppendUvarint(dst, uint64(len(d.Reason)))
	dst = append(dst, d.Reason...)
	text := clip(d.Err, maxRefusalText)
	dst = binary.AppendUvarint(dst, uint64(len(text)))
	dst = append(dst, text...)
	return encodeBatch(dst, d.Readings)
}

// clip cuts s to at most n bytes, at a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// decodeDeadLetter decodes payload p; the readings too when readings is
// true.
func decodeDeadLetter(p []byte, readings bool) (DeadLetter, error) {
	d := decoder{p: p}
	n := d.uvarint()
	at := d.varint()
	attempts := d.uvarint()
	reason := string(d.bytes(d.uvarint()))
	text := string(d.bytes(d.uvarint()))
	if d.err != nil || attempts > math.MaxInt32 || len(text) > maxRefusalText {
		return DeadLetter{}, fmt.Errorf("%w: dead letter header", errBadPayload)
	}
	dl := DeadLetter{At: time.Unix(0, at).UTC(), Reason: reason, Err: text, Attempts: int(attempts)}
	if payloadCount(d.p) != int(n) || n > uint64(len(d.p)) {
		return DeadLetter{}, fmt.Errorf("%w: dead letter of %d readings holds a batch of %d", errBadPayload, n, payloadCount(d.p))
	}
	dl.Count = int(n)
	if !readings {
		return dl, nil
	}
	rs, err := decodeBatch(make([]yujing.Reading, 0, n), d.p)
	if err != nil {
		return DeadLetter{}, err
	}
	dl.Readings = rs
	return dl, nil
}
